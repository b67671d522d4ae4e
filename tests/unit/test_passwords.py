"""Client secrets: salted scrypt hashes (payments_core.security.passwords)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from payments_core.security import passwords

FAST = 10  # n = 1024: quick enough for unit tests, same code path as the production cost


@pytest.fixture(scope="module")
def stored() -> str:
    return passwords.hash_secret("cs_correct-horse-battery-staple", log2_n=FAST)


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Counts hashlib.scrypt calls made by the passwords module (and still runs them)."""
    calls: list[dict[str, Any]] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def spy(password: bytes, **kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    return calls


def test_hash_format(stored: str) -> None:
    scheme, log2_n, r, p, salt, digest = stored.split("$")
    assert (scheme, log2_n, r, p) == ("scrypt", "10", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert "correct-horse" not in stored


def test_default_cost_is_2_pow_15() -> None:
    assert passwords.hash_secret("s").split("$")[1] == "15"


def test_roundtrip(stored: str) -> None:
    assert passwords.verify_secret("cs_correct-horse-battery-staple", stored) is True


def test_hash_is_recomputable_from_its_fields(stored: str) -> None:
    _, log2_n, r, p, salt, digest = stored.split("$")
    expected = hashlib.scrypt(
        b"cs_correct-horse-battery-staple",
        salt=base64.b64decode(salt),
        n=2 ** int(log2_n),
        r=int(r),
        p=int(p),
        dklen=32,
    )
    assert base64.b64decode(digest) == expected


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
    first = passwords.hash_secret("same secret", log2_n=FAST)
    second = passwords.hash_secret("same secret", log2_n=FAST)
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]  # different salts
    assert first.split("$")[5] != second.split("$")[5]  # hence different digests
    assert passwords.verify_secret("same secret", first)
    assert passwords.verify_secret("same secret", second)


def test_unicode_secret_roundtrip() -> None:
    encoded = passwords.hash_secret("şifre-ğüçö-秘密", log2_n=FAST)
    assert passwords.verify_secret("şifre-ğüçö-秘密", encoded) is True
    assert passwords.verify_secret("sifre-guco-秘密", encoded) is False


def test_old_cost_still_verifies_after_a_cost_change() -> None:
    # The cost lives in the hash, so hashes made with another n keep working.
    low = passwords.hash_secret("s", log2_n=FAST)
    higher = passwords.hash_secret("s", log2_n=FAST + 1)
    assert low.split("$")[1] == "10"
    assert higher.split("$")[1] == "11"
    assert passwords.verify_secret("s", low)
    assert passwords.verify_secret("s", higher)


def test_changing_the_cost_field_breaks_verification(stored: str) -> None:
    parts = stored.split("$")
    parts[1] = "11"
    assert passwords.verify_secret("cs_correct-horse-battery-staple", "$".join(parts)) is False


def _with(stored: str, index: int, value: str) -> str:
    parts = stored.split("$")
    parts[index] = value
    return "$".join(parts)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "",
        lambda s: "garbage",
        lambda s: "scrypt",
        lambda s: "scrypt$$$$$",
        lambda s: s + "$extra",
        lambda s: s.rsplit("$", 1)[0],  # five fields
        lambda s: "bcrypt" + s.removeprefix("scrypt"),
        lambda s: _with(s, 1, "ten"),
        lambda s: _with(s, 1, "-1"),
        lambda s: _with(s, 1, "3.5"),
        lambda s: _with(s, 1, "0"),  # n = 1 is not allowed by scrypt
        lambda s: _with(s, 1, "40"),  # needs more memory than maxmem
        lambda s: _with(s, 1, "64"),  # n = 2**64 does not fit scrypt's parameter
        lambda s: _with(s, 1, "1000"),
        lambda s: _with(s, 2, "0"),
        lambda s: _with(s, 3, "x"),
        lambda s: _with(s, 4, "@@@"),  # salt that is not base64 (decodes to nothing)
        lambda s: _with(s, 4, "abc"),  # salt with bad padding
        lambda s: _with(s, 5, ""),
        lambda s: _with(s, 5, "AAAA"),  # digest of the wrong length
    ],
)
def test_garbage_encodings_return_false(stored: str, mangle: Callable[[str], str]) -> None:
    encoded = mangle(stored)
    assert encoded != stored
    assert passwords.verify_secret("cs_correct-horse-battery-staple", encoded) is False


@pytest.mark.parametrize("digest", ["abc", "A", "AAAAA"])
def test_digest_with_bad_base64_returns_false(stored: str, digest: str) -> None:
    assert passwords.verify_secret("cs_correct-horse-battery-staple", _with(stored, 5, digest)) is False


@pytest.mark.parametrize("secret", ["", "x", "cs_anything", "A" * 64])
def test_dummy_hash_verifies_nothing(secret: str) -> None:
    assert passwords.verify_secret(secret, passwords.DUMMY_HASH) is False


def test_dummy_hash_costs_a_full_scrypt_check(scrypt_calls: list[dict[str, Any]]) -> None:
    assert passwords.verify_secret("anything", passwords.DUMMY_HASH) is False
    assert len(scrypt_calls) == 1
    assert scrypt_calls[0]["n"] == 2**15  # the production cost, as for a real client


def test_dummy_hash_has_the_format_of_a_real_hash() -> None:
    real = passwords.hash_secret("s", log2_n=FAST).split("$")
    dummy = passwords.DUMMY_HASH.split("$")
    assert len(dummy) == len(real) == 6
    assert dummy[:4] == ["scrypt", "15", "8", "1"]


def test_verify_runs_scrypt_with_the_stored_parameters(stored: str, scrypt_calls: list[dict[str, Any]]) -> None:
    assert passwords.verify_secret("cs_correct-horse-battery-staple", stored) is True
    assert len(scrypt_calls) == 1
    call = scrypt_calls[0]
    assert (call["n"], call["r"], call["p"], call["dklen"]) == (2**FAST, 8, 1, 32)
    assert call["salt"] == base64.b64decode(stored.split("$")[4])
