"""Integrator access tokens: ES256 JWTs with `kid`, `iss`, `aud`, `exp`, `iat`.

The verifier pins the algorithm (ES256 only: `none`, HS256 with a public key as secret and
every other confusion are refused) and picks the key by `kid` from the published JWKS.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from jwt import PyJWK

ALGORITHM = "ES256"
TOKEN_USE = "integrator"  # noqa: S105 - a claim value, not a secret


class InvalidToken(Exception):
    """Any reason a token is not accepted. The reason is for logs only, never for the caller."""


def generate_signing_key() -> dict[str, Any]:
    """A new P-256 key as a private JWK (with `kid` and `alg`)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(private))
    jwk.update({"kid": secrets.token_hex(8), "alg": ALGORITHM, "use": "sig"})
    return jwk


def public_jwk(private_jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: private_jwk[k] for k in ("kty", "crv", "x", "y", "kid", "alg", "use") if k in private_jwk}


def is_signing_key(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kty") == "EC" and "d" in value and "kid" in value


def sign(private_jwk: dict[str, Any], claims: dict[str, Any]) -> str:
    key = PyJWK.from_dict(private_jwk, algorithm=ALGORITHM)
    return jwt.encode(claims, key.key, algorithm=ALGORITHM, headers={"kid": private_jwk["kid"], "typ": "JWT"})


def integrator_claims(
    *, integration_id: str, node_id: str, issuer: str, audience: str, ttl: int, now: int | None = None
) -> dict[str, Any]:
    issued = int(time.time()) if now is None else now
    return {
        "iss": issuer,
        "aud": audience,
        "sub": integration_id,
        "node_id": node_id,
        "use": TOKEN_USE,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": secrets.token_hex(12),
    }


def unverified_kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {type(exc).__name__}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token has no kid")
    return kid


def verify(token: str, key: PyJWK, *, issuer: str, audience: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"rejected: {type(exc).__name__}") from None
    if claims.get("use") != TOKEN_USE or not isinstance(claims.get("node_id"), str):
        raise InvalidToken("not an integrator token")
    return claims
