"""Integrator JWTs: payments_core.security.tokens and the authorizer's JwksVerifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt import PyJWK

from payments_core.domain import auth
from payments_core.domain.access import Principal
from payments_core.domain.auth import CachedValue, JwksVerifier, TokenPolicy
from payments_core.domain.entities import Integration
from payments_core.errors import ServiceUnavailable, Unauthorized
from payments_core.models.auth import TokenRequest
from payments_core.security import passwords, tokens
from payments_core.security.tokens import InvalidToken
from tests.support import a_payment
from tests.unit.fakes import FakeCatalog, FakeClock, FakeSecretHashes

ISSUER = "https://auth.test.example"
AUDIENCE = "payments-api-test"
POLICY = TokenPolicy(issuer=ISSUER, audience=AUDIENCE, ttl_seconds=3600)
NODE = "6f0c7c4e-4c8b-4d7e-9f0e-7a3a1b2c3d4e"


@pytest.fixture(scope="module")
def key() -> dict[str, Any]:
    return tokens.generate_signing_key()


@pytest.fixture(scope="module")
def other_key() -> dict[str, Any]:
    return tokens.generate_signing_key()


def claims(**overrides: Any) -> dict[str, Any]:
    c = tokens.integrator_claims(integration_id="ci_123", node_id=NODE, issuer=ISSUER, audience=AUDIENCE, ttl=600)
    c.update(overrides)
    return {k: v for k, v in c.items() if v is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


class JwksSource:
    """A JWKS 'parameter' whose reads are counted."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.value: dict[str, Any] = {"keys": [tokens.public_jwk(k) for k in keys]}
        self.loads = 0

    def __call__(self) -> dict[str, Any]:
        self.loads += 1
        fresh: dict[str, Any] = json.loads(json.dumps(self.value))  # a new object per read, like SSM
        return fresh


def verifier_for(
    *keys: dict[str, Any], clock: FakeClock | None = None, min_refresh: float = 30.0, ttl: float = 300.0
) -> tuple[JwksVerifier, JwksSource, FakeClock]:
    source = JwksSource(*keys)
    clk = clock or FakeClock()
    return (
        JwksVerifier(jwks=CachedValue(source, ttl=ttl, clock=clk), policy=POLICY, min_refresh=min_refresh),
        source,
        clk,
    )


# --------------------------------------------------------------------------- keys and signing


def test_generated_key_is_a_private_p256_jwk(key: dict[str, Any]) -> None:
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert len(key["kid"]) == 16
    assert tokens.is_signing_key(key)
    assert tokens.generate_signing_key()["kid"] != key["kid"]


def test_public_jwk_has_no_private_part(key: dict[str, Any]) -> None:
    public = tokens.public_jwk(key)
    assert "d" not in public
    assert public == {k: key[k] for k in ("kty", "crv", "x", "y", "kid", "alg", "use")}
    assert not tokens.is_signing_key(public)


@pytest.mark.parametrize(
    "value",
    [None, {}, "key", {"kty": "EC", "kid": "k"}, {"kty": "RSA", "d": "x", "kid": "k"}, {"kty": "EC", "d": "x"}],
)
def test_is_signing_key_rejects(value: Any) -> None:
    assert tokens.is_signing_key(value) is False


def test_integrator_claims() -> None:
    c = tokens.integrator_claims(
        integration_id="ci_1", node_id=NODE, issuer=ISSUER, audience=AUDIENCE, ttl=60, now=1000
    )
    jti = c.pop("jti")
    assert isinstance(jti, str)
    assert len(jti) == 24
    assert c == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "ci_1",
        "node_id": NODE,
        "use": "integrator",
        "iat": 1000,
        "nbf": 1000,
        "exp": 1060,
    }


def test_signed_token_header(key: dict[str, Any]) -> None:
    token = tokens.sign(key, claims())
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": key["kid"], "typ": "JWT"}
    assert tokens.unverified_kid(token) == key["kid"]


# --------------------------------------------------------------------------- the happy path


def test_valid_token_gives_principal(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    principal = verifier.principal(tokens.sign(key, claims(sub="ci_abc")))
    assert principal == Principal(actor_type="integration", actor_id="ci_abc", node_id=NODE)


def test_verify_returns_the_claims(key: dict[str, Any]) -> None:
    c = claims()
    got = tokens.verify(tokens.sign(key, c), PyJWK.from_dict(tokens.public_jwk(key)), issuer=ISSUER, audience=AUDIENCE)
    assert got == c


def test_token_picks_its_key_by_kid(key: dict[str, Any], other_key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key, other_key)
    assert verifier.principal(tokens.sign(other_key, claims(sub="ci_other"))).actor_id == "ci_other"
    assert verifier.principal(tokens.sign(key, claims(sub="ci_key"))).actor_id == "ci_key"


@pytest.fixture
def integrations() -> FakeCatalog:
    catalog = FakeCatalog()
    for cid, status in (("ci_1", "active"), ("ci_off", "disabled"), ("ci_nohash", "active")):
        catalog.add(Integration(id=cid, node_id=NODE, name=cid, status=status))
    return catalog


@pytest.fixture
def hashes() -> FakeSecretHashes:
    """The secrets table: the hashes live apart from the catalog entries (ci_nohash has none)."""
    store = FakeSecretHashes()
    for cid in ("ci_1", "ci_off", "ci_orphan"):
        store.put_new(cid, passwords.hash_secret("cs_s", memory_kib=256, time_cost=1))
    return store


def test_issue_token_end_to_end_with_verifier(
    key: dict[str, Any], integrations: FakeCatalog, hashes: FakeSecretHashes
) -> None:
    signing = CachedValue(lambda: key, ttl=300)
    issued = auth.issue_token(
        integrations, hashes, signing, POLICY, TokenRequest(client_id="ci_1", client_secret="cs_s")
    )
    assert issued.token_type == "Bearer"
    assert issued.expires_in == 3600
    assert jwt.get_unverified_header(issued.access_token)["kid"] == key["kid"]
    verifier, _, _ = verifier_for(key)
    assert verifier.principal(issued.access_token) == Principal("integration", "ci_1", NODE)


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("ci_1", "wrong"),
        ("ci_unknown", "cs_s"),
        ("ci_off", "cs_s"),
        ("ci_1", ""),
        ("ci_nohash", "cs_s"),
        ("ci_orphan", "cs_s"),
    ],
    ids=["wrong-secret", "unknown-client", "disabled", "empty-secret", "entry-without-hash", "hash-without-entry"],
)
def test_issue_token_refuses_bad_credentials_alike(
    key: dict[str, Any],
    *,
    integrations: FakeCatalog,
    hashes: FakeSecretHashes,
    client_id: str,
    secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signing = CachedValue(lambda: key, ttl=300)
    request = TokenRequest.model_construct(client_id=client_id, client_secret=secret)
    work: list[str] = []
    real_sign, real_verify = tokens.sign, passwords.verify_secret

    def sign(*args: Any) -> str:
        work.append("sign")
        return real_sign(*args)

    def verify(*args: Any) -> bool:
        work.append("hash")
        return real_verify(*args)

    monkeypatch.setattr(tokens, "sign", sign)
    monkeypatch.setattr(passwords, "verify_secret", verify)
    with pytest.raises(Unauthorized) as info:
        auth.issue_token(integrations, hashes, signing, POLICY, request)
    assert info.value.status_code == 401
    assert info.value.code == "invalid_client"
    assert info.value.message == "Invalid client credentials"  # the same answer whatever was wrong
    assert sorted(work) == ["hash", "sign"]  # the same work too: an unknown id is not answered sooner


@pytest.mark.parametrize("current", [{}, None, {"kty": "EC", "kid": "k"}])
def test_issue_token_without_a_signing_key_is_503(
    integrations: FakeCatalog, hashes: FakeSecretHashes, current: Any
) -> None:
    signing = CachedValue(lambda: current, ttl=300)
    with pytest.raises(ServiceUnavailable) as info:
        auth.issue_token(integrations, hashes, signing, POLICY, TokenRequest(client_id="ci_1", client_secret="cs_s"))
    assert info.value.status_code == 503
    assert info.value.code == "signing_key_unavailable"


class KeyStoreDown(RuntimeError):
    pass


def _failing_key() -> Any:
    raise KeyStoreDown("Secrets Manager is unreachable")


def test_a_signing_key_that_fails_to_load_is_not_reported_to_bad_credentials(
    integrations: FakeCatalog, hashes: FakeSecretHashes
) -> None:
    # The key is loaded while the secret is checked; a wrong secret is still a plain 401.
    signing = CachedValue(_failing_key, ttl=300)
    with pytest.raises(Unauthorized):
        auth.issue_token(integrations, hashes, signing, POLICY, TokenRequest(client_id="ci_1", client_secret="wrong"))
    with pytest.raises(KeyStoreDown):
        auth.issue_token(integrations, hashes, signing, POLICY, TokenRequest(client_id="ci_1", client_secret="cs_s"))


# --------------------------------------------------------------------------- rejections


def test_alg_none_is_rejected(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    forged = f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': key['kid']})}.{segment(claims())}."
    with pytest.raises(InvalidToken, match="algorithm 'none' is not accepted"):
        verifier.principal(forged)


def test_hs256_signed_with_the_public_key_is_rejected(key: dict[str, Any]) -> None:
    # The classic confusion: an HMAC "signed" with the verifier's public key as the shared secret.
    public_pem = PyJWK.from_dict(tokens.public_jwk(key)).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': key['kid']})}.{segment(claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64url(mac)}"
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="algorithm 'HS256' is not accepted"):
        verifier.principal(forged)
    # Even if the header lied about the algorithm, ES256 verification refuses the HMAC.
    lying = f"{segment({'alg': 'ES256', 'typ': 'JWT', 'kid': key['kid']})}.{segment(claims())}"
    lying += "." + b64url(hmac.new(public_pem, lying.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidToken, match="rejected"):
        verifier.principal(lying)


def test_wrong_audience_is_rejected(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="InvalidAudienceError"):
        verifier.principal(tokens.sign(key, claims(aud="another-api")))


def test_wrong_issuer_is_rejected(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="InvalidIssuerError"):
        verifier.principal(tokens.sign(key, claims(iss="https://evil.example")))


def test_expired_token_is_rejected(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    past = int(time.time()) - 3600
    with pytest.raises(InvalidToken, match="ExpiredSignatureError"):
        verifier.principal(tokens.sign(key, claims(iat=past, nbf=past, exp=past + 60)))


def test_token_just_inside_the_leeway_is_accepted(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    now = int(time.time())
    assert verifier.principal(tokens.sign(key, claims(iat=now - 60, nbf=now - 60, exp=now - 2))).node_id == NODE


def test_token_not_yet_valid_is_rejected(key: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    later = int(time.time()) + 3600
    with pytest.raises(InvalidToken, match="ImmatureSignatureError"):
        verifier.principal(tokens.sign(key, claims(nbf=later, exp=later + 60)))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_missing_required_claim_is_rejected(key: dict[str, Any], claim: str) -> None:
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="MissingRequiredClaimError"):
        verifier.principal(tokens.sign(key, claims(**{claim: None})))


def test_missing_kid_is_rejected(key: dict[str, Any]) -> None:
    token = jwt.encode(claims(), PyJWK.from_dict(key).key, algorithm="ES256")  # no kid header
    verifier, source, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="no kid"):
        verifier.principal(token)
    assert source.loads == 0  # refused before any JWKS read


@pytest.mark.parametrize(
    ("kid", "reason"),
    [("", "no kid"), (42, "malformed token"), (None, "malformed token"), (["k"], "malformed token")],
)
def test_empty_or_non_string_kid_is_rejected(key: dict[str, Any], kid: Any, reason: str) -> None:
    signing_input = f"{segment({'alg': 'ES256', 'typ': 'JWT', 'kid': kid})}.{segment(claims())}"
    token = f"{signing_input}.{b64url(b'not-checked')}"
    verifier, source, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match=reason):
        verifier.principal(token)
    assert source.loads == 0


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z", "eyJhbGciOiJFUzI1NiJ9"])
def test_malformed_token_is_rejected(key: dict[str, Any], garbage: str) -> None:
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="malformed token"):
        verifier.principal(garbage)


def test_tampered_payload_is_rejected(key: dict[str, Any]) -> None:
    header, _, signature = tokens.sign(key, claims()).split(".")
    tampered = f"{header}.{segment(claims(node_id='another-node'))}.{signature}"
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        verifier.principal(tampered)


def test_wrong_signature_with_same_kid_is_rejected(key: dict[str, Any], other_key: dict[str, Any]) -> None:
    impostor = {**other_key, "kid": key["kid"]}  # another private key claiming the published kid
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        verifier.principal(tokens.sign(impostor, claims()))


@pytest.mark.parametrize(
    "overrides",
    [{"use": None}, {"use": "widget"}, {"node_id": None}, {"node_id": 42}],
    ids=["no-use", "other-use", "no-node", "numeric-node"],
)
def test_token_that_is_not_an_integrator_token_is_rejected(key: dict[str, Any], overrides: dict[str, Any]) -> None:
    verifier, _, _ = verifier_for(key)
    with pytest.raises(InvalidToken, match="not an integrator token"):
        verifier.principal(tokens.sign(key, claims(**overrides)))


def test_jwks_key_with_other_algorithm_is_ignored(key: dict[str, Any]) -> None:
    verifier, source, _ = verifier_for(key)
    source.value = {"keys": [{**tokens.public_jwk(key), "alg": "ES384"}]}
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.principal(tokens.sign(key, claims()))


# --------------------------------------------------------------------------- unknown kid and reloads


def test_unknown_kid_reloads_at_most_once_per_min_refresh(key: dict[str, Any], other_key: dict[str, Any]) -> None:
    verifier, source, clock = verifier_for(key, min_refresh=30.0, ttl=300.0)
    stranger = tokens.sign(other_key, claims())

    assert verifier.principal(tokens.sign(key, claims())).node_id == NODE
    assert source.loads == 1

    # Just loaded: an unknown kid does not trigger a reload.
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.principal(stranger)
    assert source.loads == 1

    clock.advance(29)
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown kid"):
            verifier.principal(stranger)
    assert source.loads == 1

    # min_refresh has passed: exactly one reload, then quiet again for another min_refresh.
    clock.advance(1)
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown kid"):
            verifier.principal(stranger)
    assert source.loads == 2

    clock.advance(30)
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.principal(stranger)
    assert source.loads == 3


def test_newly_published_key_is_picked_up_by_the_reload(key: dict[str, Any], other_key: dict[str, Any]) -> None:
    verifier, source, clock = verifier_for(key, min_refresh=30.0, ttl=300.0)
    assert verifier.principal(tokens.sign(key, claims())).node_id == NODE
    source.value = {"keys": [tokens.public_jwk(key), tokens.public_jwk(other_key)]}  # a rotation published it
    new_token = tokens.sign(other_key, claims(sub="ci_new"))

    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.principal(new_token)  # too soon after the first load
    clock.advance(30)
    assert verifier.principal(new_token).actor_id == "ci_new"
    assert source.loads == 2
    # and the old key still works from the same (reloaded) set
    assert verifier.principal(tokens.sign(key, claims())).node_id == NODE
    assert source.loads == 2


def test_known_kid_does_not_reload_before_ttl(key: dict[str, Any]) -> None:
    verifier, source, clock = verifier_for(key, min_refresh=30.0, ttl=300.0)
    for _ in range(3):
        verifier.principal(tokens.sign(key, claims()))
        clock.advance(60)
    assert source.loads == 1
    clock.advance(200)  # 380 s after the load: the TTL has passed
    verifier.principal(tokens.sign(key, claims()))
    assert source.loads == 2


def test_cached_value_age_and_refresh() -> None:
    clock = FakeClock(100.0)
    calls: list[int] = []

    def load() -> int:
        calls.append(1)
        return len(calls)

    cached = CachedValue(load, ttl=10, clock=clock)
    assert cached.age() == float("inf")
    assert cached.get() == 1
    clock.advance(4)
    assert cached.age() == 4
    assert cached.get() == 1
    assert cached.get(refresh=True) == 2
    assert cached.age() == 0
    clock.advance(10)
    assert cached.get() == 3


# --------------------------------------------------------------------------- the authorizer's answer


def test_allow_policy_shape() -> None:
    principal = Principal(actor_type="integration", actor_id="ci_9", node_id=NODE)
    arn = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/prod/GET/api/v1/payments/abc"
    assert auth.allow_policy(principal, arn) == {
        "principalId": "ci_9",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/prod/*/*",
                }
            ],
        },
        "context": {"actor_type": "integration", "actor_id": "ci_9", "node_id": NODE},
    }


def test_allow_policy_covers_the_stage_only() -> None:
    principal = Principal(actor_type="integration", actor_id="ci_9", node_id=NODE)
    policy = auth.allow_policy(principal, "arn:aws:execute-api:us-east-1:111122223333:apiid/v1/POST/api/v1/payments")
    resource = policy["policyDocument"]["Statement"][0]["Resource"]
    assert resource == "arn:aws:execute-api:us-east-1:111122223333:apiid/v1/*/*"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER abc.def.ghi", "abc.def.ghi"),
        ("  Bearer   abc.def.ghi  ", "abc.def.ghi"),
        ("Bearer pwt_0123abcd_A-b~c+d/e==", "pwt_0123abcd_A-b~c+d/e=="),  # RFC 6750's b64token characters
    ],
)
def test_bearer_token_parsing(header: str, token: str) -> None:
    assert auth.bearer_token(header) == token


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no Authorization header"),
        ("", "no Authorization header"),
        ("abc.def.ghi", "not a bearer token"),
        ("Basic dXNlcjpwYXNz", "not a bearer token"),
        ("Bearer", "not a bearer token"),
        ("Bearer    ", "not a bearer token"),
        ("Token abc.def.ghi", "not a bearer token"),
        ("Bearer Bearer abc.def.ghi", "not a bearer token"),
        ("Bearer abc.def.ghi, Basic dXNlcjpwYXNz", "not a bearer token"),
        ("Basic dXNlcjpwYXNz, Bearer abc.def.ghi", "not a bearer token"),
        ("Bearer\tabc.def.ghi", "not a bearer token"),
        ("Bearer abc.def.ghi\t", "not a bearer token"),
        ("Bearer abc.def.ghi\n", "not a bearer token"),
        ("Bearer abc.déf.ghi", "not a bearer token"),
        ("Bearer abc.def.ghi\udc80", "not a bearer token"),
        ("Bearer \uff41bc.def.ghi", "not a bearer token"),  # a full-width letter
        ("Bearer abc def", "not a bearer token"),
        ("Bearer =abc", "not a bearer token"),
        ("Bearer " + "a" * 5000, "too long"),
        (7, "no Authorization header"),
        (["Bearer abc.def.ghi"], "no Authorization header"),
    ],
)
def test_bearer_token_rejects(header: object, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        auth.bearer_token(header)


def test_public_jwks_model(key: dict[str, Any]) -> None:
    jwks = auth.public_jwks(CachedValue(lambda: {"keys": [tokens.public_jwk(key)]}, ttl=60))
    assert [k.kid for k in jwks.keys] == [key["kid"]]
    assert jwks.keys[0].x == key["x"]
    assert auth.public_jwks(CachedValue(lambda: None, ttl=60)).keys == []


@pytest.mark.parametrize("tail", ["é", "\U0001f600", "\udc80"])
def test_a_widget_token_with_non_ascii_characters_is_refused_not_a_type_error(tail: str) -> None:
    # The authorizer's bearer_token refuses these first; widget.authorize must refuse them alone too
    # (hmac.compare_digest raises TypeError on non-ASCII str: a 500, were it reached).
    import uuid
    from datetime import timedelta

    from payments_core.domain import widget
    from payments_core.domain.payments import PaymentDeps, new_access_token
    from payments_core.models.common import utcnow
    from tests.unit.fakes import FakeDealQueue, FakePaymentStore

    payment_id = str(uuid.uuid4())
    token = new_access_token(payment_id)
    store = FakePaymentStore()
    store.put(a_payment(id=payment_id, access_token=token, expires_at=(utcnow() + timedelta(hours=1)).isoformat()))
    deps = PaymentDeps(catalog=FakeCatalog(), payments=store, deal_queue=FakeDealQueue())
    assert widget.authorize(deps, token, payment_id) == payment_id
    for forged in (token[:-1] + tail, token + tail):
        with pytest.raises(Unauthorized):
            widget.authorize(deps, forged, payment_id)
