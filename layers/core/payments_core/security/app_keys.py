"""NoRamp app API keys: `nrk_<key id hex>_<secret>`, shown once, stored only as the secret's SHA-256.

The key carries its own id (`key_<16 hex>` is stored; the key's second part is the hex), so the authorizer
reads exactly one catalog entry (`app_key#key_<hex>`) and compares hashes in constant time. The secret is 32
random bytes (base64url, 43 characters): far too much entropy to guess, so a fast hash is the right one (a slow
password hash, as for integration secrets, would only add latency to every request).

Accepted as NoRamp documents (DESIGN.md §7): `Authorization: Bearer <key>`, `Authorization: Basic <key>` (the
key itself, NoRamp's literal form), the standard `Authorization: Basic base64("<key>:")` (the key as user name,
no password), or `x-api-key: <key>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

from payments_core.security.tokens import InvalidToken

PREFIX = "nrk"
_KEY = re.compile(r"nrk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})", re.ASCII)
MAX_HEADER = 4096


class NewKey(NamedTuple):
    key_id: str  # key_<16 hex>
    key: str  # shown once
    secret_hash: str


class ParsedKey(NamedTuple):
    key_id: str
    secret: str


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> NewKey:
    hex_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)  # 43 characters
    return NewKey(f"key_{hex_id}", f"{PREFIX}_{hex_id}_{secret}", secret_hash(secret))


def parse(key: str) -> ParsedKey:
    """The id and secret of a key; InvalidToken when it has not the key's form."""
    m = _KEY.fullmatch(key)
    if m is None:
        raise InvalidToken("not an app key")
    return ParsedKey(f"key_{m.group(1)}", m.group(2))


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def looks_like_key(value: str) -> bool:
    return value.startswith(f"{PREFIX}_")


def key_from_headers(authorization: object, x_api_key: object) -> str | None:
    """The app key a request carries in any of NoRamp's forms, or None when it carries none (a bearer that is
    not a key is left to the JWT check). InvalidToken for a malformed Authorization header."""
    if isinstance(x_api_key, str) and x_api_key.strip():
        return x_api_key.strip()
    if not isinstance(authorization, str) or not authorization.strip():
        return None
    if len(authorization) > MAX_HEADER:
        raise InvalidToken("Authorization header too long")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if not value:
        raise InvalidToken("no credentials after the scheme")
    if scheme.lower() == "bearer":
        return value if looks_like_key(value) else None
    if scheme.lower() == "basic":
        if looks_like_key(value):
            return value  # NoRamp's literal form: `Basic <key>`
        try:
            decoded = base64.b64decode(value, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidToken("Basic credentials are not base64") from None
        user, _, _password = decoded.partition(":")
        return user
    raise InvalidToken("unsupported Authorization scheme")
