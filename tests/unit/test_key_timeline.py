"""The signing key's timeline on one injected clock (issue 10 §3 and §7): token endpoint containers that keep
their key SIGNING_KEY_CACHE_SECONDS, an authorizer and the JWKS function that keep the JWKS parameter
JWKS_CACHE_MAX_SECONDS, and a verifier outside the platform that keeps the JWKS answer for its max-age. Every
token issued at any second, across rotations in quick succession, verifies with each of them at once and for
its whole life; a retired key stops verifying within the JWKS cache."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack import template as tpl
from payments_core import deps
from payments_core.domain import keys
from payments_core.domain.auth import CachedValue, JwksVerifier, TokenPolicy
from payments_core.security import tokens
from payments_core.security.tokens import InvalidToken
from tests.unit.fakes import FakeClock, FakeSigningKeyStore

POLICY = TokenPolicy(issuer="https://auth.test.example", audience="payments-api-test", ttl_seconds=3600)
NODE = "6f0c7c4e-4c8b-4d7e-9f0e-7a3a1b2c3d4e"
BASE = datetime(2026, 3, 1, tzinfo=UTC)
PUBLICATION_DELAY = 5  # seconds from createSecret to setSecret (a rotation that runs through takes ~1 s)


@dataclass
class Timeline:
    """One clock for the key store's dates and every container's cache."""

    store: FakeSigningKeyStore
    clock: FakeClock = field(default_factory=lambda: FakeClock(0.0))
    jwks_cache: float = keys.JWKS_CACHE_MAX_SECONDS
    max_age: float = keys.JWKS_MAX_AGE_SECONDS
    external_doc: dict[str, Any] | None = None
    external_fetched: float = -1e9

    def now(self) -> datetime:
        return BASE + timedelta(seconds=self.clock.now)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.store.now = self.now()

    def signer(self) -> CachedValue:
        """A token endpoint container (deps.signing_key)."""
        return CachedValue(lambda: keys.signing_key(self.store, self.now()), keys.SIGNING_KEY_CACHE_SECONDS, self.clock)

    def authorizer(self) -> JwksVerifier:
        """An integrator authorizer container (deps.verifier)."""
        return JwksVerifier(CachedValue(self.store.read_jwks, self.jwks_cache, self.clock), POLICY)

    def jwks_function(self) -> CachedValue:
        """A JWKS function container (deps.jwks)."""
        return CachedValue(self.store.read_jwks, self.jwks_cache, self.clock)

    def external_kids(self, function: CachedValue) -> set[str]:
        """A verifier outside the platform: GET /.well-known/jwks.json again only once its copy is past max-age
        (the worst case: it never refetches for an unknown kid)."""
        if self.external_doc is None or self.clock.now - self.external_fetched >= self.max_age:
            self.external_doc = function.get()
            self.external_fetched = self.clock.now
        return {k["kid"] for k in self.external_doc["keys"]}

    def rotate(self, token: str) -> bool:
        """Secrets Manager's rotation: the key is created now and published PUBLICATION_DELAY seconds later.
        False when it is refused (RotationTooSoon): nothing changed."""
        before = (dict(self.store.versions), self.store.stages(), self.store.read_jwks())
        try:
            keys.rotation_step(self.store, token, "createSecret", now=self.now(), token_ttl_seconds=POLICY.ttl_seconds)
        except keys.RotationTooSoon:
            assert (dict(self.store.versions), self.store.stages(), self.store.read_jwks()) == before
            return False
        keys.rotation_step(self.store, token, "createSecret", now=self.now(), token_ttl_seconds=POLICY.ttl_seconds)
        self.advance(PUBLICATION_DELAY)
        for step in ("setSecret", "testSecret", "finishSecret"):
            keys.rotation_step(self.store, token, step, now=self.now(), token_ttl_seconds=POLICY.ttl_seconds)
        return True


def sign(key: Any, sub: str) -> str:
    claims = tokens.integrator_claims(
        integration_id=sub, node_id=NODE, issuer=POLICY.issuer, audience=POLICY.audience, ttl=POLICY.ttl_seconds
    )
    return str(tokens.sign(key, claims))


def run(timeline: Timeline, rotations: dict[int, str], seconds: int) -> tuple[list[str], list[str], list[str]]:
    """Every second: a new token endpoint container starts and every container issues a token; each token is
    checked at once by a long-lived authorizer and by the outside verifier. Containers that hold the same key
    issue the same kind of token, so one token per key held is signed and checked (a container's own clock
    decides only which key it holds). Returns (tokens, failures, the rotations refused as too soon)."""
    store = timeline.store
    timeline.rotate("t0")
    timeline.advance(3600)  # a key that has been current for an hour
    signers: list[CachedValue] = []
    authorizer = timeline.authorizer()
    function = timeline.jwks_function()
    issued: list[str] = []
    failures: list[str] = []
    refused: list[str] = []
    for second in range(seconds):
        if second in rotations and not timeline.rotate(rotations[second]):
            refused.append(rotations[second])
        signers.append(timeline.signer())
        held: dict[str, tuple[int, Any]] = {}
        for i, signer in enumerate(signers):
            key = signer.get()
            held.setdefault(key["kid"], (i, key))
        for kid, (i, key) in held.items():
            token = sign(key, f"ci_{second}_{i}")
            issued.append(token)
            try:
                authorizer.principal(token)
            except InvalidToken as exc:
                failures.append(f"t={second}s container {i}: the authorizer refused kid {kid} ({exc})")
            if kid not in timeline.external_kids(function):
                failures.append(f"t={second}s container {i}: kid {kid} is not in the public JWKS yet")
        timeline.advance(1)
        store.jwks_reads = 0
    return issued, failures, refused


@pytest.mark.parametrize("gap", [1, 5, 30, 59, 61, 90, 200])
def test_two_rotations_in_quick_succession_leave_no_token_unverifiable(gap: int) -> None:
    timeline = Timeline(FakeSigningKeyStore())
    issued, failures, refused = run(timeline, {10: "t1", 10 + gap: "t2"}, seconds=10 + gap + 150)
    assert failures == []
    # The second rotation starts once the first key has been current for the grace: PUBLICATION_DELAY of it
    # passes inside the first rotation.
    assert refused == (["t2"] if gap + PUBLICATION_DELAY < keys.SIGNING_GRACE_SECONDS else [])
    # And for its whole life: a fresh authorizer an hour minus a minute later still knows every token's key.
    timeline.advance(POLICY.ttl_seconds - 60 - (10 + gap + 150))
    fresh = timeline.authorizer()
    assert [t for t in issued if _refused(fresh, t)] == []


def test_rotations_every_second_for_three_minutes() -> None:
    timeline = Timeline(FakeSigningKeyStore())
    rotations = {second: f"t{second}" for second in range(10, 190)}
    _, failures, refused = run(timeline, rotations, seconds=300)
    assert failures == []
    assert 0 < len(refused) < len(rotations)  # one a minute goes through


def test_without_the_retention_a_quick_second_rotation_breaks_fresh_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: with the keys before AWSPREVIOUS dropped at once (as before issue 10), a token endpoint
    that loaded the first key during the first rotation's grace signs tokens no one can verify."""
    monkeypatch.setattr(keys, "retention_seconds", lambda ttl: 0)
    timeline = Timeline(FakeSigningKeyStore())
    _, failures, refused = run(timeline, {10: "t1", 66: "t2"}, seconds=160)
    assert refused == []
    assert any("authorizer refused" in f for f in failures)


def test_with_the_old_300_s_caches_the_public_jwks_lags_the_signing_key() -> None:
    """The check can fail: the JWKS cached 300 s (function and HTTP) against a 60 s grace."""
    timeline = Timeline(FakeSigningKeyStore(), jwks_cache=300, max_age=300)
    _, failures, _ = run(timeline, {10: "t1"}, seconds=200)
    assert any("not in the public JWKS" in f for f in failures)


def test_without_the_refusal_a_rotation_seconds_after_another_signs_with_an_unpublished_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check can fail: a second rotation 5 s after the first makes the first key, published seconds ago, the
    one that signs during the second key's grace."""
    monkeypatch.setattr(keys, "_refuse_too_soon", lambda store, now: None)
    timeline = Timeline(FakeSigningKeyStore())
    _, failures, _ = run(timeline, {10: "t1", 11: "t2"}, seconds=100)
    assert any("not in the public JWKS" in f for f in failures)


def test_retire_previous_stops_the_old_key_within_the_jwks_cache() -> None:
    timeline = Timeline(FakeSigningKeyStore())
    timeline.rotate("t0")
    timeline.advance(3600)
    authorizer = timeline.authorizer()
    old_signer = timeline.signer()
    old_token = sign(old_signer.get(), "ci_old")
    assert authorizer.principal(old_token).actor_id == "ci_old"
    timeline.rotate("t1")  # the old key is compromised: rotate, then retire it
    in_grace = timeline.signer()
    assert tokens.unverified_kid(sign(in_grace.get(), "ci")) == tokens.unverified_kid(old_token)
    retired = keys.retire_previous(timeline.store)
    assert retired == [tokens.unverified_kid(old_token)]
    refused_after = None
    for second in range(int(keys.JWKS_CACHE_MAX_SECONDS) + 2):
        if _refused(authorizer, old_token):
            refused_after = second
            break
        timeline.advance(1)
    assert refused_after is not None
    assert refused_after <= keys.JWKS_CACHE_MAX_SECONDS
    # Token endpoint containers: a new one signs with the current key at once (grace or not); one that held
    # the old key drops it within SIGNING_KEY_CACHE_SECONDS.
    assert tokens.unverified_kid(sign(timeline.signer().get(), "ci")) != tokens.unverified_kid(old_token)
    timeline.advance(keys.SIGNING_KEY_CACHE_SECONDS)
    fresh = sign(in_grace.get(), "ci_new")
    assert tokens.unverified_kid(fresh) != tokens.unverified_kid(old_token)
    assert authorizer.principal(fresh).actor_id == "ci_new"


def _refused(verifier: JwksVerifier, token: str) -> bool:
    try:
        verifier.principal(token)
    except InvalidToken:
        return True
    return False


def test_the_timeline_constants_hold_everywhere() -> None:
    """One set of numbers: the code's copies, the template's bounds, and the inequality the timeline needs."""
    assert deps.SIGNING_KEY_CACHE_SECONDS == keys.SIGNING_KEY_CACHE_SECONDS
    assert deps.JWKS_CACHE_MAX_SECONDS == keys.JWKS_CACHE_MAX_SECONDS
    jwks_app = (tpl.ROOT / "functions" / "jwks" / "app.py").read_text()
    match = re.search(r"^JWKS_MAX_AGE_SECONDS = (\d+)$", jwks_app, re.MULTILINE)
    assert match is not None
    assert int(match.group(1)) == keys.JWKS_MAX_AGE_SECONDS
    param = tpl.load()["Parameters"]["JwksCacheSeconds"]
    assert param["Default"] <= param["MaxValue"] == keys.JWKS_CACHE_MAX_SECONDS
    # A verifier outside the platform has a key before it signs; an authorizer learns it sooner still.
    assert keys.JWKS_CACHE_MAX_SECONDS + keys.JWKS_MAX_AGE_SECONDS + PUBLICATION_DELAY < keys.SIGNING_GRACE_SECONDS
