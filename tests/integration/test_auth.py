"""Integrator tokens: issue, verify through the authorizer, JWKS, rotation without downtime."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from payments_core import deps
from payments_core.domain import keys
from payments_core.domain.entities import Integration
from payments_core.security import tokens
from tests.integration.helpers import Api


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


def test_client_secret_is_stored_only_as_a_salted_slow_hash_outside_the_catalog(api: Api) -> None:
    creds = api.demo["integrations"]["root"]
    stored = deps.catalog().get(Integration, creds["client_id"])
    assert stored is not None
    assert "secret_hash" not in stored  # the catalog, which every function reads parts of, holds no hash
    stored_hash = deps.secret_hashes().read_hash(creds["client_id"]).run()
    assert stored_hash is not None
    assert creds["client_secret"] not in stored_hash
    assert stored_hash.startswith("$argon2id$v=19$m=7168,t=5,p=1$")


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


def rotate_once_allowed() -> None:
    """A rotation as soon as the fixture's key is past its signing grace (a rotation sooner is RotationTooSoon)."""
    keys.rotate_now(deps.signing_key_store(), now=datetime.now(UTC) + timedelta(seconds=keys.SIGNING_GRACE_SECONDS))


def test_rotation_keeps_previous_tokens_until_the_key_is_retired(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from devstack import runtime

    node = api.demo["nodes"]["root"]
    old = api.token()
    jwks_before = api.call("GET", "/.well-known/jwks.json").json()["keys"]
    assert len(jwks_before) == 1
    # This process's authorizer has verified a token: its JWKS cache predates the rotation below.
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 200

    rotate_once_allowed()
    deps.signing_key.cache_clear()  # a new token endpoint container; the authorizer keeps its cache
    # In the new key's first minute the previous key signs, so that authorizer (which reloads the JWKS
    # on an unknown kid at most every 30 s) accepts every new token.
    during_grace = api.token()
    assert tokens.unverified_kid(during_grace) == tokens.unverified_kid(old)
    assert api.call("GET", "/api/v1/payments", token=during_grace, query={"node_id": node}).status == 200

    monkeypatch.setattr(keys, "SIGNING_GRACE_SECONDS", 0)  # the minute has passed
    deps.signing_key.cache_clear()
    new = api.token()
    assert tokens.unverified_kid(new) != tokens.unverified_kid(old)
    # What the grace is for: the same authorizer, its JWKS loaded seconds ago, cannot know the new key yet.
    assert api.call("GET", "/api/v1/payments", token=new, query={"node_id": node}).status == 401

    # A fresh authorizer container (no cache) accepts both: the previous key is still published.
    runtime.reset_process_caches()
    published = api.call("GET", "/.well-known/jwks.json").json()["keys"]
    assert len(published) == 2
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 200
    assert api.call("GET", "/api/v1/payments", token=new, query={"node_id": node}).status == 200

    # A second rotation as soon as one is allowed (the grace after the first): the first key may have signed a
    # token a moment ago (the grace, a token endpoint's cached key), so it stays published as long as such a
    # token may be valid.
    keys.rotate_now(deps.signing_key_store())  # the clock says the grace has passed (SIGNING_GRACE_SECONDS is 0)
    runtime.reset_process_caches()
    assert len(api.call("GET", "/.well-known/jwks.json").json()["keys"]) == 3
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 200
    assert api.call("GET", "/api/v1/payments", token=new, query={"node_id": node}).status == 200

    # Once no token it signed can be valid, the next rotation retires it.
    later = datetime.now(UTC) + timedelta(seconds=keys.retention_seconds(deps.token_policy().ttl_seconds))
    keys.rotate_now(deps.signing_key_store(), now=later)
    runtime.reset_process_caches()
    assert len(api.call("GET", "/.well-known/jwks.json").json()["keys"]) == 2
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 401


def test_retire_previous_stops_the_previous_key_at_once(api: Api) -> None:
    """A compromised key: `keys retire-previous` takes every key but the current one out of the JWKS and out of
    signing; an authorizer drops it at its next read of the JWKS (JWKS_CACHE_SECONDS; a fresh one here)."""
    from devstack import runtime

    node = api.demo["nodes"]["root"]
    old = api.token()
    rotate_once_allowed()
    runtime.reset_process_caches()
    during_grace = api.token()  # still signed with the previous key: the new one is seconds old
    assert tokens.unverified_kid(during_grace) == tokens.unverified_kid(old)
    assert api.call("GET", "/api/v1/payments", token=old, query={"node_id": node}).status == 200

    retired = keys.retire_previous(deps.signing_key_store())
    assert retired == [tokens.unverified_kid(old)]
    runtime.reset_process_caches()
    for token in (old, during_grace):
        assert api.call("GET", "/api/v1/payments", token=token, query={"node_id": node}).status == 401
    # The token endpoint signs with the current key at once, grace or not: its tokens verify.
    fresh = api.token()
    assert tokens.unverified_kid(fresh) != tokens.unverified_kid(old)
    assert api.call("GET", "/api/v1/payments", token=fresh, query={"node_id": node}).status == 200
    published = [k["kid"] for k in api.call("GET", "/.well-known/jwks.json").json()["keys"]]
    assert published == [tokens.unverified_kid(fresh)]


def test_a_disabled_integration_gets_no_token_and_its_tokens_are_refused(api: Api) -> None:
    from payments_core.domain import catalog as admin

    creds = api.demo["integrations"]["child"]
    node = api.demo["nodes"]["child"]
    token = api.token("child")
    assert api.call("GET", "/api/v1/payments", token=token, query={"node_id": node}).status == 200

    admin.set_integration_status(
        deps.catalog(), deps.integration_status_store(), integration_id=creds["client_id"], status="disabled"
    )
    refused = api.call("POST", "/api/v1/auth/token", json_body=creds)
    assert (refused.status, refused.json()["error"]["code"]) == (401, "invalid_client")
    # This authorizer container read the status seconds ago: it trusts it for INTEGRATION_STATUS_CACHE_SECONDS
    # (the bound is proven on an injected clock in tests/unit/test_revocation.py); a new container refuses now.
    deps.integration_statuses.cache_clear()
    r = api.call("GET", "/api/v1/payments", token=token, query={"node_id": node})
    assert (r.status, r.json()["error"]["code"]) == (401, "unauthorized")
    # Other integrations are untouched.
    assert api.call("GET", "/api/v1/payments", token=api.token(), query={"node_id": node}).status == 200

    admin.set_integration_status(
        deps.catalog(), deps.integration_status_store(), integration_id=creds["client_id"], status="active"
    )
    deps.integration_statuses.cache_clear()
    assert api.call("GET", "/api/v1/payments", token=token, query={"node_id": node}).status == 200
    assert api.call("POST", "/api/v1/auth/token", json_body=creds).status == 200


def test_a_token_accepted_once_is_refused_once_it_expires(api: Api) -> None:
    """No authorizer answer outlives its token (the integrator authorizer is asked on every request)."""
    creds = api.demo["integrations"]["root"]
    integration = deps.catalog().get(Integration, creds["client_id"])
    assert integration is not None
    policy = deps.token_policy()
    now = int(time.time())
    # Expiring now: accepted within the verifier's 5 s leeway, refused once past it.
    claims = tokens.integrator_claims(
        integration_id=integration.id,
        node_id=integration.node_id,
        issuer=policy.issuer,
        audience=policy.audience,
        ttl=100,
        now=now - 100,
    )
    token = tokens.sign(deps.signing_key().get(), claims)
    query = {"node_id": api.demo["nodes"]["root"]}
    assert api.call("GET", "/api/v1/payments", token=token, query=query).status == 200
    time.sleep(max(0.0, claims["exp"] + 5 + 1 - time.time()))  # past the leeway
    refused = api.call("GET", "/api/v1/payments", token=token, query=query)
    assert (refused.status, refused.json()["error"]["code"]) == (401, "unauthorized")
