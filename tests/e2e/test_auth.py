"""Integrator tokens over HTTP: issuing them, and every way a bearer token is refused."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from devstack.launch import LocalStackInfo
from payments_core.security import tokens
from payments_core.store.keys import AwsSigningKeyStore
from tests.e2e.helpers import Client, assert_error

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_token_is_issued_for_valid_client_credentials(client: Client) -> None:
    r = client.http.post("/api/v1/auth/token", json=client.demo["integrations"]["root"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256"
    assert header["kid"]


def test_token_verifies_against_the_published_jwks(client: Client) -> None:
    token = client.token("root")
    jwks = client.http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.json()["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token,
        jwt.PyJWK.from_dict(key, algorithm="ES256").key,
        algorithms=["ES256"],
        audience="rudiqpay-integrator-api",
    )
    assert claims["sub"] == client.demo["integrations"]["root"]["client_id"]
    assert claims["node_id"] == client.demo["nodes"]["root"]


def test_wrong_secret_is_401(client: Client) -> None:
    creds = {**client.demo["integrations"]["root"], "client_secret": "cs_wrong"}
    assert_error(client.http.post("/api/v1/auth/token", json=creds), 401, "invalid_client")


def test_unknown_client_is_401(client: Client) -> None:
    creds = {"client_id": "ci_nobody", "client_secret": client.demo["integrations"]["root"]["client_secret"]}
    assert_error(client.http.post("/api/v1/auth/token", json=creds), 401, "invalid_client")


# ------------------------------------------------------------------------------ refused tokens
@pytest.fixture(scope="module")
def signing_key(signing_key_store: AwsSigningKeyStore) -> dict[str, Any]:
    """The real current signing key, read from the stack's secret (as an attacker never could)."""
    key = signing_key_store.read(stage="AWSCURRENT")
    assert tokens.is_signing_key(key)
    return dict(key)


def _claims(client: Client, **overrides: Any) -> dict[str, Any]:
    claims = tokens.integrator_claims(
        integration_id=client.demo["integrations"]["root"]["client_id"],
        node_id=client.demo["nodes"]["root"],
        issuer="https://auth.rudiqpay.example",
        audience="rudiqpay-integrator-api",
        ttl=3600,
    )
    claims.update(overrides)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _list_with(client: Client, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.http.get("/api/v1/payments", params={"node_id": client.demo["nodes"]["root"]}, headers=headers)


def test_a_token_signed_with_the_real_key_is_accepted(client: Client, signing_key: dict[str, Any]) -> None:
    """The control for the refusals below: the same recipe with nothing wrong works."""
    token = tokens.sign(signing_key, _claims(client))
    assert _list_with(client, f"Bearer {token}").status_code == 200


def _bad_tokens(client: Client, signing_key: dict[str, Any]) -> dict[str, str | None]:
    now = int(time.time())
    good = tokens.sign(signing_key, _claims(client))
    impostor = tokens.generate_signing_key()
    impostor["kid"] = signing_key["kid"]
    head, payload, signature = good.split(".")
    tampered_claims = {**json.loads(_unb64(payload)), "node_id": client.demo["nodes"]["other"]}
    tampered = f"{head}.{_b64(json.dumps(tampered_claims).encode())}.{signature}"
    unsigned = jwt.encode(_claims(client), key="", algorithm="none", headers={"kid": signing_key["kid"]})
    none_with_junk_signature = unsigned.rstrip(".") + "." + _b64(b"junk")
    widget = client.create().json()["access_token"]
    expired = tokens.sign(signing_key, _claims(client, iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    return {
        "missing": None,
        "empty bearer": "Bearer",
        "not bearer": f"Basic {_b64(b'user:pass')}",
        "malformed": "Bearer not-a-jwt",
        "malformed three parts": "Bearer aaa.bbb.ccc",
        "expired": f"Bearer {expired}",
        "wrong signature": f"Bearer {tokens.sign(impostor, _claims(client))}",
        "alg none": f"Bearer {unsigned}",
        "alg none with a signature": f"Bearer {none_with_junk_signature}",
        "wrong audience": f"Bearer {tokens.sign(signing_key, _claims(client, aud='someone-else'))}",
        "wrong issuer": f"Bearer {tokens.sign(signing_key, _claims(client, iss='https://evil.example'))}",
        "tampered payload": f"Bearer {tampered}",
        "widget access_token": f"Bearer {widget}",
    }


BAD_TOKEN_CASES = [
    "missing",
    "empty bearer",
    "not bearer",
    "malformed",
    "malformed three parts",
    "expired",
    "wrong signature",
    "alg none",
    "alg none with a signature",
    "wrong audience",
    "wrong issuer",
    "tampered payload",
    "widget access_token",
]


@pytest.fixture(scope="module")
def bad_tokens(client: Client, signing_key: dict[str, Any]) -> dict[str, str | None]:
    return _bad_tokens(client, signing_key)


@pytest.mark.parametrize("case", BAD_TOKEN_CASES)
def test_bad_bearer_is_401_on_every_protected_route(
    client: Client, bad_tokens: dict[str, str | None], case: str
) -> None:
    authorization = bad_tokens[case]
    headers = {} if authorization is None else {"Authorization": authorization}
    payment = client.create().json()
    attempts = [
        client.http.get("/api/v1/payments", params={"node_id": client.demo["nodes"]["root"]}, headers=headers),
        client.http.get(f"/api/v1/payments/{payment['id']}", headers=headers),
        client.http.post("/api/v1/payments", json=client.payment_body(), headers=headers),
    ]
    for r in attempts:
        assert_error(r, 401, "unauthorized")


def test_refusal_is_not_cached_as_acceptance(client: Client, bad_tokens: dict[str, str | None]) -> None:
    """The authorizer cache is per token: a refused token stays refused, a good one keeps working."""
    for _ in range(2):
        assert _list_with(client, bad_tokens["wrong signature"]).status_code == 401
        assert _list_with(client, f"Bearer {client.token('root')}").status_code == 200


def test_jwks_and_token_need_no_bearer(stack: LocalStackInfo, client: Client) -> None:
    assert client.http.get("/.well-known/jwks.json").status_code == 200
    assert client.http.post("/api/v1/auth/token", json=stack.demo["integrations"]["other"]).status_code == 200
