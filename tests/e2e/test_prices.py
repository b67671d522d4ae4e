"""NoRamp's prices and triggers on the running local stack, over HTTP: an app and its API key are written to the
stack's catalog (the app routes are another part's), then everything goes through the gateway and the app
authorizer, in each of NoRamp's key forms."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.launch import LocalStackInfo
from payments_core.domain.entities import App, AppKey, AppOwner
from payments_core.models.triggers import TRIGGER_EXAMPLE
from payments_core.security import app_keys
from payments_core.store.catalog import DynamoCatalogStore
from tests.e2e.helpers import Client, assert_error

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def new_app(catalog: DynamoCatalogStore, demo: dict[str, Any], app_type: str = "individual") -> tuple[str, str]:
    root = demo["nodes"]["root"]
    app_id = f"app_{uuid.uuid4().hex}"
    catalog.put_new(
        App(app_id, root, (root,), "E2E app", app_type, "active", Decimal(0), AppOwner("u_e2e", "e2e"),
            created_at="2026-12-07T10:00:00Z", updated_at="2026-12-07T10:00:00Z")
    )  # fmt: skip
    key = app_keys.new_key()
    catalog.put_new(
        AppKey(id=key.key_id, app_id=app_id, secret_hash=key.secret_hash, created_at="2026-12-07T10:00:00Z")
    )
    return app_id, key.key


@pytest.fixture
def app(catalog: DynamoCatalogStore, stack: LocalStackInfo) -> tuple[str, str]:
    return new_app(catalog, stack.demo)


def test_prices_and_triggers_end_to_end(http: httpx.Client, app: tuple[str, str]) -> None:
    app_id, key = app
    bearer = {"Authorization": f"Bearer {key}"}
    r = http.post(f"/triggers/{app_id}", json=TRIGGER_EXAMPLE, headers={"x-api-key": key})
    assert r.status_code == 201, r.text
    trigger = r.json()
    body = {
        "name": "Seat A1",
        "amount": "50.00",
        "currency": "usd",
        "trigger_id": trigger["id"],
        "trigger_data": {"params_data": {"to": ADDRESS, "seat": 1}},
    }
    r = http.post(f"/prices/{app_id}", json=body, headers={"Authorization": f"Basic {key}"})
    assert r.status_code == 201, r.text
    price = r.json()
    assert (price["amount"], price["currency"], price["chain"], price["views"]) == (50, "usd", "evm", 0)
    assert price["trigger_data"] == {"params_data": {"to": ADDRESS, "seat": 1}}
    standard_basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    got = http.get(f"/prices/{app_id}/{price['id']}", headers=standard_basic)
    assert got.status_code == 200, got.text
    assert got.json() == price
    listed = http.get(f"/prices/{app_id}", params={"per_page": 5}, headers=bearer).json()
    assert ([p["id"] for p in listed["items"]], listed["total"]) == ([price["id"]], 1)

    assert_error(http.delete(f"/triggers/{app_id}/{trigger['id']}", headers=bearer), 409, "trigger_in_use")
    patched = http.patch(f"/triggers/{app_id}/{trigger['id']}", json={"name": "Mint v2"}, headers=bearer)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Mint v2"
    assert http.delete(f"/prices/{app_id}/{price['id']}", headers=bearer).status_code == 200
    assert_error(http.get(f"/prices/{app_id}/{price['id']}", headers=bearer), 404, "price_not_found")
    assert http.get(f"/prices/{app_id}", headers=bearer).json()["total"] == 0
    assert http.delete(f"/triggers/{app_id}/{trigger['id']}", headers=bearer).status_code == 200
    assert_error(http.get(f"/triggers/{app_id}/{trigger['id']}", headers=bearer), 404, "trigger_not_found")


def test_bad_prices_are_422_naming_the_field(http: httpx.Client, app: tuple[str, str]) -> None:
    app_id, key = app
    bearer = {"Authorization": f"Bearer {key}"}
    for body, field, code in [
        ({"name": "p", "amount": "5.001"}, "body.amount", "too_many_decimals"),
        ({"name": "p", "amount": 1000.5, "currency": "jpy"}, "body.amount", "too_many_decimals"),
        ({"name": "p", "amount": 5, "currency": "EUR"}, "body.currency", "invalid_currency"),
        ({"name": "p", "amount": 5, "trigger_id": "tri_" + "f" * 32}, "body.trigger_id", "trigger_not_found"),
    ]:
        error = assert_error(http.post(f"/prices/{app_id}", json=body, headers=bearer), 422, "validation_error")
        assert (field, code) in [(d["field"], d["code"]) for d in error["details"]], error


def test_who_reaches_an_apps_prices(
    http: httpx.Client, client: Client, catalog: DynamoCatalogStore, stack: LocalStackInfo, app: tuple[str, str]
) -> None:
    app_id, key = app
    _, other_key = new_app(catalog, stack.demo)
    created = http.post(f"/prices/{app_id}", json={"name": "p", "amount": 5}, headers={"x-api-key": key})
    assert created.status_code == 201, created.text
    assert_error(http.get(f"/prices/{app_id}", headers={"x-api-key": other_key}), 404, "app_not_found")
    assert http.get(f"/prices/{app_id}", headers=client.auth("root")).status_code == 200
    assert_error(http.get(f"/prices/{app_id}", headers=client.auth("other")), 404, "app_not_found")
    assert http.get(f"/prices/{app_id}").status_code == 401
    wrong = key[:-1] + ("B" if key.endswith("A") else "A")
    assert http.get(f"/prices/{app_id}", headers={"x-api-key": wrong}).status_code == 401
    r = http.put(f"/triggers/{app_id}", headers={"x-api-key": key})
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, POST"
