"""NoRamp's prices and triggers through the template's routes and the app authorizer, on moto built from
template.yaml: an app and its key are written to the catalog directly (the app routes are another part's)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from payments_core import deps
from payments_core.domain.entities import App, AppKey, AppOwner, Price
from payments_core.models.triggers import TRIGGER_EXAMPLE
from payments_core.security import app_keys
from tests.integration.helpers import Api

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def make_app(demo: dict[str, Any], suffix: str, app_type: str = "individual") -> tuple[App, str]:
    """An app of the demo's root node and an active API key of it (the key, shown once)."""
    root = demo["nodes"]["root"]
    app = App(
        id="app_" + suffix * 32,
        node_id=root,
        node_path=(root,),
        name=f"App {suffix}",
        type=app_type,
        status="active",
        app_fee=Decimal(0),
        owner=AppOwner("u_1", "owner"),
        created_at="2026-12-07T10:00:00Z",
        updated_at="2026-12-07T10:00:00Z",
    )
    catalog = deps.catalog()
    catalog.put_new(app)
    key = app_keys.new_key()
    catalog.put_new(
        AppKey(id=key.key_id, app_id=app.id, secret_hash=key.secret_hash, created_at="2026-12-07T10:00:00Z")
    )
    return app, key.key


@pytest.fixture
def app_and_key(api: Api) -> tuple[App, str]:
    return make_app(api.demo, "a")


def call(api: Api, method: str, path: str, key: str | None, body: Any = None, **kw: Any) -> Any:
    return api.call(method, path, token=key, json_body=body, **kw)


def test_a_trigger_and_a_price_over_the_api(api: Api, app_and_key: tuple[App, str]) -> None:
    app, key = app_and_key
    r = call(api, "POST", f"/triggers/{app.id}", key, TRIGGER_EXAMPLE)
    assert r.status == 201, r.body
    trigger = r.json()
    assert trigger["id"].startswith("tri_")
    assert trigger["call_data"]["evm"]["args"] == [{"param": "to"}, {"param": "seat"}]

    body = {
        "name": "Seat",
        "amount": "50.00",
        "trigger_id": trigger["id"],
        "trigger_data": {
            "params_data": {
                "to": ADDRESS.lower(),
                "seat": "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            }
        },
        "metadata": {"sku": "a", "n": 1.5},
    }
    r = call(api, "POST", f"/prices/{app.id}", key, body)
    assert r.status == 201, r.body
    price = r.json()
    assert price["amount"] == 50  # a JSON number from Decimal text
    assert re.search(rb'"amount": ?50[,}]', r.body), r.body
    # Canonical values; an integer beyond a DynamoDB number (38 digits) as its decimal text, as stored.
    assert price["trigger_data"]["params_data"] == {"to": ADDRESS, "seat": str(2**256 - 1)}
    assert (price["chain"], price["contract"], price["views"], price["expired"]) == (
        "evm",
        TRIGGER_EXAMPLE["call_data"]["evm"]["contract"],
        0,
        False,
    )
    # The stored price reads back exactly (the uint256 beyond a DynamoDB number kept as text).
    stored = deps.catalog().get(Price, price["id"])
    assert stored is not None
    assert stored.amount == Decimal(50)
    got = call(api, "GET", f"/prices/{app.id}/{price['id']}", key)
    assert got.status == 200
    assert got.json() == price

    r = call(api, "DELETE", f"/triggers/{app.id}/{trigger['id']}", key)
    assert r.status == 409
    assert r.json()["error"]["code"] == "trigger_in_use"
    r = call(api, "DELETE", f"/prices/{app.id}/{price['id']}", key)
    assert r.status == 200, r.body
    assert call(api, "GET", f"/prices/{app.id}/{price['id']}", key).status == 404
    assert call(api, "DELETE", f"/triggers/{app.id}/{trigger['id']}", key).status == 200
    assert call(api, "GET", f"/triggers/{app.id}/{trigger['id']}", key).json()["error"]["code"] == "trigger_not_found"


def test_lists_are_paginated_newest_first_with_exact_totals(api: Api, app_and_key: tuple[App, str]) -> None:
    app, key = app_and_key
    ids = []
    for i in range(5):
        r = call(api, "POST", f"/prices/{app.id}", key, {"name": f"p{i}", "amount": 5 + i})
        assert r.status == 201, r.body
        ids.append(r.json()["id"])
    call(api, "DELETE", f"/prices/{app.id}/{ids[4]}", key)
    first = call(api, "GET", f"/prices/{app.id}", key, query={"page": 1, "per_page": 2}).json()
    second = call(api, "GET", f"/prices/{app.id}", key, query={"page": 2, "per_page": 2}).json()
    assert (first["total"], first["page"], first["per_page"]) == (4, 1, 2)
    assert [p["id"] for p in first["items"] + second["items"]] == [ids[3], ids[2], ids[1], ids[0]]
    r = call(api, "POST", f"/triggers/{app.id}", key, TRIGGER_EXAMPLE)
    listed = call(api, "GET", f"/triggers/{app.id}", key).json()
    assert ([t["id"] for t in listed["items"]], listed["total"]) == ([r.json()["id"]], 1)
    assert call(api, "GET", f"/prices/{app.id}", key, query={"per_page": 101}).status == 422


def test_patch_changes_a_trigger_and_refuses_what_breaks_a_live_price(api: Api, app_and_key: tuple[App, str]) -> None:
    app, key = app_and_key
    trigger = call(api, "POST", f"/triggers/{app.id}", key, TRIGGER_EXAMPLE).json()
    path = f"/triggers/{app.id}/{trigger['id']}"
    r = call(api, "PATCH", path, key, {"name": "Renamed", "wallet_id": "wal_abcdefgh12345678"})
    assert r.status == 200, r.body
    assert (r.json()["name"], r.json()["wallet_id"]) == ("Renamed", "wal_abcdefgh12345678")
    price = call(
        api,
        "POST",
        f"/prices/{app.id}",
        key,
        {"name": "p", "amount": 5, "trigger_id": trigger["id"], "trigger_data": {"params_data": {"seat": 300}}},
    )
    assert price.status == 201, price.body
    narrower = json.loads(json.dumps(TRIGGER_EXAMPLE))
    narrower["params_data"]["seat"]["type"] = "uint8"
    narrower["call_data"]["evm"]["function"]["inputs"][1]["type"] = "uint8"
    r = call(api, "PATCH", path, key, {"params_data": narrower["params_data"], "call_data": narrower["call_data"]})
    assert r.status == 409, r.body
    assert r.json()["error"]["code"] == "trigger_in_use"
    r = call(api, "PATCH", path, key, {"call_data": {"evm": {**TRIGGER_EXAMPLE["call_data"]["evm"], "args": []}}})
    assert r.status == 422
    assert r.json()["error"]["details"][0]["code"] == "args_mismatch"


def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(api: Api, app_and_key: tuple[App, str]) -> None:
    app, key = app_and_key
    cases = [
        ({"name": "p", "amount": "5.001"}, "body.amount", "too_many_decimals"),
        ({"name": "p", "amount": 500.5, "currency": "jpy"}, "body.amount", "too_many_decimals"),
        ({"name": "p", "amount": 5, "currency": "USD"}, "body.currency", "invalid_currency"),
        ({"name": "p", "amount": 4}, "body.amount", "amount_too_small"),
        ({"name": "p", "amount": 5, "trigger_id": "tri_" + "0" * 32}, "body.trigger_id", "trigger_not_found"),
        ({"name": "p", "amount": 5, "kyc_id": "kyc_1"}, "body.kyc_id", "kyc_not_allowed"),
        ({"name": "p", "amount": "1e999999999"}, "body.amount", "decimal_parsing"),
    ]
    for body, field, code in cases:
        r = call(api, "POST", f"/prices/{app.id}", key, body)
        assert r.status == 422, (body, r.body)
        details = r.json()["error"]["details"]
        assert (field, code) in [(d["field"], d["code"]) for d in details], (body, details)
    r = call(api, "POST", f"/prices/{app.id}", key, raw_body="{not json")
    assert r.status == 422
    r = call(api, "POST", f"/prices/{app.id}", key, raw_body='{"name": "p", "amount": 5, "metadata": {"n": 1e999}}')
    assert r.status == 422, r.body  # a number no DynamoDB item holds: refused, never a 5xx
    assert [(d["field"], d["code"]) for d in r.json()["error"]["details"]] == [("body.metadata", "amount_too_large")]
    trigger_cases = [
        ({**TRIGGER_EXAMPLE, "wallet_id": "0x12"}, "body.wallet_id"),
        ({**TRIGGER_EXAMPLE, "call_data": {}}, "body.call_data"),
        ({**TRIGGER_EXAMPLE, "params_data": {"to": {"type": "uint7"}}}, "body.params_data.to.type"),
    ]
    for body, field in trigger_cases:
        r = call(api, "POST", f"/triggers/{app.id}", key, body)
        assert r.status == 422, (body, r.body)
        assert field in [d["field"] for d in r.json()["error"]["details"]], r.body
    listed = call(api, "GET", f"/prices/{app.id}", key).json()
    assert listed["total"] == 0
    assert call(api, "GET", f"/triggers/{app.id}", key).json()["total"] == 0


def test_who_reaches_an_apps_prices(api: Api, app_and_key: tuple[App, str]) -> None:
    app, key = app_and_key
    other, other_key = make_app(api.demo, "b")
    price = call(api, "POST", f"/prices/{app.id}", key, {"name": "p", "amount": 5}).json()
    # Another app's key: 404 app_not_found, as an unknown app (indistinguishable).
    for path in (f"/prices/{app.id}", f"/prices/{app.id}/{price['id']}", f"/triggers/{app.id}"):
        r = call(api, "GET", path, other_key)
        assert r.status == 404
        assert r.json()["error"]["code"] == "app_not_found"
    r = call(api, "GET", f"/prices/{other.id}/{price['id']}", other_key)
    assert r.json()["error"]["code"] == "price_not_found"
    # An integrator JWT of the app's node (or above) reaches it; the child node's integration does not.
    root = call(api, "GET", f"/prices/{app.id}/{price['id']}", api.token("root"))
    assert root.status == 200, root.body
    child = call(api, "GET", f"/prices/{app.id}", api.token("child"))
    assert child.status == 404
    # No credentials, a malformed or wrong key: 401, never a 5xx.
    assert call(api, "GET", f"/prices/{app.id}", None).status == 401
    assert call(api, "GET", f"/prices/{app.id}", key[:-1] + ("A" if key[-1] != "A" else "B")).status == 401
    r = api.gateway.request("GET", f"/prices/{app.id}", headers={"x-api-key": key})
    assert r.status == 200
    # A method the resource lacks: 405 with its Allow.
    r = call(api, "PUT", f"/prices/{app.id}", key, {})
    assert r.status == 405
    assert r.headers.get("Allow") == "GET, POST"


def test_a_marketplace_price_names_its_kyc(api: Api) -> None:
    app, key = make_app(api.demo, "c", app_type="marketplace")
    r = call(api, "POST", f"/prices/{app.id}", key, {"name": "p", "amount": 5})
    assert r.status == 422
    assert r.json()["error"]["details"][0]["field"] == "body.kyc_id"
    r = call(api, "POST", f"/prices/{app.id}", key, {"name": "p", "amount": 5, "kyc_id": "kyc_seller1"})
    assert r.status == 201, r.body
    assert r.json()["kyc_id"] == "kyc_seller1"
