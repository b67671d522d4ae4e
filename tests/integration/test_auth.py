"""Integrator tokens: issue, verify through the authorizer, JWKS, rotation without downtime."""

from __future__ import annotations

import time

from payments_core import deps
from payments_core.domain import keys
from payments_core.security import tokens
from tests.integration.conftest import Api


def test_token_shape_and_bad_credentials(api: Api) -> None:
    creds = api.demo["integrations"]["root"]
    ok = api.call("POST", "/api/v1/auth/token", json_body=creds)
    assert ok.status == 200
    body = ok.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2
    for bad in (
        {**creds, "client_secret": creds["client_secret"] + "x"},
        {**creds, "client_id": "ci_unknown"},
    ):
        r = api.call("POST", "/api/v1/auth/token", json_body=bad)
        assert (r.status, r.json()["error"]["code"]) == (401, "invalid_client")
    assert api.call("POST", "/api/v1/auth/token", json_body={"client_id": "x"}).status == 422


def test_client_secret_is_stored_only_as_a_salted_slow_hash(api: Api) -> None:
    creds = api.demo["integrations"]["root"]
    stored = deps.catalog().get("integration", creds["client_id"])
    assert stored is not None
    assert creds["client_secret"] not in str(stored)
    assert stored["secret_hash"].startswith("$argon2id$v=19$m=7168,t=5,p=1$")


def test_missing_or_garbage_bearer_is_401_in_the_error_shape(api: Api) -> None:
    for token in (None, "garbage", "a.b.c"):
        r = api.call("GET", "/api/v1/payments", token=token, query={"node_id": api.demo["nodes"]["root"]})
        assert r.status == 401
        assert r.json()["error"]["code"] == "unauthorized"


def test_widget_access_token_is_useless_on_the_integrator_api(api: Api) -> None:
    token = api.token()
    created = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body()).json()
    r = api.call("GET", f"/api/v1/payments/{created['id']}", token=created["access_token"])
    assert r.status == 401


def test_rotation_keeps_previous_tokens_until_the_key_is_retired(api: Api) -> None:
    node = api.demo["nodes"]["root"]
    old = api.token()
    jwks_before = api.call("GET", "/.well-known/jwks.json").json()["keys"]
    assert len(jwks_before) == 1

    keys.rotate_now(deps.key_store())
    # A fresh container of the authorizer (no cache) still accepts the old token: previous key is published.
    api.gateway = type(api.gateway)()
    from devstack import runtime

    runtime.reset_process_caches()
    published = api.call("GET", "/.well-known/jwks.json").json()["keys"]
    assert len(published) == 2
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 200
    new = api.token()
    assert new != old
    assert api.call("GET", "/api/v1/payments", token=new, query={"node_id": node}).status == 200

    keys.rotate_now(deps.key_store())  # the first key is retired now
    runtime.reset_process_caches()
    api.gateway = type(api.gateway)()
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 401
    assert api.call("GET", "/api/v1/payments", token=new, query={"node_id": node}).status == 200


def test_a_token_accepted_once_is_refused_once_it_expires(api: Api) -> None:
    """No authorizer answer outlives its token (the integrator authorizer is asked on every request)."""
    creds = api.demo["integrations"]["root"]
    integration = deps.catalog().get("integration", creds["client_id"])
    assert integration is not None
    policy = deps.token_policy()
    now = int(time.time())
    # Expired 2 s ago, inside the verifier's 5 s leeway: accepted now, refused a few seconds later.
    claims = tokens.integrator_claims(
        integration_id=integration["id"],
        node_id=integration["node_id"],
        issuer=policy.issuer,
        audience=policy.audience,
        ttl=98,
        now=now - 100,
    )
    token = tokens.sign(deps.signing_key().get(), claims)
    query = {"node_id": api.demo["nodes"]["root"]}
    assert api.call("GET", "/api/v1/payments", token=token, query=query).status == 200
    time.sleep(max(0.0, claims["exp"] + 5 + 1 - time.time()))  # past the leeway
    refused = api.call("GET", "/api/v1/payments", token=token, query=query)
    assert (refused.status, refused.json()["error"]["code"]) == (401, "unauthorized")
