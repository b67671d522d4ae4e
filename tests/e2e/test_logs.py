"""A payment's logs over HTTP: written by the log writer from the payments table's stream, which the
local stack polls in the background, so each test polls the endpoint (bounded) until they are there."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from payments_core.domain import lifecycle
from payments_core.store.payments import DynamoPaymentStore
from tests.e2e.helpers import Client, assert_error, wait_for_logs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def _create(client: Client, who: str = "root", **overrides: Any) -> dict[str, Any]:
    r = client.create(who, **overrides)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _logs(client: Client, payment_id: str, who: str = "root", **params: Any) -> httpx.Response:
    return client.http.get(f"/api/v1/payments/{payment_id}/logs", params=params, headers=client.auth(who))


def test_create_and_cancel_of_a_card_payment_are_logged_newest_first(client: Client) -> None:
    p = _create(client, payment_method="credit_card")
    for _ in range(2):  # the second cancel changes nothing: no entry
        r = client.http.post(f"/api/v1/payments/{p['id']}/cancel", headers=client.auth())
        assert r.status_code == 202, r.text

    data = wait_for_logs(client, p["id"], 2)
    assert data["total"] == 2
    cancelled, created = data["items"]
    assert (cancelled["event_type"], cancelled["status_before"], cancelled["status_after"]) == (
        "cancelled",
        "pending",
        "cancelled",
    )
    assert (created["event_type"], created["status_before"], created["status_after"]) == ("created", None, "pending")
    actor = client.demo["integrations"]["root"]["client_id"]
    for entry in (cancelled, created):
        assert (entry["actor_type"], entry["actor_id"], entry["payment_id"]) == ("integration", actor, p["id"])
        assert isinstance(entry["message"], str)
        assert entry["message"]
        assert entry["id"]
    assert created["id"] != cancelled["id"]
    assert created["created_at"] == p["created_at"]
    assert cancelled["created_at"] >= created["created_at"]

    default = _logs(client, p["id"])  # the default page
    assert default.status_code == 200, default.text
    assert default.headers["content-type"].startswith("application/json")
    assert (default.json()["page"], default.json()["per_page"], default.json()["total"]) == (1, 10, 2)
    assert default.json()["items"] == data["items"]


def test_logs_name_the_integration_that_acted(client: Client) -> None:
    """A child node's payment, created by the child's integration and cancelled by the root's."""
    p = _create(client, "child", payment_method="bank_transfer", node_id=client.demo["nodes"]["child"])
    assert client.http.post(f"/api/v1/payments/{p['id']}/cancel", headers=client.auth("root")).status_code == 202
    items = wait_for_logs(client, p["id"], 2, who="child")["items"]
    ids = client.demo["integrations"]
    assert [(e["event_type"], e["actor_id"]) for e in items] == [
        ("cancelled", ids["root"]["client_id"]),
        ("created", ids["child"]["client_id"]),
    ]


def test_logs_page_newest_first(client: Client, payment_store: DynamoPaymentStore) -> None:
    p = _create(client, payment_method="credit_card")
    record = payment_store.get(p["id"])
    assert record is not None
    changes = 11
    for i in range(changes):  # in-place changes as a worker writes them, one entry each
        record = lifecycle.move(
            payment_store, record, to=None, actor=lifecycle.Actor("system", "e2e"), event_type="retry_sent",
            message=f"#{i}",
        )  # fmt: skip
    everything = wait_for_logs(client, p["id"], changes + 1)["items"]
    assert [e["message"] for e in everything[:-1]] == [f"#{i}" for i in reversed(range(changes))]
    assert everything[-1]["event_type"] == "created"
    assert all(e["actor_type"] == "system" and e["actor_id"] == "e2e" for e in everything[:-1])

    pages = []
    for n in (1, 2, 3, 4):
        r = _logs(client, p["id"], page=n, per_page=5)
        assert r.status_code == 200, r.text
        pages.append(r.json())
    assert [len(pg["items"]) for pg in pages] == [5, 5, 2, 0]
    assert {(pg["per_page"], pg["total"]) for pg in pages} == {(5, changes + 1)}
    assert [pg["page"] for pg in pages] == [1, 2, 3, 4]
    assert [e for pg in pages for e in pg["items"]] == everything

    far = _logs(client, p["id"], page=100_000, per_page=100)
    assert far.status_code == 200, far.text
    assert (far.json()["items"], far.json()["total"]) == ([], changes + 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": 101}, "query.per_page"),
        ({"per_page": 0}, "query.per_page"),
        ({"page": 0}, "query.page"),
        ({"page": 100_001}, "query.page"),
        ({"page": "first"}, "query.page"),
    ],
    ids=["per_page-101", "per_page-0", "page-0", "page-too-far", "page-not-a-number"],
)
def test_logs_paging_out_of_bounds_is_422(client: Client, params: dict[str, Any], field: str) -> None:
    p = _create(client)
    error = assert_error(_logs(client, p["id"], **params), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == [field]


def test_logs_per_page_100_is_the_maximum(client: Client) -> None:
    p = _create(client)
    r = _logs(client, p["id"], per_page=100)
    assert r.status_code == 200, r.text
    assert r.json()["per_page"] == 100


@pytest.mark.parametrize("who", ["other", "child"])
def test_logs_of_a_payment_the_integration_does_not_reach_are_403(client: Client, who: str) -> None:
    p = _create(client)
    assert_error(_logs(client, p["id"], who), 403, "node_access_denied")


@pytest.mark.parametrize("payment_id", [UNKNOWN_ID, "not-a-uuid"])
def test_logs_of_an_unknown_payment_are_404(client: Client, payment_id: str) -> None:
    assert_error(_logs(client, payment_id), 404, "payment_not_found")
