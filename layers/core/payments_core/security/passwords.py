"""Client secrets are stored only as a slow, salted Argon2id hash (argon2-cffi).

Parameters: one of the five Argon2id configurations the OWASP Password Storage Cheat Sheet lists as giving
an equal level of defence (they trade memory for iterations): 7 MiB of memory, 5 iterations, 1 lane; a
16-byte random salt and a 32-byte hash. Of the five it is the quickest to check in a fresh Lambda sandbox,
where every page of the memory area is a new page to fault in: measured here, a first check costs ~24 ms
against ~44 ms for the 19 MiB / t=2 configuration (~21 vs ~28 ms once the process is warm).
Stored in the PHC string format (`$argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>`): the parameters live in
the hash, so they can be raised later and the hashes made before still verify.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_KIB = 7 * 1024
TIME_COST = 5
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16


@cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=PARALLELISM,
        hash_len=HASH_LEN,
        salt_len=SALT_LEN,
        type=Type.ID,
    )


def hash_secret(secret: str, *, memory_kib: int = MEMORY_KIB, time_cost: int = TIME_COST) -> str:
    return _hasher(memory_kib, time_cost).hash(secret)


def verify_secret(secret: str, encoded: str) -> bool:
    """True only for the secret the hash was made from. Only Argon2id hashes are accepted; a malformed or
    foreign hash is False, never an error. The comparison is argon2's own (constant time)."""
    if not encoded.startswith("$argon2id$"):
        return False
    try:
        return _hasher(MEMORY_KIB, TIME_COST).verify(encoded, secret)
    except (VerificationError, InvalidHashError):  # mismatch, or an encoding argon2 refuses
        return False


# A hash to check unknown client ids against, so that a wrong id costs as long as a wrong secret: the
# production parameters, an all-zero salt and hash (no secret hashes to it).
DUMMY_HASH = f"$argon2id$v=19$m={MEMORY_KIB},t={TIME_COST},p={PARALLELISM}$" + "A" * 22 + "$" + "A" * 43
