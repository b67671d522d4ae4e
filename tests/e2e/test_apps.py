"""NoRamp's app API over HTTP on the local stack: apps CRUD, API keys in all three forms on GET /apps/{id}, a
revoked key 401, another app's key 404, a JWT-only route refusing a key."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.e2e.helpers import Client, assert_error

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _app(client: Client, who: str = "root", **fields: Any) -> dict[str, Any]:
    body = {"node_id": client.demo["nodes"][who], "name": "E2E shop", **fields}
    r = client.http.post("/apps", json=body, headers=client.auth(who))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _key(client: Client, app_id: str) -> dict[str, Any]:
    r = client.http.post(f"/apps/{app_id}/keys", json={"name": "e2e"}, headers=client.auth())
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_an_app_is_created_read_updated_and_deleted(client: Client) -> None:
    app = _app(client, type="marketplace", app_fee="3.25", use_explorer=True)
    assert (app["type"], app["status"], app["app_fee"], app["use_explorer"]) == ("marketplace", "draft", 3.25, True)
    assert '"app_fee":3.25' in client.http.get(f"/apps/{app['id']}", headers=client.auth()).text.replace(" ", "")
    r = client.http.patch(f"/apps/{app['id']}", json={"status": "active", "featured": True}, headers=client.auth())
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["featured"], r.json()["name"]) == ("active", True, "E2E shop")
    assert client.http.get(f"/apps/{app['id']}", headers=client.auth()).json() == r.json()
    assert_error(client.http.patch(f"/apps/{app['id']}", json={"app_fee": 0.5}, headers={}), 401)

    deleted = client.http.delete(f"/apps/{app['id']}", headers=client.auth())
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "deleted"
    assert_error(client.http.get(f"/apps/{app['id']}", headers=client.auth()), 404, "app_not_found")
    assert_error(client.http.delete(f"/apps/{app['id']}", headers=client.auth()), 404, "app_not_found")


def test_bad_input_is_a_4xx_in_the_error_shape(client: Client) -> None:
    node = client.demo["nodes"]["root"]
    error = assert_error(
        client.http.post("/apps", json={"node_id": node, "name": "x", "app_fee": 2.555}, headers=client.auth()), 422
    )
    assert [d["field"] for d in error["details"]] == ["body.app_fee"]
    assert_error(
        client.http.post("/apps", content=b"{", headers={**client.auth(), "Content-Type": "application/json"}), 422
    )
    other = client.demo["nodes"]["other"]
    assert_error(
        client.http.post("/apps", json={"node_id": other, "name": "x"}, headers=client.auth()),
        403,
        "node_access_denied",
    )
    assert_error(client.http.put("/apps", json={}, headers=client.auth()), 405, "method_not_allowed")
    assert_error(client.http.get("/apps/not-an-app", headers=client.auth()), 404, "app_not_found")


def test_a_key_in_each_form_reads_its_app_and_a_revoked_key_is_refused(client: Client) -> None:
    app = _app(client)
    created = _key(client, app["id"])
    key = created["key"]
    listed = client.http.get(f"/apps/{app['id']}/keys", headers=client.auth()).json()
    assert [k["id"] for k in listed["items"]] == [created["id"]]
    assert key not in str(listed)

    basic = base64.b64encode(f"{key}:".encode()).decode()
    for headers in (
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": f"Basic {basic}"},
        {"x-api-key": key},
    ):
        r = client.http.get(f"/apps/{app['id']}", headers=headers)
        assert r.status_code == 200, (headers, r.text)
        assert r.json()["permissions"]["can_view"] is True
        assert r.json()["permissions"]["can_edit"] is False
    # The key opens no JWT route, not even its app's.
    assert_error(client.http.delete(f"/apps/{app['id']}", headers={"Authorization": f"Bearer {key}"}), 401)
    assert_error(client.http.get(f"/apps/{app['id']}", headers={"x-api-key": key[:-2] + "xx"}), 401, "unauthorized")

    revoked = client.http.delete(f"/apps/{app['id']}/keys/{created['id']}", headers=client.auth())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert_error(client.http.get(f"/apps/{app['id']}", headers={"x-api-key": key}), 401, "unauthorized")


def test_another_apps_key_is_answered_404(client: Client) -> None:
    mine, theirs = _app(client), _app(client)
    key = _key(client, theirs["id"])["key"]
    assert_error(client.http.get(f"/apps/{mine['id']}", headers={"x-api-key": key}), 404, "app_not_found")
    assert client.http.get(f"/apps/{theirs['id']}", headers={"x-api-key": key}).status_code == 200
    # An integration of an unrelated node: 404 too (an app's existence is not told).
    assert_error(client.http.get(f"/apps/{mine['id']}", headers=client.auth("other")), 404, "app_not_found")
