"""Signing key rotation without downtime, on Secrets Manager's four rotation steps.

- createSecret: a new ES256 key becomes AWSPENDING.
- setSecret:    its public key is published in the JWKS (beside AWSCURRENT's and AWSPREVIOUS's)
                before anything is signed with it, so every verifier can already check it.
- testSecret:   a token signed with it verifies against the published JWKS.
- finishSecret: it becomes AWSCURRENT (the old one AWSPREVIOUS: its tokens keep working); the JWKS
                is republished with CURRENT and PREVIOUS only, which retires the key before them.

The token endpoint signs with AWSPREVIOUS for the first SIGNING_GRACE_SECONDS of a new AWSCURRENT (see
`signing_key`), so no authorizer meets a token signed with a key it cannot know of yet.

Each step is idempotent: Secrets Manager may call a step more than once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from jwt import PyJWK

from payments_core.security import tokens
from payments_core.store.keys import KeyStore

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

# Longer than an authorizer may take to learn a newly published key: a token with an unknown kid makes it
# reload the JWKS, but at most every 30 s (domain.auth.JwksVerifier.min_refresh); plus the seconds between
# the version's creation (createSecret) and its publication (setSecret).
SIGNING_GRACE_SECONDS = 60


def signing_key(store: KeyStore, now: datetime) -> Any:
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


def _valid(value: Any) -> dict[str, Any] | None:
    return value if tokens.is_signing_key(value) else None


def _publish(store: KeyStore, keys: list[dict[str, Any] | None]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key is not None and key["kid"] not in seen:
            seen[key["kid"]] = tokens.public_jwk(key)
    store.write_jwks({"keys": list(seen.values())})


def _current_version(store: KeyStore) -> str | None:
    for version, stages in store.stages().items():
        if "AWSCURRENT" in stages:
            return version
    return None


def rotation_step(store: KeyStore, token: str, step: str) -> None:
    if step == "createSecret":
        if _valid(store.read(version_id=token, stage="AWSPENDING")) is None:
            store.put_pending(token, tokens.generate_signing_key())
    elif step == "setSecret":
        _publish(
            store,
            [
                _valid(store.read(version_id=token, stage="AWSPENDING")),
                _valid(store.read(stage="AWSCURRENT")),
                _valid(store.read(stage="AWSPREVIOUS")),
            ],
        )
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
        _publish(store, [_valid(store.read(stage="AWSCURRENT")), _valid(store.read(stage="AWSPREVIOUS"))])
    else:
        raise ValueError(f"unknown rotation step {step!r}")


def rotate_now(store: KeyStore) -> str:
    """Run a whole rotation at once (operator CLI, local stack); returns the new version id."""
    token = str(uuid.uuid4())
    for step in STEPS:
        rotation_step(store, token, step)
    return token


def ensure_signing_key(store: KeyStore) -> None:
    """Rotate once if there is no current signing key (a fresh local stack)."""
    if _valid(store.read(stage="AWSCURRENT")) is None:
        rotate_now(store)
