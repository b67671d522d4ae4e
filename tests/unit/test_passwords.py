"""Client secrets: salted Argon2id hashes (payments_core.security.passwords)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import argon2
import pytest
from argon2.low_level import Type, hash_secret_raw

from payments_core.security import passwords

FAST = {"memory_kib": 256, "time_cost": 1}  # quick for unit tests; the same code path as production


def _b64decode(part: str) -> bytes:
    return base64.b64decode(part + "=" * (-len(part) % 4))  # PHC strings drop the padding


@pytest.fixture(scope="module")
def stored() -> str:
    return passwords.hash_secret("cs_correct-horse-battery-staple", **FAST)


def test_hash_format(stored: str) -> None:
    _, scheme, version, params, salt, digest = stored.split("$")
    assert (scheme, version, params) == ("argon2id", "v=19", "m=256,t=1,p=1")
    assert len(_b64decode(salt)) == 16
    assert len(_b64decode(digest)) == 32
    assert "correct-horse" not in stored


# The Argon2id configurations the OWASP Password Storage Cheat Sheet gives as equally strong (KiB, passes).
OWASP_ARGON2ID = {(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)}


def test_production_parameters_are_one_of_owasps_argon2id_configurations() -> None:
    params = argon2.extract_parameters(passwords.hash_secret("s"))
    assert (params.type, params.parallelism) == (Type.ID, 1)
    assert (params.memory_cost, params.time_cost) in OWASP_ARGON2ID
    assert (params.memory_cost, params.time_cost) == (7 * 1024, 5)
    assert (params.salt_len, params.hash_len) == (16, 32)


def test_roundtrip(stored: str) -> None:
    assert passwords.verify_secret("cs_correct-horse-battery-staple", stored) is True


def test_hash_is_recomputable_from_its_fields(stored: str) -> None:
    _, _, _, _, salt, digest = stored.split("$")
    expected = hash_secret_raw(
        b"cs_correct-horse-battery-staple",
        _b64decode(salt),
        time_cost=1,
        memory_cost=256,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    assert _b64decode(digest) == expected


@pytest.mark.parametrize(
    "wrong",
    [
        "cs_correct-horse-battery-stapl",
        "cs_correct-horse-battery-staple ",
        "CS_correct-horse-battery-staple",
        "",
        "\x00cs_correct-horse-battery-staple",
    ],
)
def test_wrong_secret_is_refused(stored: str, wrong: str) -> None:
    assert passwords.verify_secret(wrong, stored) is False


def test_hashes_are_salted() -> None:
    first = passwords.hash_secret("same secret", **FAST)
    second = passwords.hash_secret("same secret", **FAST)
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]  # different salts
    assert first.split("$")[5] != second.split("$")[5]  # hence different digests
    assert passwords.verify_secret("same secret", first)
    assert passwords.verify_secret("same secret", second)


def test_unicode_secret_roundtrip() -> None:
    encoded = passwords.hash_secret("şifre-ğüçö-秘密", **FAST)
    assert passwords.verify_secret("şifre-ğüçö-秘密", encoded) is True
    assert passwords.verify_secret("sifre-guco-秘密", encoded) is False


def test_old_parameters_still_verify_after_a_cost_change() -> None:
    # The parameters live in the hash, so hashes made with other costs keep working.
    low = passwords.hash_secret("s", **FAST)
    higher = passwords.hash_secret("s", memory_kib=512, time_cost=2)
    assert "m=256,t=1" in low
    assert "m=512,t=2" in higher
    assert passwords.verify_secret("s", low)
    assert passwords.verify_secret("s", higher)


def test_changing_a_parameter_breaks_verification(stored: str) -> None:
    assert passwords.verify_secret("cs_correct-horse-battery-staple", stored.replace("t=1", "t=2")) is False


def _with(stored: str, index: int, value: str) -> str:
    parts = stored.split("$")
    parts[index] = value
    return "$".join(parts)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "",
        lambda s: "garbage",
        lambda s: "$argon2id$",
        lambda s: "$argon2id$$$$$",
        lambda s: s + "$extra",
        lambda s: s.rsplit("$", 1)[0],  # no hash
        lambda s: s.replace("$argon2id$", "$argon2i$"),  # another variant: refused, not downgraded
        lambda s: s.replace("$argon2id$", "$scrypt$"),
        lambda s: _with(s, 2, "v=1"),
        lambda s: _with(s, 3, "m=ten,t=1,p=1"),
        lambda s: _with(s, 3, "m=256,t=0,p=1"),
        lambda s: _with(s, 3, "m=1,t=1,p=1"),  # less memory than argon2 allows
        lambda s: _with(s, 3, "m=256,t=1,p=0"),
        lambda s: _with(s, 4, "@@@"),  # salt that is not base64
        lambda s: _with(s, 4, ""),
        lambda s: _with(s, 5, ""),
        lambda s: _with(s, 5, "AAAA"),  # a hash of another length
    ],
)
def test_garbage_encodings_return_false(stored: str, mangle: Callable[[str], str]) -> None:
    encoded = mangle(stored)
    assert encoded != stored
    assert passwords.verify_secret("cs_correct-horse-battery-staple", encoded) is False


@pytest.mark.parametrize("secret", ["", "x", "cs_anything", "A" * 64])
def test_dummy_hash_verifies_nothing(secret: str) -> None:
    assert passwords.verify_secret(secret, passwords.DUMMY_HASH) is False


def test_dummy_hash_costs_what_a_real_check_costs() -> None:
    # Same variant and parameters as a production hash: an unknown client id pays a full Argon2id check.
    assert argon2.extract_parameters(passwords.DUMMY_HASH) == argon2.extract_parameters(passwords.hash_secret("s"))
