"""Cancel and retry-send over HTTP on the local stack: every answer, the queues, and races.

Statuses only a chain worker reaches (sending, open, paid, ...) are written into the stack's payments
table through moto, conditionally and with `deal_may_exist`, as the worker does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from payments_core.domain.lifecycle import RETRY_SEND_DEDUP
from payments_core.domain.payments import deal_ref, iso
from payments_core.models.common import utcnow
from payments_core.store.payments import PaymentStore
from tests.e2e.conftest import Client, DealQueues, assert_error, force_status, wait_for_logs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
DEAL_MAY_EXIST = ["sending", "send-failed", "open", "paid", "confirmed"]


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


def _status(client: Client, payment_id: str) -> str:
    r = client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth("root"))
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


def _accepted(r: httpx.Response) -> None:
    assert r.status_code == 202, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"status": "accepted"}


def _with_deal(store: PaymentStore, payment_id: str, status: str) -> None:
    """As a chain worker leaves it: claimed (a deal may exist), with a deal id once it is on chain."""
    deal_id = None if status in ("sending", "send-failed") else 7
    force_status(store, payment_id, status, deal_may_exist=True, deal_id=deal_id)


# ------------------------------------------------------------------------------------------- cancel
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


def test_cancel_of_a_card_payment_on_hold_is_immediate(client: Client, payment_store: PaymentStore) -> None:
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


def test_cancel_of_an_unclaimed_web3_payment_is_immediate(client: Client, deal_queues: DealQueues) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    assert p["status"] == "pending"
    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelled"
    _accepted(_cancel(client, p["id"]))
    assert deal_queues.messages("cancel", p["id"]) == []  # no deal can exist: nothing to cancel on chain


@pytest.mark.parametrize("status", DEAL_MAY_EXIST)
def test_cancel_where_a_deal_may_exist_queues_one_cancel_deal(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues, status: str
) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    _with_deal(payment_store, p["id"], status)

    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelling"
    (message,) = deal_queues.messages("cancel", p["id"])
    assert message.dedup_id == f"{p['id']}:cancel"
    assert message.group_id == f"wallet:{client.demo['wallet_id']}"  # the create-deal's group: FIFO order
    assert message.body["type"] == "cancel_deal"
    assert message.body["network_id"] == client.demo["network_id"]
    assert message.body["wallet_id"] == client.demo["wallet_id"]
    assert message.body["ref"] == deal_ref(p["id"])
    assert message.body["deal_id"] == (None if status in ("sending", "send-failed") else "7")

    # The first message was drained: a second send would show, FIFO de-duplication would not hide it.
    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelling"
    assert len(deal_queues.messages("cancel", p["id"])) == 1


def test_cancel_of_a_web3_payment_back_in_pending_after_a_claim_goes_through_cancel_deal(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues
) -> None:
    """send-failed -> retry-send -> pending: a deal may still exist, so cancel is not immediate."""
    p = _create(client)
    _with_deal(payment_store, p["id"], "send-failed")
    r = _retry(client, p["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelling"
    (message,) = deal_queues.messages("cancel", p["id"])
    assert message.group_id == f"network:{client.demo['network_id']}"  # no wallet: one group per network


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
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues, status: str, code: str
) -> None:
    p = _create(client)
    force_status(payment_store, p["id"], status)
    error = assert_error(_cancel(client, p["id"]), 409, code)
    assert error["status"] == status
    assert _status(client, p["id"]) == status
    assert deal_queues.messages("cancel", p["id"]) == []


def test_cancel_of_a_paid_card_payment_is_409_not_cancellable(client: Client, payment_store: PaymentStore) -> None:
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


# ------------------------------------------------------------------------------------------ retry-send
def test_retry_send_of_a_pending_web3_payment_requeues_it(client: Client, deal_queues: DealQueues) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    r = _retry(client, p["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["status"], body["retry"], body["retry_count"]) == (p["id"], "pending", True, 1)
    got = client.http.get(f"/api/v1/payments/{p['id']}", headers=client.auth()).json()
    assert (got["retry"], got["retry_count"]) == (True, 1)

    created, retried = deal_queues.messages("create", p["id"])
    assert [created.dedup_id, retried.dedup_id] == [f"{p['id']}:0", f"{p['id']}:1"]
    assert {created.group_id, retried.group_id} == {f"wallet:{client.demo['wallet_id']}"}
    assert (created.body["retry_count"], retried.body["retry_count"]) == (0, 1)
    assert retried.body["type"] == "create_deal"
    assert retried.body["ref"] == deal_ref(p["id"])
    assert {k: v for k, v in retried.body.items() if k != "retry_count"} == {
        k: v for k, v in created.body.items() if k != "retry_count"
    }


def test_retry_send_of_a_send_failed_payment_moves_it_back_to_pending(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    _with_deal(payment_store, p["id"], "send-failed")
    r = _retry(client, p["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["retry"], r.json()["retry_count"]) == ("pending", True, 1)
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0", f"{p['id']}:1"]


def test_retry_send_double_click_sends_one_message(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    url = f"/api/v1/payments/{p['id']}/retry-send"
    headers = client.auth()
    start = threading.Barrier(2, timeout=10)

    def click(_: int) -> httpx.Response:
        start.wait()
        return client.http.post(url, headers=headers)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(click, range(2), timeout=60))
    deal_queues.messages("create", p["id"])  # drained: the third one's message, if any, would show
    answers.append(client.http.post(url, headers=headers))  # a third, right after

    for a in answers:
        assert a.status_code == 200, a.text
        assert (a.json()["retry"], a.json()["retry_count"], a.json()["status"]) == (True, 1, "pending")
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0", f"{p['id']}:1"]
    # The log tells one retry: the loser of the race re-read the payment instead of writing again.
    logs = wait_for_logs(client, p["id"], 2)
    assert [e["event_type"] for e in logs["items"]] == ["retry_sent", "created"]

    # Past the de-duplication window a new retry-send is a new click: a new message.
    force_status(payment_store, p["id"], "pending", retried_at=iso(utcnow() - RETRY_SEND_DEDUP - timedelta(seconds=1)))
    r = client.http.post(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["retry_count"] == 2
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])][-1] == f"{p['id']}:2"


@pytest.mark.parametrize("payment_method", ["credit_card", "bank_transfer"])
def test_retry_send_of_a_card_or_bank_payment_is_400(
    client: Client, deal_queues: DealQueues, payment_method: str
) -> None:
    p = _create(client, payment_method=payment_method)
    assert_error(_retry(client, p["id"]), 400, "payment_not_web3")
    assert deal_queues.messages("create", p["id"]) == []  # never sent to the chain, not even at create


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("sending", "payment_has_deal"),
        ("open", "payment_has_deal"),
        ("cancelling", "payment_cancelled"),
        ("expired", "payment_expired"),
        ("paid", "payment_paid"),
        ("confirmed", "payment_paid"),
        ("refunded", "payment_paid"),
    ],
)
def test_retry_send_refused_is_400_saying_why(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues, status: str, code: str
) -> None:
    p = _create(client)
    force_status(payment_store, p["id"], status, deal_may_exist=True)
    error = assert_error(_retry(client, p["id"]), 400, code)
    assert error["status"] == status
    assert _status(client, p["id"]) == status
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0"]


def test_retry_send_of_a_payment_cancelled_over_http_is_400(client: Client, deal_queues: DealQueues) -> None:
    p = _create(client)
    _accepted(_cancel(client, p["id"]))
    error = assert_error(_retry(client, p["id"]), 400, "payment_cancelled")
    assert error["status"] == "cancelled"
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0"]


@pytest.mark.parametrize("who", ["other", "child"])
def test_retry_send_by_an_integration_whose_node_does_not_reach_the_payment_is_403(client: Client, who: str) -> None:
    p = _create(client)
    assert_error(_retry(client, p["id"], who=who), 403, "node_access_denied")
    got = client.http.get(f"/api/v1/payments/{p['id']}", headers=client.auth()).json()
    assert (got["retry"], got["retry_count"]) == (False, 0)  # not re-sent


@pytest.mark.parametrize("payment_id", [UNKNOWN_ID, "not-a-uuid"])
def test_retry_send_of_an_unknown_payment_is_404(client: Client, payment_id: str) -> None:
    assert_error(_retry(client, payment_id), 404, "payment_not_found")


@pytest.mark.parametrize(("method", "action"), [("POST", "cancel"), ("POST", "retry-send"), ("GET", "logs")])
def test_lifecycle_endpoints_without_a_token_are_401(client: Client, method: str, action: str) -> None:
    p = _create(client)
    r = client.http.request(method, f"/api/v1/payments/{p['id']}/{action}")
    assert_error(r, 401, "unauthorized")


# ---------------------------------------------------------------------------------------------- races
def test_two_concurrent_cancels_of_an_open_payment_queue_one_cancel_deal(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    _with_deal(payment_store, p["id"], "open")
    headers = client.auth()
    start = threading.Barrier(2, timeout=10)

    def cancel(_: int) -> httpx.Response:
        start.wait()
        return client.http.post(f"/api/v1/payments/{p['id']}/cancel", headers=headers)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(cancel, range(2), timeout=60))
    for a in answers:
        _accepted(a)
    assert _status(client, p["id"]) == "cancelling"
    assert [m.dedup_id for m in deal_queues.messages("cancel", p["id"])] == [f"{p['id']}:cancel"]

    # created, the worker's move to open, one cancel_requested (the loser re-read and found cancelling)
    logs = wait_for_logs(client, p["id"], 3)
    assert [e["event_type"] for e in logs["items"]] == ["cancel_requested", "status_changed", "created"]
    requested = logs["items"][0]
    assert (requested["status_before"], requested["status_after"]) == ("open", "cancelling")
    assert (requested["actor_type"], requested["actor_id"]) == (
        "integration",
        client.demo["integrations"]["root"]["client_id"],
    )


def test_cancel_racing_retry_send_of_a_send_failed_payment_ends_cancelling(
    client: Client, payment_store: PaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    _with_deal(payment_store, p["id"], "send-failed")
    headers = client.auth()
    start = threading.Barrier(2, timeout=10)

    def call(action: str) -> tuple[str, httpx.Response]:
        start.wait()
        return action, client.http.post(f"/api/v1/payments/{p['id']}/{action}", headers=headers)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = dict(pool.map(call, ["cancel", "retry-send"], timeout=60))
    _accepted(answers["cancel"])
    retry = answers["retry-send"]
    if retry.status_code == 200:
        assert retry.json()["retry_count"] == 1  # retry won; cancel came after it
    else:
        assert_error(retry, 400, "payment_cancelled")
    assert _status(client, p["id"]) == "cancelling"  # a deal may exist either way
    assert len(deal_queues.messages("cancel", p["id"])) == 1
