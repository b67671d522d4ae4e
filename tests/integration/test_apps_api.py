"""NoRamp's app API through the in-process gateway (the template's routes and authorizers, moto): apps CRUD,
API keys (created once, listed without the key, revoked), and the app authorizer on GET /apps/{app_id}: a key
in each of NoRamp's forms, a wrong secret, an unknown key id, a revoked key, another app's key, a JWT, a
malformed header (401, never a 5xx)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from devstack import lambdas
from payments_core import deps
from payments_core.domain.entities import App, AppKey
from tests.integration.helpers import Api

THEME = {
    "name": "Light",
    "styles": {
        "colors": {
            "primary": "#1a2b3c",
            "background": "#ffffff",
            "text": "#111111",
            "accent": "rgb(255, 102, 0)",
            "alternativeBackground": "#f4f4f4",
            "info": "navy",
        }
    },
    "visibility": "private",
}


def create_app(api: Api, token: str, who: str = "root", **fields: Any) -> dict[str, Any]:
    body = {"node_id": api.demo["nodes"][who], "name": "Demo shop", **fields}
    r = api.call("POST", "/apps", token=token, json_body=body)
    assert r.status == 201, r.body
    created: dict[str, Any] = r.json()
    return created


def create_key(api: Api, token: str, app_id: str, name: str | None = "backend") -> dict[str, Any]:
    r = api.call("POST", f"/apps/{app_id}/keys", token=token, json_body={"name": name} if name else None)
    assert r.status == 201, r.body
    created: dict[str, Any] = r.json()
    return created


def get_with(api: Api, app_id: str, headers: dict[str, str]) -> Any:
    return api.gateway.request("GET", f"/apps/{app_id}", headers=headers)


def test_an_app_is_created_read_changed_and_deleted(api: Api) -> None:
    token = api.token()
    app = create_app(
        api, token, type="marketplace", app_fee="2.50", theme=THEME, kyc_return_url="https://shop.example/kyc"
    )
    assert app["id"].startswith("app_")
    assert len(app["id"]) == 36
    assert app["status"] == "draft"
    assert app["type"] == "marketplace"
    assert app["app_fee"] == Decimal("2.5")
    assert app["theme"]["id"].startswith("thm_")
    assert app["theme"]["visibility"] == "private"
    assert app["theme"]["styles"]["colors"] == THEME["styles"]["colors"]  # type: ignore[index]
    assert app["user"] == {
        "id": api.demo["integrations"]["root"]["client_id"],
        "username": "Demo root",
        "first_name": None,
        "last_name": None,
    }
    assert app["permissions"] == {"can_view": True, "can_edit": True, "can_delete": True, "can_edit_members": True}
    assert app["is_member"] is True
    stored = deps.catalog().get(App, app["id"])
    assert stored is not None
    assert stored.node_id == api.demo["nodes"]["root"]

    assert api.call("GET", f"/apps/{app['id']}", token=token).json() == app

    r = api.call(
        "PATCH",
        f"/apps/{app['id']}",
        token=token,
        json_body={"status": "active", "app_fee": 1, "theme": {**THEME, "name": "Dark"}},
    )
    assert r.status == 200, r.body
    changed = r.json()
    assert (changed["status"], changed["app_fee"], changed["name"]) == ("active", 1, "Demo shop")
    assert changed["theme"]["id"] == app["theme"]["id"]
    assert changed["theme"]["name"] == "Dark"
    assert changed["updated_at"] > app["updated_at"]
    assert api.call("GET", f"/apps/{app['id']}", token=token).json() == changed

    r = api.call("DELETE", f"/apps/{app['id']}", token=token)
    assert r.status == 200
    assert r.json()["status"] == "deleted"
    for method in ("GET", "PATCH", "DELETE"):
        r = api.call(method, f"/apps/{app['id']}", token=token, json_body={} if method == "PATCH" else None)
        assert (r.status, r.json()["error"]["code"]) == (404, "app_not_found"), method
    stored = deps.catalog().get(App, app["id"])
    assert stored is not None  # the entry stays
    assert stored.status == "deleted"


def test_an_app_of_a_node_the_integration_does_not_reach(api: Api) -> None:
    child = api.token("child")
    r = api.call("POST", "/apps", token=child, json_body={"node_id": api.demo["nodes"]["root"], "name": "x"})
    assert (r.status, r.json()["error"]["code"]) == (403, "node_access_denied")
    r = api.call(
        "POST", "/apps", token=child, json_body={"node_id": "00000000-0000-4000-8000-000000000001", "name": "x"}
    )
    assert (r.status, r.json()["error"]["code"]) == (404, "node_not_found")

    # The root integration reaches the child's app (a node above): it manages it without being a member.
    app = create_app(api, child, who="child")
    assert app["is_member"] is True
    seen = api.call("GET", f"/apps/{app['id']}", token=api.token()).json()
    assert seen["is_member"] is False
    assert seen["permissions"]["can_edit"] is True
    r = api.call("GET", f"/apps/{app['id']}", token=api.token("other"))
    assert (r.status, r.json()["error"]["code"]) == (404, "app_not_found")
    r = api.call("PATCH", f"/apps/{app['id']}", token=api.token("other"), json_body={"name": "mine"})
    assert r.status == 404


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"app_fee": 2.555}, "body.app_fee", "too_many_decimals"),
        ({"app_fee": "101"}, "body.app_fee", "less_than_equal"),
        ({"app_fee": -1}, "body.app_fee", "greater_than_equal"),
        ({"app_fee": "1e2"}, "body.app_fee", "decimal_parsing"),
        ({"app_fee": True}, "body.app_fee", "decimal_type"),
        ({"status": "deleted"}, "body.status", "literal_error"),
        ({"type": "shop"}, "body.type", "enum"),
        ({"name": ""}, "body.name", "string_too_short"),
        ({"kyc_return_url": "ftp://x"}, "body.kyc_return_url", "string_pattern_mismatch"),
        (
            {"theme": {**THEME, "styles": {"colors": {"primary": "#12"}}}},
            "body.theme.styles.colors.primary",
            "colour_invalid",
        ),
        ({"featured": "yes"}, "body.featured", "bool_type"),
        ({"owner": "me"}, "body.owner", "extra_forbidden"),
    ],
)
def test_a_bad_app_body_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str, code: str) -> None:
    before = deps.catalog().list(App)  # the demo's app
    r = api.call(
        "POST", "/apps", token=api.token(), json_body={"node_id": api.demo["nodes"]["root"], "name": "x", **body}
    )
    assert r.status == 422, r.body
    details = r.json()["error"]["details"]
    assert any((d["field"], d["code"]) == (field, code) for d in details), details
    assert deps.catalog().list(App) == before  # nothing written


def test_patch_refuses_null_and_node_id_and_keeps_what_it_does_not_name(api: Api) -> None:
    token = api.token()
    app = create_app(api, token, kyc_return_url="https://shop.example/kyc", theme=THEME)
    for body, field in (({"name": None}, "body.name"), ({"node_id": api.demo["nodes"]["root"]}, "body.node_id")):
        r = api.call("PATCH", f"/apps/{app['id']}", token=token, json_body=body)
        assert r.status == 422, r.body
        assert [d["field"] for d in r.json()["error"]["details"]] == [field]
    unchanged = api.call("PATCH", f"/apps/{app['id']}", token=token, json_body={})
    assert unchanged.json() == app
    r = api.call("PATCH", f"/apps/{app['id']}", token=token, json_body={"kyc_return_url": None, "theme": None})
    assert (r.json()["kyc_return_url"], r.json()["theme"], r.json()["name"]) == (None, None, "Demo shop")


def test_keys_are_shown_once_listed_without_the_key_and_revoked(api: Api) -> None:
    token = api.token()
    app = create_app(api, token)
    first = create_key(api, token, app["id"])
    second = create_key(api, token, app["id"], name=None)
    assert first["key"].startswith(f"nrk_{first['id'].removeprefix('key_')}_")
    assert (first["status"], first["name"], first["revoked_at"], second["name"]) == ("active", "backend", None, None)
    stored = deps.catalog().get(AppKey, first["id"])
    assert stored is not None  # only the hash
    assert first["key"].rsplit("_", 1)[-1] not in repr(stored)

    listed = api.call("GET", f"/apps/{app['id']}/keys", token=token, query={"per_page": 1})
    assert listed.status == 200
    page = listed.json()
    assert (page["total"], page["per_page"], [k["id"] for k in page["items"]]) == (2, 1, [second["id"]])
    assert "key" not in page["items"][0]

    r = api.call("DELETE", f"/apps/{app['id']}/keys/{first['id']}", token=token)
    assert r.status == 200, r.body
    revoked = r.json()
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"]
    again = api.call("DELETE", f"/apps/{app['id']}/keys/{first['id']}", token=token)
    assert again.json() == revoked
    assert get_with(api, app["id"], {"x-api-key": first["key"]}).status == 401
    assert get_with(api, app["id"], {"x-api-key": second["key"]}).status == 200

    other = create_app(api, token)
    r = api.call("DELETE", f"/apps/{other['id']}/keys/{second['id']}", token=token)
    assert (r.status, r.json()["error"]["code"]) == (404, "app_key_not_found")
    r = api.call("DELETE", f"/apps/{app['id']}/keys/nope", token=token)
    assert (r.status, r.json()["error"]["code"]) == (404, "app_key_not_found")
    r = api.call("POST", f"/apps/{app['id']}/keys", token=api.token("other"))
    assert (r.status, r.json()["error"]["code"]) == (404, "app_not_found")


def test_the_app_authorizer_on_get_app(api: Api) -> None:
    token = api.token()
    app = create_app(api, token)
    other = create_app(api, token)
    key = create_key(api, token, app["id"])["key"]
    other_key = create_key(api, token, other["id"])["key"]
    basic = base64.b64encode(f"{key}:".encode()).decode()
    for headers in (
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": f"Basic {basic}"},
        {"x-api-key": key},
    ):
        r = get_with(api, app["id"], headers)
        assert r.status == 200, (headers, r.body)
        seen = r.json()
        assert seen["permissions"] == {
            "can_view": True,
            "can_edit": False,
            "can_delete": False,
            "can_edit_members": False,
        }
        assert seen["is_member"] is True
        assert seen["id"] == app["id"]
    # Another app's key: 404, as an app it cannot see.
    r = get_with(api, app["id"], {"x-api-key": other_key})
    assert (r.status, r.json()["error"]["code"]) == (404, "app_not_found")
    # The key on a JWT-only route: 401 (the integrator authorizer's expression refuses it).
    assert api.gateway.request("PATCH", f"/apps/{app['id']}", headers={"Authorization": f"Bearer {key}"}).status == 401
    # A wrong secret, an unknown key id, a malformed header, nothing at all: 401 in the error shape.
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown = "nrk_" + "0" * 16 + key[20:]
    for headers in (
        {"x-api-key": wrong},
        {"x-api-key": unknown},
        {"x-api-key": "nrk_short"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest x"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {},
    ):
        r = get_with(api, app["id"], headers)
        assert r.status == 401, (headers, r.body)
        assert r.json()["error"]["code"] == "unauthorized"


def test_the_app_sample_events(api: Api) -> None:
    """The sample events name an app the stack does not have: 404, never a 5xx."""
    from tests.integration.test_events import as_integration, load_event, with_body

    for function in (
        "GetAppFunction",
        "UpdateAppFunction",
        "DeleteAppFunction",
        "CreateAppKeyFunction",
        "ListAppKeysFunction",
        "RevokeAppKeyFunction",
    ):
        event = load_event(function)
        if function != "GetAppFunction":
            event = as_integration(event, api.demo)
        response = lambdas.invoke(function, event)
        assert response["statusCode"] == 404, (function, response["body"])
    sample = as_integration(load_event("CreateAppFunction"), api.demo)
    unknown = lambdas.invoke("CreateAppFunction", sample)
    assert unknown["statusCode"] == 404  # the sample's node is not the demo's
    assert "node_not_found" in unknown["body"]
    created = lambdas.invoke("CreateAppFunction", with_body(sample, node_id=api.demo["nodes"]["root"]))
    assert created["statusCode"] == 201, created["body"]
    assert json.loads(created["body"])["theme"]["name"] == "Light"


def test_an_integrator_jwt_opens_get_app_through_the_app_authorizer(api: Api) -> None:
    """The first JWT this stack verifies is the app authorizer's (the app made directly): it loads the JWKS
    itself, and the integration's principal reaches the app of its node."""
    from payments_core.domain import apps

    app = apps.create_app(deps.catalog(), node_id=api.demo["nodes"]["child"], name="Direct")
    r = get_with(api, app.id, {"Authorization": f"Bearer {api.token('child')}"})
    assert r.status == 200, r.body
    assert r.json()["is_member"] is True
    assert r.json()["user"] == {
        "id": api.demo["nodes"]["child"],
        "username": "Demo child",
        "first_name": None,
        "last_name": None,
    }
    r = get_with(api, app.id, {"Authorization": f"Bearer {api.token('other')}"})
    assert (r.status, r.json()["error"]["code"]) == (404, "app_not_found")
