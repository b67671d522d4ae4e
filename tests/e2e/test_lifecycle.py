"""Cancel and retry-send over HTTP on the local stack: every answer, the deal queues, and races.

Three groups (the helpers here serve test_lifecycle_queues too):
- card and bank payments, refusals, access: nothing but the API touches these payments;
- web3 with quiet deal queues: in test_lifecycle_queues (on a second stack without chain workers);
- web3 with the chain workers and anvil (`chain_workers`): the deal really is created and cancelled.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from payments_core.store.payments import DynamoPaymentStore
from tests.e2e.helpers import Client, assert_error, force_status, wait_for_logs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
DEAL_MAY_EXIST = ["sending", "send-failed", "open", "paid", "confirmed"]
CHAIN_TIMEOUT = 20.0


def _create(client: Client, **overrides: Any) -> dict[str, Any]:
    r = client.create(**overrides)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _cancel(
    client: Client, payment_id: str, who: str = "root", *, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {**client.auth(who), **(headers or {})}
    return client.http.post(f"/api/v1/payments/{payment_id}/cancel", headers=headers, **kwargs)


def _retry(client: Client, payment_id: str, who: str = "root") -> httpx.Response:
    return client.http.post(f"/api/v1/payments/{payment_id}/retry-send", headers=client.auth(who))


def _get(client: Client, payment_id: str) -> dict[str, Any]:
    r = client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth("root"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _status(client: Client, payment_id: str) -> str:
    return str(_get(client, payment_id)["status"])


def _wait_status(client: Client, payment_id: str, status: str, timeout: float = CHAIN_TIMEOUT) -> dict[str, Any]:
    """GET the payment until the chain workers have moved it to `status` (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        payment = _get(client, payment_id)
        if payment["status"] == status:
            return payment
        if time.monotonic() > deadline:
            raise AssertionError(f"still {payment['status']} after {timeout:.0f}s, want {status}")
        time.sleep(0.05)


def _accepted(r: httpx.Response) -> None:
    assert r.status_code == 202, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"status": "accepted"}


def _concurrently(client: Client, payment_id: str, actions: list[str]) -> list[httpx.Response]:
    """POST each action (cancel, retry-send) at the same moment, one thread each."""
    headers = client.auth()
    start = threading.Barrier(len(actions), timeout=10)

    def call(action: str) -> httpx.Response:
        start.wait()
        return client.http.post(f"/api/v1/payments/{payment_id}/{action}", headers=headers)

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(call, actions, timeout=60))


def _with_deal(store: DynamoPaymentStore, payment_id: str, status: str) -> None:
    """As a chain worker leaves it: claimed (a deal may exist), with a deal id once it is on chain."""
    deal_id = None if status in ("sending", "send-failed") else 7
    force_status(store, payment_id, status, deal_may_exist=True, deal_id=deal_id)


# ------------------------------------------------------------------------------ cancel: card and bank
@pytest.mark.parametrize(
    ("payment_method", "body"),
    [
        ("credit_card", None),
        ("credit_card", b"{}"),
        ("bank_transfer", None),
        ("bank_transfer", b"{}"),
    ],
    ids=["card-empty-body", "card-{}", "bank-empty-body", "bank-{}"],
)
def test_cancel_of_a_card_or_bank_payment_is_immediate_and_idempotent(
    client: Client, payment_method: str, body: bytes | None
) -> None:
    p = _create(client, payment_method=payment_method)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    _accepted(_cancel(client, p["id"], content=body, headers=headers))
    assert _status(client, p["id"]) == "cancelled"
    _accepted(_cancel(client, p["id"]))  # asking again: accepted, nothing changes
    assert _status(client, p["id"]) == "cancelled"


def test_cancel_of_a_card_payment_on_hold_is_immediate(client: Client, payment_store: DynamoPaymentStore) -> None:
    p = _create(client, payment_method="credit_card")
    force_status(payment_store, p["id"], "hold")
    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelled"


@pytest.mark.parametrize("body", [{"reason": "customer asked"}, {"status": "cancelled"}], ids=["reason", "status"])
def test_cancel_with_a_body_with_fields_is_422(client: Client, body: dict[str, Any]) -> None:
    p = _create(client, payment_method="credit_card")
    error = assert_error(_cancel(client, p["id"], json=body), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == [f"body.{next(iter(body))}"]
    assert _status(client, p["id"]) == "pending"


def test_cancel_with_a_body_that_is_not_json_is_415(client: Client) -> None:
    p = _create(client, payment_method="credit_card")
    r = _cancel(client, p["id"], content=b"reason=x", headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    assert _status(client, p["id"]) == "pending"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("refunded", "payment_already_refunded"),
        ("expired", "payment_expired"),
        ("failed", "payment_failed"),
        ("failed-captured", "payment_failed"),
    ],
)
def test_cancel_of_a_payment_past_cancelling_is_409(
    client: Client, payment_store: DynamoPaymentStore, status: str, code: str
) -> None:
    p = _create(client, payment_method="credit_card")
    force_status(payment_store, p["id"], status)
    error = assert_error(_cancel(client, p["id"]), 409, code)
    assert error["status"] == status
    assert _status(client, p["id"]) == status


def test_cancel_of_a_paid_card_payment_is_409_not_cancellable(
    client: Client, payment_store: DynamoPaymentStore
) -> None:
    p = _create(client, payment_method="credit_card")
    force_status(payment_store, p["id"], "paid")
    error = assert_error(_cancel(client, p["id"]), 409, "payment_not_cancellable")
    assert error["status"] == "paid"
    assert _status(client, p["id"]) == "paid"


@pytest.mark.parametrize("who", ["other", "child"])
def test_cancel_by_an_integration_whose_node_does_not_reach_the_payment_is_403(client: Client, who: str) -> None:
    p = _create(client, payment_method="credit_card")
    assert_error(_cancel(client, p["id"], who=who), 403, "node_access_denied")
    assert _status(client, p["id"]) == "pending"  # not cancelled


def test_cancel_of_a_child_nodes_payment_by_the_root_is_allowed(client: Client) -> None:
    p = _create(client, payment_method="credit_card", node_id=client.demo["nodes"]["child"])
    _accepted(_cancel(client, p["id"], who="root"))
    assert _status(client, p["id"]) == "cancelled"


@pytest.mark.parametrize("payment_id", [UNKNOWN_ID, "not-a-uuid"])
def test_cancel_of_an_unknown_payment_is_404(client: Client, payment_id: str) -> None:
    assert_error(_cancel(client, payment_id), 404, "payment_not_found")


# ------------------------------------------------------------------------- retry-send: refusals, access
@pytest.mark.parametrize("payment_method", ["credit_card", "bank_transfer"])
def test_retry_send_of_a_card_or_bank_payment_is_400(client: Client, payment_method: str) -> None:
    p = _create(client, payment_method=payment_method)
    assert_error(_retry(client, p["id"]), 400, "payment_not_web3")
    assert (_get(client, p["id"])["retry"], _get(client, p["id"])["retry_count"]) == (False, 0)


@pytest.mark.parametrize("who", ["other", "child"])
def test_retry_send_by_an_integration_whose_node_does_not_reach_the_payment_is_403(client: Client, who: str) -> None:
    p = _create(client)
    assert_error(_retry(client, p["id"], who=who), 403, "node_access_denied")
    got = _get(client, p["id"])
    assert (got["retry"], got["retry_count"]) == (False, 0)  # not re-sent


@pytest.mark.parametrize("payment_id", [UNKNOWN_ID, "not-a-uuid"])
def test_retry_send_of_an_unknown_payment_is_404(client: Client, payment_id: str) -> None:
    assert_error(_retry(client, payment_id), 404, "payment_not_found")


@pytest.mark.parametrize(("method", "action"), [("POST", "cancel"), ("POST", "retry-send"), ("GET", "logs")])
def test_lifecycle_endpoints_without_a_token_are_401(client: Client, method: str, action: str) -> None:
    p = _create(client, payment_method="credit_card")
    r = client.http.request(method, f"/api/v1/payments/{p['id']}/{action}")
    assert_error(r, 401, "unauthorized")


# --------------------------------------------------------------- web3 with the chain workers and anvil
@pytest.fixture
def open_payment(client: Client, chain_workers: None) -> dict[str, Any]:
    """A web3 payment whose deal the create-deal worker has created on chain."""
    p = _create(client, wallet_id=client.demo["wallet_id"])
    opened = _wait_status(client, p["id"], "open")
    assert opened["deal_id"] is not None
    assert opened["deal_transaction_hash"]
    return opened


def _events(client: Client, payment_id: str, total: int) -> list[tuple[str, str, str | None, str]]:
    """(event_type, actor_type, status_before, status_after) of the logs, newest first."""
    items = wait_for_logs(client, payment_id, total)["items"]
    return [(e["event_type"], e["actor_type"], e["status_before"], e["status_after"]) for e in items]


def _logs_so_far(client: Client, payment_id: str) -> list[dict[str, Any]]:
    r = client.http.get(f"/api/v1/payments/{payment_id}/logs", params={"per_page": 100}, headers=client.auth())
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


OPENED = [
    ("deal_created", "chain", "sending", "open"),
    ("deal_sending", "system", "pending", "sending"),
    ("created", "integration", None, "pending"),
]


def test_cancel_of_an_open_payment_cancels_its_deal_on_chain(client: Client, open_payment: dict[str, Any]) -> None:
    pid = open_payment["id"]
    assert_error(_retry(client, pid), 400, "payment_has_deal")

    _accepted(_cancel(client, pid))
    assert _status(client, pid) in ("cancelling", "cancelled")  # the cancel-deal worker may be that quick
    cancelled = _wait_status(client, pid, "cancelled")
    assert cancelled["deal_id"] == open_payment["deal_id"]
    _accepted(_cancel(client, pid))  # asking again: accepted, nothing more
    error = assert_error(_retry(client, pid), 400, "payment_cancelled")
    assert error["status"] == "cancelled"

    assert _events(client, pid, 5) == [
        ("cancelled", "chain", "cancelling", "cancelled"),
        ("cancel_requested", "integration", "open", "cancelling"),
        *OPENED,
    ]


def test_two_concurrent_cancels_of_an_open_payment_cancel_its_deal_once(
    client: Client, open_payment: dict[str, Any]
) -> None:
    pid = open_payment["id"]
    for a in _concurrently(client, pid, ["cancel", "cancel"]):
        _accepted(a)
    _wait_status(client, pid, "cancelled")
    # one cancel_requested: the loser re-read the payment and found it cancelling
    assert _events(client, pid, 5) == [
        ("cancelled", "chain", "cancelling", "cancelled"),
        ("cancel_requested", "integration", "open", "cancelling"),
        *OPENED,
    ]


def test_cancel_racing_the_create_deal_worker_ends_cancelled(client: Client, chain_workers: None) -> None:
    """Right after create: cancelled at once if the worker has not claimed it yet, else through cancelDeal."""
    p = _create(client, wallet_id=client.demo["wallet_id"])
    _accepted(_cancel(client, p["id"]))
    _wait_status(client, p["id"], "cancelled")
    _accepted(_cancel(client, p["id"]))

    deadline = time.monotonic() + CHAIN_TIMEOUT
    while True:  # until the stream has caught up with the cancel
        items = _logs_so_far(client, p["id"])
        if any(e["event_type"] == "cancelled" for e in items):
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.1)
    kinds = Counter(e["event_type"] for e in items)
    assert kinds["created"] == 1
    if kinds["cancel_requested"] == 0:  # cancel won the race: no deal could exist
        assert [(e["event_type"], e["actor_type"]) for e in items] == [
            ("cancelled", "integration"),
            ("created", "integration"),
        ]
    else:  # the worker claimed it first: cancelDeal (or no deal found) on chain
        assert kinds["cancel_requested"] == 1
        assert kinds["deal_sending"] == 1
        assert [e["actor_type"] for e in items if e["event_type"] == "cancelled"] == ["chain"]


def test_retry_send_double_click_of_a_send_failed_payment_records_its_one_deal(
    client: Client, payment_store: DynamoPaymentStore, open_payment: dict[str, Any]
) -> None:
    """The worker gave up after createDeal went through: retry-send finds that deal by its ref."""
    pid = open_payment["id"]
    force_status(payment_store, pid, "send-failed", deal_may_exist=True, deal_id=None, transaction_hash=None)
    answers = _concurrently(client, pid, ["retry-send", "retry-send"])
    answers.append(_retry(client, pid))  # a third, right after: same click, or the worker has it already
    for a in answers[:2]:
        assert a.status_code == 200, a.text
        assert (a.json()["retry"], a.json()["retry_count"]) == (True, 1)
    third = answers[2]
    if third.status_code == 200:
        assert third.json()["retry_count"] == 1
    else:
        assert_error(third, 400, "payment_has_deal")

    reopened = _wait_status(client, pid, "open")
    assert (reopened["deal_id"], reopened["retry_count"]) == (open_payment["deal_id"], 1)  # the same deal
    assert _events(client, pid, 7) == [
        ("deal_created", "chain", "sending", "open"),
        ("deal_sending", "system", "pending", "sending"),
        ("retry_sent", "integration", "send-failed", "pending"),
        ("status_changed", "system", "open", "send-failed"),
        *OPENED,
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("sending", "payment_has_deal"),
        ("expired", "payment_expired"),
        ("paid", "payment_paid"),
        ("confirmed", "payment_paid"),
        ("refunded", "payment_paid"),
    ],
)
def test_retry_send_of_a_payment_with_a_deal_is_400_saying_why(
    client: Client, payment_store: DynamoPaymentStore, open_payment: dict[str, Any], status: str, code: str
) -> None:
    force_status(payment_store, open_payment["id"], status)
    error = assert_error(_retry(client, open_payment["id"]), 400, code)
    assert error["status"] == status
    assert (_status(client, open_payment["id"]), _get(client, open_payment["id"])["retry_count"]) == (status, 0)
