"""Cryptography: client-secret hashing and integrator JWTs (pyjwt). No I/O here."""
