"""Signing key rotation without downtime, on Secrets Manager's four rotation steps.

- createSecret: a new ES256 key becomes AWSPENDING; refused (RotationTooSoon) while AWSCURRENT is younger
                than SIGNING_GRACE_SECONDS, so the key a rotation demotes is always known to every verifier.
- setSecret:    its public key is published in the JWKS (beside AWSCURRENT's and AWSPREVIOUS's)
                before anything is signed with it, so every verifier can already check it.
- testSecret:   a token signed with it verifies against the published JWKS.
- finishSecret: it becomes AWSCURRENT (the old one AWSPREVIOUS: its tokens keep working); the JWKS
                is republished with CURRENT and PREVIOUS, and the keys before them only while a token they
                signed may still be valid (`retained_keys`): two rotations in quick succession never make a
                token issued a moment ago unverifiable.

The token endpoint signs with AWSPREVIOUS for the first SIGNING_GRACE_SECONDS of a new AWSCURRENT (see
`signing_key`), so no verifier meets a token signed with a key it cannot know of yet. `retire_previous`
(a compromised key) drops every key but AWSCURRENT at once, from the JWKS and from signing.

Each step is idempotent: Secrets Manager may call a step more than once.

The timeline, in seconds after a rotation creates its key (docs/decisions/key-rotation-timeline.md):
- published in the JWKS parameter at setSecret, a few seconds after;
- the integrator authorizer and the JWKS function re-read the parameter every JWKS_CACHE_SECONDS (setting,
  at most JWKS_CACHE_MAX_SECONDS), and the JWKS answer may be cached JWKS_MAX_AGE_SECONDS by its clients
  (Cache-Control): a verifier outside the platform has the key by JWKS_CACHE_MAX_SECONDS + JWKS_MAX_AGE_SECONDS;
- signs from SIGNING_GRACE_SECONDS on, longer than both; a token endpoint container keeps the key it loaded
  for SIGNING_KEY_CACHE_SECONDS, so the previous key may sign until SIGNING_GRACE + SIGNING_KEY_CACHE.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from jwt import PyJWK

from payments_core.domain.stores import SigningKeyStore
from payments_core.errors import Conflict, ErrorCode
from payments_core.security import tokens

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

# Longer than an authorizer may take to learn a newly published key: a token with an unknown kid makes it
# reload the JWKS, but at most every 30 s (domain.auth.JwksVerifier.min_refresh); plus the seconds between
# the version's creation (createSecret) and its publication (setSecret).
SIGNING_GRACE_SECONDS = 60
SIGNING_KEY_CACHE_SECONDS = 30  # a token endpoint container's copy of the key it signs with
JWKS_CACHE_MAX_SECONDS = 20  # the largest JWKS_CACHE_SECONDS the template allows (JwksCacheSeconds)
JWKS_MAX_AGE_SECONDS = 15  # Cache-Control max-age of GET /.well-known/jwks.json
RETENTION_LEEWAY_SECONDS = 5  # the verifier's leeway on `exp`


def signing_key(store: SigningKeyStore, now: datetime) -> Any:
    """The key tokens are signed with: AWSCURRENT, or AWSPREVIOUS while AWSCURRENT is younger than
    SIGNING_GRACE_SECONDS. An authorizer whose cached JWKS predates a rotation's publication would refuse
    tokens signed with the new key until its next reload (up to 30 s); the previous key is still published
    and valid, so it signs meanwhile. A first key (no previous one) signs at once.

    The grace counts from the version's creation (createSecret), which is seconds before its publication in
    a rotation that runs through. A rotation that failed after createSecret and was resumed later publishes
    a version created earlier: its grace may be over when it starts to sign (the publication time, from the
    JWKS parameter, would close that; it costs the token endpoint an SSM read per container)."""
    current, created = store.read_dated(stage="AWSCURRENT")
    if created is None or (now - created).total_seconds() >= SIGNING_GRACE_SECONDS:
        return current
    previous = store.read(stage="AWSPREVIOUS")
    return previous if tokens.is_signing_key(previous) else current


class RotationTooSoon(Conflict):
    """A rotation asked for while the current key is younger than SIGNING_GRACE_SECONDS: the key it would make
    AWSPREVIOUS may not be known to every verifier yet, and it would sign during the new key's grace. The
    operator CLI answers it like any domain error; in the rotation function it fails the step, and Secrets
    Manager tries the rotation again later."""

    code = ErrorCode.ROTATION_TOO_SOON


def _valid(value: Any) -> dict[str, Any] | None:
    return value if tokens.is_signing_key(value) else None


def _publish(
    store: SigningKeyStore, keys: list[dict[str, Any] | None], retained: list[dict[str, Any]] | None = None
) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key is not None and key["kid"] not in seen:
            seen[key["kid"]] = tokens.public_jwk(key)
    for public in retained or []:
        seen.setdefault(public["kid"], public)
    store.write_jwks({"keys": list(seen.values())})


def retention_seconds(token_ttl_seconds: int) -> float:
    """How long after a version became AWSCURRENT the keys before its predecessor may still verify a valid
    token: the predecessor signs up to SIGNING_GRACE + SIGNING_KEY_CACHE seconds after it was superseded,
    and a token lives `token_ttl_seconds` (plus the verifier's leeway)."""
    return SIGNING_GRACE_SECONDS + SIGNING_KEY_CACHE_SECONDS + token_ttl_seconds + RETENTION_LEEWAY_SECONDS


def retained_keys(
    store: SigningKeyStore, keep: list[dict[str, Any] | None], now: datetime, token_ttl_seconds: int
) -> list[dict[str, Any]]:
    """The published public keys other than `keep` that must stay published: every key older than
    AWSPREVIOUS stopped signing at most SIGNING_GRACE + SIGNING_KEY_CACHE seconds after AWSPREVIOUS was
    created, so they stay while a token they signed may be valid. None once AWSPREVIOUS is retired."""
    previous, created = store.read_dated(stage="AWSPREVIOUS")
    if _valid(previous) is None or created is None:
        return []
    if (now - created).total_seconds() >= retention_seconds(token_ttl_seconds):
        return []
    kept = {key["kid"] for key in keep if key is not None}
    return [k for k in store.read_jwks().get("keys", []) if k.get("kid") and k["kid"] not in kept]


def _current_version(store: SigningKeyStore) -> str | None:
    for version, stages in store.stages().items():
        if "AWSCURRENT" in stages:
            return version
    return None


def _refuse_too_soon(store: SigningKeyStore, now: datetime) -> None:
    """Two rotations less than SIGNING_GRACE_SECONDS apart would make a key published seconds ago the one that
    signs during the newer key's grace, before every verifier (or the public JWKS's caches) has it: refused.
    A rotation that already made its pending version (Secrets Manager calling createSecret again) goes on."""
    current, created = store.read_dated(stage="AWSCURRENT")
    if _valid(current) is None or created is None:
        return
    age = (now - created).total_seconds()
    if age < SIGNING_GRACE_SECONDS:
        raise RotationTooSoon(
            f"the current signing key is {max(age, 0):.0f} s old; rotate again in {SIGNING_GRACE_SECONDS - age:.0f} s"
        )


def rotation_step(
    store: SigningKeyStore, token: str, step: str, *, now: datetime | None = None, token_ttl_seconds: int = 3600
) -> None:
    """One of Secrets Manager's rotation steps. `now` (default: the wall clock) and the tokens' lifetime
    decide which retired keys stay published (`retained_keys`)."""
    at = datetime.now(UTC) if now is None else now
    if step == "createSecret":
        if _valid(store.read(version_id=token, stage="AWSPENDING")) is None:
            _refuse_too_soon(store, at)
            store.put_pending(token, tokens.generate_signing_key())
    elif step == "setSecret":
        keep = [
            _valid(store.read(version_id=token, stage="AWSPENDING")),
            _valid(store.read(stage="AWSCURRENT")),
            _valid(store.read(stage="AWSPREVIOUS")),
        ]
        _publish(store, keep, retained_keys(store, keep, at, token_ttl_seconds))
    elif step == "testSecret":
        pending = _valid(store.read(version_id=token, stage="AWSPENDING"))
        if pending is None:
            raise RuntimeError("the pending version holds no signing key")
        published = {k["kid"]: k for k in store.read_jwks().get("keys", [])}
        if pending["kid"] not in published:
            raise RuntimeError("the pending key is not published yet")
        probe = tokens.integrator_claims(
            integration_id="rotation-test", node_id="rotation-test", issuer="rotation", audience="rotation", ttl=60
        )
        verifier = PyJWK.from_dict(published[pending["kid"]], algorithm=tokens.ALGORITHM)
        try:
            tokens.verify(tokens.sign(pending, probe), verifier, issuer="rotation", audience="rotation")
        except tokens.InvalidToken:
            raise RuntimeError("a token signed with the pending key does not verify against the JWKS") from None
    elif step == "finishSecret":
        current = _current_version(store)
        if current != token:
            store.promote(token, current)
        keep = [_valid(store.read(stage="AWSCURRENT")), _valid(store.read(stage="AWSPREVIOUS"))]
        _publish(store, keep, retained_keys(store, keep, at, token_ttl_seconds))
    else:
        raise ValueError(f"unknown rotation step {step!r}")


def rotate_now(store: SigningKeyStore, *, now: datetime | None = None, token_ttl_seconds: int = 3600) -> str:
    """Run a whole rotation at once (operator CLI, local stack); returns the new version id."""
    token = str(uuid.uuid4())
    for step in STEPS:
        rotation_step(store, token, step, now=now, token_ttl_seconds=token_ttl_seconds)
    return token


def retire_previous(store: SigningKeyStore) -> list[str]:
    """A compromised key: every key but AWSCURRENT stops signing and verifying now. AWSPREVIOUS loses its
    label (the token endpoint no longer signs with it during a rotation's grace) and the JWKS is republished
    with AWSCURRENT alone; authorizers and the JWKS function drop the others at their next read of the
    parameter (within JWKS_CACHE_SECONDS), a token endpoint container that held the old key within
    SIGNING_KEY_CACHE_SECONDS. Returns the retired kids."""
    current = _valid(store.read(stage="AWSCURRENT"))
    if current is None:
        raise RuntimeError("there is no current signing key to keep")
    for version, stages in store.stages().items():
        if "AWSPREVIOUS" in stages:
            store.remove_stage("AWSPREVIOUS", version)
    retired = [str(k["kid"]) for k in store.read_jwks().get("keys", []) if k.get("kid") != current["kid"]]
    _publish(store, [current])
    return retired


def ensure_signing_key(store: SigningKeyStore) -> None:
    """Rotate once if there is no current signing key (a fresh local stack)."""
    if _valid(store.read(stage="AWSCURRENT")) is None:
        rotate_now(store)
