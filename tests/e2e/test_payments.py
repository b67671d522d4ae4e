"""Payments over HTTP: create, get, list, duplicates, node access and unknown references."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from payments_core.domain import catalog as admin
from payments_core.domain.entities import Node
from payments_core.store.catalog import DynamoCatalogStore
from payments_core.store.rpc_urls import RpcUrlStore
from tests.e2e.helpers import Client, assert_error

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _list(client: Client, who: str = "root", **params: Any) -> httpx.Response:
    return client.http.get(
        "/api/v1/payments", params={k: v for k, v in params.items() if v is not None}, headers=client.auth(who)
    )


# ---------------------------------------------------------------------------------------- create
def test_create_web3_payment(client: Client) -> None:
    body = client.payment_body(wallet_id=client.demo["wallet_id"])
    r = client.http.post("/api/v1/payments", json=body, headers=client.auth("root"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    p = r.json()
    uuid.UUID(p["id"])
    for field in ("external_id", "node_id", "network_id", "currency_id", "wallet_id", "payment_address"):
        assert p[field] == body[field], field
    assert p["price"] == 100.5
    assert p["paid_price"] == 100.5
    assert '"price": 100.5' in r.text or '"price":100.5' in r.text  # a JSON number, exactly as sent
    assert p["payment_method"] == "web3"
    assert p["payment_group"] == "product"
    assert p["status"] == "pending"
    assert isinstance(p["access_token"], str)
    assert p["access_token"]
    assert p["retry"] is False
    assert p["retry_count"] == 0
    assert p["created_at"]
    assert p["updated_at"]
    assert p["expires_at"]


def test_price_keeps_its_exact_decimal_value(client: Client) -> None:
    r = client.create(price=0.000001, paid_price=0.000001)
    assert r.status_code == 201, r.text
    assert Decimal(str(r.json()["price"])) == Decimal("0.000001")


def test_get_payment_by_id(client: Client) -> None:
    created = client.create().json()
    r = client.http.get(f"/api/v1/payments/{created['id']}", headers=client.auth("root"))
    assert r.status_code == 200, r.text
    assert r.json() == created


@pytest.mark.parametrize("payment_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_get_unknown_payment_is_404(client: Client, payment_id: str) -> None:
    assert_error(client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth("root")), 404)


def test_duplicate_external_id_is_409_with_the_existing_payment_id(client: Client) -> None:
    body = client.payment_body()
    first = client.http.post("/api/v1/payments", json=body, headers=client.auth("root"))
    assert first.status_code == 201, first.text
    again = client.http.post("/api/v1/payments", json=body, headers=client.auth("root"))
    error = assert_error(again, 409, "payment_already_exists")
    assert error["payment_id"] == first.json()["id"]


def test_same_external_id_on_another_node_is_fine(client: Client) -> None:
    external_id = f"shared-{uuid.uuid4().hex[:8]}"
    assert client.create(external_id=external_id).status_code == 201
    child = client.create(external_id=external_id, node_id=client.demo["nodes"]["child"])
    assert child.status_code == 201, child.text


def test_invalid_body_is_422_with_details(client: Client) -> None:
    r = client.create(price="abc")
    error = assert_error(r, 422, "validation_error")
    assert any("price" in d["field"] for d in error["details"])


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/auth/token"])
def test_body_that_is_not_utf8_is_422(client: Client, path: str) -> None:
    headers = {"Content-Type": "application/json", **client.auth("root")}
    assert_error(client.http.post(path, content=b"\xff\xfe{}", headers=headers), 422, "validation_error")


# ------------------------------------------------------------------------------------------ list
@pytest.fixture
def listed(client: Client, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore, fresh_node: Node) -> dict[str, Any]:
    """Three payments of a fresh node: two on the demo network (one with a wallet), one on another."""
    chain = admin.create_chain(catalog, "e2e chain")
    network2 = admin.create_network(
        catalog, rpc_urls, chain_id=chain.id, name="e2e net", evm_chain_id=1, rpc_url="http://x"
    )
    wallet = admin.create_wallet(
        catalog, node_id=fresh_node.id, network_id=client.demo["network_id"], address="0x" + "1" * 40
    )
    node = fresh_node.id
    with_wallet = client.create(node_id=node, wallet_id=wallet.id).json()
    plain = client.create(node_id=node).json()
    elsewhere = client.create(node_id=node, network_id=network2.id, payment_method="bank_transfer")
    assert elsewhere.status_code == 201, elsewhere.text
    return {
        "node": node,
        "wallet": wallet.id,
        "network2": network2.id,
        "ids": [elsewhere.json()["id"], plain["id"], with_wallet["id"]],  # newest first
    }


def test_list_newest_first_with_exact_total(client: Client, listed: dict[str, Any]) -> None:
    r = _list(client, node_id=listed["node"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["page"] == 1
    assert body["per_page"] == 10
    assert body["total"] == 3
    assert [p["id"] for p in body["items"]] == listed["ids"]


def test_list_pagination(client: Client, listed: dict[str, Any]) -> None:
    pages = [_list(client, node_id=listed["node"], per_page=2, page=n).json() for n in (1, 2, 3)]
    assert [[p["id"] for p in page["items"]] for page in pages] == [listed["ids"][:2], listed["ids"][2:], []]
    assert {page["total"] for page in pages} == {3}
    assert [(page["page"], page["per_page"]) for page in pages] == [(1, 2), (2, 2), (3, 2)]


def test_list_filters(client: Client, listed: dict[str, Any]) -> None:
    node, ids = listed["node"], listed["ids"]
    demo_net = client.demo["network_id"]

    def ids_of(**params: Any) -> tuple[list[str], int]:
        body = _list(client, node_id=node, **params).json()
        return [p["id"] for p in body["items"]], body["total"]

    assert ids_of(wallet_id=listed["wallet"]) == ([ids[2]], 1)
    assert ids_of(network_id=demo_net) == (ids[1:], 2)
    assert ids_of(network_id=listed["network2"]) == ([ids[0]], 1)
    assert ids_of(wallet_id=listed["wallet"], network_id=demo_net) == ([ids[2]], 1)
    assert ids_of(wallet_id=listed["wallet"], network_id=listed["network2"]) == ([], 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"node_id": "not-a-uuid"}, "node_id"),
        ({"wallet_id": "nope"}, "wallet_id"),
    ],
)
def test_list_bad_query_is_422(client: Client, params: dict[str, Any], field: str) -> None:
    error = assert_error(_list(client, **{"node_id": client.demo["nodes"]["root"], **params}), 422, "validation_error")
    assert any(field in d["field"] for d in error["details"]), error


def test_list_without_node_is_422(client: Client) -> None:
    assert_error(_list(client), 422, "validation_error")


# ---------------------------------------------------------------------------------- node access
def test_child_integration_cannot_create_on_root_node(client: Client) -> None:
    assert_error(client.create("child", node_id=client.demo["nodes"]["root"]), 403, "node_access_denied")


def test_child_integration_cannot_list_root_node(client: Client) -> None:
    assert_error(_list(client, "child", node_id=client.demo["nodes"]["root"]), 403, "node_access_denied")


def test_other_integration_cannot_get_root_payment(client: Client) -> None:
    payment = client.create().json()
    r = client.http.get(f"/api/v1/payments/{payment['id']}", headers=client.auth("other"))
    assert_error(r, 403, "node_access_denied")


def test_other_integration_cannot_create_or_list_on_child(client: Client) -> None:
    child = client.demo["nodes"]["child"]
    assert_error(client.create("other", node_id=child), 403, "node_access_denied")
    assert_error(_list(client, "other", node_id=child), 403, "node_access_denied")


def test_root_integration_reaches_child_node(client: Client) -> None:
    child = client.demo["nodes"]["child"]
    created = client.create("root", node_id=child)
    assert created.status_code == 201, created.text
    listing = _list(client, "root", node_id=child)
    assert listing.status_code == 200
    assert created.json()["id"] in [p["id"] for p in listing.json()["items"]]
    # ... and the child's own integration sees it too.
    own = client.http.get(f"/api/v1/payments/{created.json()['id']}", headers=client.auth("child"))
    assert own.status_code == 200, own.text


# ------------------------------------------------------------------------------ unknown entries
@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("node_id", "node_not_found"),
        ("currency_id", "currency_not_found"),
        ("network_id", "network_not_found"),
        ("wallet_id", "wallet_not_found"),
    ],
)
def test_create_with_unknown_reference_is_404(client: Client, field: str, code: str) -> None:
    error = assert_error(client.create(**{field: str(uuid.uuid4())}), 404, code)
    assert any(d["field"] == f"body.{field}" for d in error["details"]), error


def test_list_unknown_node_is_404(client: Client) -> None:
    assert_error(_list(client, node_id=str(uuid.uuid4())), 404, "node_not_found")
