"""Signing key rotation (domain/keys.rotation_step) on a fake Secrets Manager + SSM."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from payments_core.domain import keys
from payments_core.domain.auth import CachedValue, JwksVerifier, TokenPolicy
from payments_core.security import tokens
from payments_core.security.tokens import InvalidToken
from tests.unit.fakes import FakeClock, FakeSigningKeyStore

PLACEHOLDER = "v0-placeholder"
POLICY = TokenPolicy(issuer="https://auth.test.example", audience="payments-api-test", ttl_seconds=3600)
NODE = "6f0c7c4e-4c8b-4d7e-9f0e-7a3a1b2c3d4e"


@pytest.fixture
def store() -> FakeSigningKeyStore:
    return FakeSigningKeyStore(initial_value="{}", initial_version=PLACEHOLDER)


def rotate(store: FakeSigningKeyStore, token: str) -> dict[str, Any]:
    for step in keys.STEPS:
        keys.rotation_step(store, token, step)
    key = store.read(version_id=token)
    assert tokens.is_signing_key(key)
    return dict(key)


def published_kids(store: FakeSigningKeyStore) -> list[str]:
    return [k["kid"] for k in store.read_jwks()["keys"]]


def snapshot(store: FakeSigningKeyStore) -> tuple[Any, ...]:
    return (copy.deepcopy(store.versions), store.stages(), store.read_jwks())


def sign_with_current(store: FakeSigningKeyStore, sub: str = "ci_1") -> str:
    claims = tokens.integrator_claims(
        integration_id=sub, node_id=NODE, issuer=POLICY.issuer, audience=POLICY.audience, ttl=3600
    )
    return tokens.sign(store.read(stage="AWSCURRENT"), claims)


# --------------------------------------------------------------------------- the fake itself


def test_fake_store_follows_secrets_manager_staging(store: FakeSigningKeyStore) -> None:
    assert store.stages() == {PLACEHOLDER: ["AWSCURRENT"]}
    assert store.read(stage="AWSCURRENT") == {}
    store.put_pending("t1", {"a": 1})
    store.put_pending("t1", {"a": 1})  # same token, same value: a no-op
    assert store.stages() == {PLACEHOLDER: ["AWSCURRENT"], "t1": ["AWSPENDING"]}
    store.promote("t1", PLACEHOLDER)
    assert store.stages() == {"t1": ["AWSCURRENT"], PLACEHOLDER: ["AWSPREVIOUS"]}
    assert store.read(stage="AWSPREVIOUS") == {}
    assert store.read(version_id="t1", stage="AWSPENDING") is None


# --------------------------------------------------------------------------- first rotation


def test_first_rotation_from_the_placeholder(store: FakeSigningKeyStore) -> None:
    keys.rotation_step(store, "t1", "createSecret")
    pending = store.read(version_id="t1", stage="AWSPENDING")
    assert tokens.is_signing_key(pending)
    assert store.stages() == {PLACEHOLDER: ["AWSCURRENT"], "t1": ["AWSPENDING"]}
    assert store.jwks_writes == []  # nothing published by createSecret

    keys.rotation_step(store, "t1", "setSecret")
    # the placeholder "{}" is no key: only the pending key is published, public part only
    assert store.read_jwks() == {"keys": [tokens.public_jwk(pending)]}
    assert "d" not in store.read_jwks()["keys"][0]

    keys.rotation_step(store, "t1", "testSecret")  # does not raise

    keys.rotation_step(store, "t1", "finishSecret")
    assert store.stages() == {"t1": ["AWSCURRENT"], PLACEHOLDER: ["AWSPREVIOUS"]}
    assert store.read(stage="AWSCURRENT") == pending
    assert store.read_jwks() == {"keys": [tokens.public_jwk(pending)]}


def test_create_secret_keeps_an_existing_pending_key(store: FakeSigningKeyStore) -> None:
    keys.rotation_step(store, "t1", "createSecret")
    first = store.read(version_id="t1", stage="AWSPENDING")
    keys.rotation_step(store, "t1", "createSecret")
    assert store.read(version_id="t1", stage="AWSPENDING") == first


# --------------------------------------------------------------------------- second and third rotations


def test_second_rotation_publishes_the_pending_key_before_it_signs(store: FakeSigningKeyStore) -> None:
    key1 = rotate(store, "t1")

    keys.rotation_step(store, "t2", "createSecret")
    key2 = store.read(version_id="t2", stage="AWSPENDING")
    assert key2["kid"] != key1["kid"]
    assert published_kids(store) == [key1["kid"]]
    with pytest.raises(RuntimeError, match="not published yet"):
        keys.rotation_step(store, "t2", "testSecret")

    keys.rotation_step(store, "t2", "setSecret")
    # pending + current (the placeholder, now AWSPREVIOUS, is no key)
    assert store.read_jwks() == {"keys": [tokens.public_jwk(key2), tokens.public_jwk(key1)]}
    # ... and AWSCURRENT (what issue_token signs with) is still the old key
    assert store.read(stage="AWSCURRENT") == key1
    keys.rotation_step(store, "t2", "testSecret")
    assert store.read(stage="AWSCURRENT") == key1

    keys.rotation_step(store, "t2", "finishSecret")
    assert store.stages() == {"t2": ["AWSCURRENT"], "t1": ["AWSPREVIOUS"]}  # the placeholder lost its labels
    assert store.read(stage="AWSCURRENT") == key2
    assert store.read(stage="AWSPREVIOUS") == key1
    assert store.read_jwks() == {"keys": [tokens.public_jwk(key2), tokens.public_jwk(key1)]}


def test_third_rotation_retires_the_oldest_key(store: FakeSigningKeyStore) -> None:
    key1 = rotate(store, "t1")
    key2 = rotate(store, "t2")

    keys.rotation_step(store, "t3", "createSecret")
    keys.rotation_step(store, "t3", "setSecret")
    key3 = store.read(version_id="t3", stage="AWSPENDING")
    # during the rotation: pending, current and previous are all published
    assert published_kids(store) == [key3["kid"], key2["kid"], key1["kid"]]
    keys.rotation_step(store, "t3", "testSecret")
    keys.rotation_step(store, "t3", "finishSecret")

    assert store.stages() == {"t3": ["AWSCURRENT"], "t2": ["AWSPREVIOUS"]}
    assert store.read_jwks() == {"keys": [tokens.public_jwk(key3), tokens.public_jwk(key2)]}
    assert key1["kid"] not in published_kids(store)


def test_every_jwks_write_holds_public_keys_only(store: FakeSigningKeyStore) -> None:
    for token in ("t1", "t2", "t3"):
        rotate(store, token)
    assert len(store.jwks_writes) == 6  # setSecret + finishSecret per rotation
    for jwks in store.jwks_writes:
        for jwk in jwks["keys"]:
            assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}


# --------------------------------------------------------------------------- idempotency


@pytest.mark.parametrize("repeated", keys.STEPS)
def test_each_step_is_idempotent(store: FakeSigningKeyStore, repeated: str) -> None:
    rotate(store, "t1")
    for step in keys.STEPS:
        keys.rotation_step(store, "t2", step)
        if step == repeated:
            before = snapshot(store)
            keys.rotation_step(store, "t2", step)
            assert snapshot(store) == before
    key2 = store.read(version_id="t2")
    assert store.stages() == {"t2": ["AWSCURRENT"], "t1": ["AWSPREVIOUS"]}
    assert published_kids(store) == [key2["kid"], store.read(version_id="t1")["kid"]]


def test_finish_repeated_after_completion_does_not_demote(store: FakeSigningKeyStore) -> None:
    rotate(store, "t1")
    rotate(store, "t2")
    for _ in range(3):
        keys.rotation_step(store, "t2", "finishSecret")
    assert store.stages() == {"t2": ["AWSCURRENT"], "t1": ["AWSPREVIOUS"]}
    assert len(published_kids(store)) == 2


# --------------------------------------------------------------------------- failures


def test_test_secret_without_pending_key_fails(store: FakeSigningKeyStore) -> None:
    with pytest.raises(RuntimeError, match="holds no signing key"):
        keys.rotation_step(store, "nope", "testSecret")


def test_unknown_step_is_refused(store: FakeSigningKeyStore) -> None:
    with pytest.raises(ValueError, match="unknown rotation step 'rotateSecret'"):
        keys.rotation_step(store, "t1", "rotateSecret")


def test_test_secret_fails_when_the_published_key_does_not_match(store: FakeSigningKeyStore) -> None:
    rotate(store, "t1")
    keys.rotation_step(store, "t2", "createSecret")
    keys.rotation_step(store, "t2", "setSecret")
    pending = store.read(version_id="t2", stage="AWSPENDING")
    impostor = tokens.public_jwk({**tokens.generate_signing_key(), "kid": pending["kid"]})
    jwks = store.read_jwks()
    jwks["keys"] = [impostor if k["kid"] == pending["kid"] else k for k in jwks["keys"]]
    store.write_jwks(jwks)
    with pytest.raises(RuntimeError):
        keys.rotation_step(store, "t2", "testSecret")


# --------------------------------------------------------------------------- helpers


def test_rotate_now_and_ensure_signing_key(store: FakeSigningKeyStore) -> None:
    keys.ensure_signing_key(store)
    first_current = store.read(stage="AWSCURRENT")
    assert tokens.is_signing_key(first_current)
    writes = len(store.jwks_writes)

    keys.ensure_signing_key(store)  # there is a key: no rotation
    assert store.read(stage="AWSCURRENT") == first_current
    assert len(store.jwks_writes) == writes

    token = keys.rotate_now(store)
    assert store.stages()[token] == ["AWSCURRENT"]
    assert store.read(stage="AWSPREVIOUS") == first_current


# --------------------------------------------------------------------------- tokens across rotations


def test_tokens_survive_one_rotation_and_expire_with_the_second(store: FakeSigningKeyStore) -> None:
    clock = FakeClock()
    verifier = JwksVerifier(jwks=CachedValue(store.read_jwks, ttl=300, clock=clock), policy=POLICY)

    rotate(store, "t1")
    old_token = sign_with_current(store, "ci_old")
    assert verifier.principal(old_token).actor_id == "ci_old"

    rotate(store, "t2")  # t1's key is now AWSPREVIOUS
    new_token = sign_with_current(store, "ci_new")
    assert new_token.split(".")[0] != old_token.split(".")[0]  # another kid
    clock.advance(301)
    assert verifier.principal(old_token).actor_id == "ci_old"
    assert verifier.principal(new_token).actor_id == "ci_new"

    rotate(store, "t3")  # t1's key is retired
    clock.advance(301)
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.principal(old_token)
    assert verifier.principal(new_token).actor_id == "ci_new"
    assert verifier.principal(sign_with_current(store, "ci_newest")).actor_id == "ci_newest"


def test_verifier_picks_up_a_fresh_key_through_the_unknown_kid_reload(store: FakeSigningKeyStore) -> None:
    clock = FakeClock()
    verifier = JwksVerifier(jwks=CachedValue(store.read_jwks, ttl=300, clock=clock), policy=POLICY, min_refresh=30)
    rotate(store, "t1")
    assert verifier.principal(sign_with_current(store)).node_id == NODE
    rotate(store, "t2")
    clock.advance(31)  # well inside the 300 s TTL, but past min_refresh
    assert verifier.principal(sign_with_current(store, "ci_2")).actor_id == "ci_2"


# --------------------------------------------------------------------------- which key signs


def test_a_first_key_signs_at_once(store: FakeSigningKeyStore) -> None:
    key1 = rotate(store, "t1")
    assert keys.signing_key(store, store.now) == key1  # no previous key to fall back on


def test_a_new_key_signs_only_after_the_grace(store: FakeSigningKeyStore) -> None:
    key1 = rotate(store, "t1")
    store.now += timedelta(days=1)
    key2 = rotate(store, "t2")
    grace = timedelta(seconds=keys.SIGNING_GRACE_SECONDS)
    assert keys.signing_key(store, store.now) == key1
    assert keys.signing_key(store, store.now + grace - timedelta(seconds=1)) == key1
    assert keys.signing_key(store, store.now + grace) == key2
    # Longer than an authorizer may wait before it reloads the JWKS for an unknown kid.
    assert JwksVerifier(CachedValue(store.read_jwks, ttl=300), POLICY).min_refresh < keys.SIGNING_GRACE_SECONDS


def test_a_previous_version_that_is_no_key_never_signs(store: FakeSigningKeyStore) -> None:
    key1 = rotate(store, "t1")  # AWSPREVIOUS is now the template's "{}" placeholder
    assert keys.signing_key(store, store.now + timedelta(seconds=1)) == key1
