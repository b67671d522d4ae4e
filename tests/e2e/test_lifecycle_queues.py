"""Cancel and retry-send of web3 payments over HTTP, on the quiet stack (`quiet_stack`: no chain, no chain
workers): statuses only a chain worker reaches are written into the stack's payments table through moto,
conditionally and with `deal_may_exist`, as the worker does, and the messages are read off the deal
queues (`deal_queues`), which nothing else consumes there.

`client` and `payment_store` are the quiet stack's in this module (the fixtures below); the helpers are
test_lifecycle's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments_core.domain.lifecycle import RETRY_SEND_DEDUP
from payments_core.domain.payments import deal_ref, iso
from payments_core.models.common import utcnow
from payments_core.store.payments import DynamoPaymentStore
from tests.e2e.helpers import Client, DealQueues, assert_error, force_status, wait_for_logs
from tests.e2e.test_lifecycle import (
    DEAL_MAY_EXIST,
    _accepted,
    _cancel,
    _concurrently,
    _create,
    _get,
    _retry,
    _status,
    _with_deal,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def client(quiet_client: Client) -> Client:
    """The quiet stack's client, for every test of this module."""
    return quiet_client


@pytest.fixture
def payment_store(quiet_payment_store: DynamoPaymentStore) -> DynamoPaymentStore:
    """The quiet stack's payments table, for every test of this module."""
    return quiet_payment_store


# ------------------------------------------------------------------- web3, quiet deal queues: cancel
def test_cancel_of_an_unclaimed_web3_payment_is_immediate(client: Client, deal_queues: DealQueues) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    assert p["status"] == "pending"
    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelled"
    _accepted(_cancel(client, p["id"]))
    assert deal_queues.messages("cancel", p["id"]) == []  # no deal can exist: nothing to cancel on chain


@pytest.mark.parametrize("status", DEAL_MAY_EXIST)
def test_cancel_where_a_deal_may_exist_queues_one_cancel_deal(
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues, status: str
) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    _with_deal(payment_store, p["id"], status)

    _accepted(_cancel(client, p["id"]))
    assert _status(client, p["id"]) == "cancelling"
    (message,) = deal_queues.messages("cancel", p["id"])
    assert message.dedup_id == f"{p['id']}:cancel"
    # The create-deal's group, its signer's lane (decision 0038): FIFO order behind the create
    assert message.group_id == f"signer:{client.demo['wallet_id']}"
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
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues
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
    # No wallet: the network's platform wallet signs (the demo's wallet is it): the same lane as a payment naming it
    assert message.group_id == f"signer:{client.demo['wallet_id']}"


@pytest.mark.parametrize(("status", "code"), [("refunded", "payment_already_refunded"), ("expired", "payment_expired")])
def test_cancel_of_a_web3_payment_past_cancelling_is_409_and_queues_nothing(
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues, status: str, code: str
) -> None:
    p = _create(client)
    _with_deal(payment_store, p["id"], status)
    error = assert_error(_cancel(client, p["id"]), 409, code)
    assert error["status"] == status
    assert deal_queues.messages("cancel", p["id"]) == []


# --------------------------------------------------------------- web3, quiet deal queues: retry-send
def test_retry_send_of_a_pending_web3_payment_requeues_it(client: Client, deal_queues: DealQueues) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    r = _retry(client, p["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["status"], body["retry"], body["retry_count"]) == (p["id"], "pending", True, 1)
    got = _get(client, p["id"])
    assert (got["retry"], got["retry_count"]) == (True, 1)

    created, retried = deal_queues.messages("create", p["id"])
    assert [created.dedup_id, retried.dedup_id] == [f"{p['id']}:0", f"{p['id']}:1"]
    assert {created.group_id, retried.group_id} == {f"signer:{client.demo['wallet_id']}"}
    assert (created.body["retry_count"], retried.body["retry_count"]) == (0, 1)
    assert retried.body["type"] == "create_deal"
    assert retried.body["ref"] == deal_ref(p["id"])
    assert {k: v for k, v in retried.body.items() if k != "retry_count"} == {
        k: v for k, v in created.body.items() if k != "retry_count"
    }


def test_retry_send_of_a_send_failed_payment_moves_it_back_to_pending(
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    _with_deal(payment_store, p["id"], "send-failed")
    r = _retry(client, p["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["retry"], r.json()["retry_count"]) == ("pending", True, 1)
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0", f"{p['id']}:1"]


def test_retry_send_double_click_sends_one_message(
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    url = f"/api/v1/payments/{p['id']}/retry-send"
    answers = _concurrently(client, p["id"], ["retry-send", "retry-send"])
    deal_queues.messages("create", p["id"])  # drained: the third one's message, if any, would show
    answers.append(client.http.post(url, headers=client.auth()))  # a third, right after

    for a in answers:
        assert a.status_code == 200, a.text
        assert (a.json()["retry"], a.json()["retry_count"], a.json()["status"]) == (True, 1, "pending")
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])] == [f"{p['id']}:0", f"{p['id']}:1"]
    # The log tells one retry: the loser of the race re-read the payment instead of writing again.
    logs = wait_for_logs(client, p["id"], 2)
    assert [e["event_type"] for e in logs["items"]] == ["retry_sent", "created"]

    # Past the de-duplication window a new retry-send is a new click: a new message.
    force_status(payment_store, p["id"], "pending", retried_at=iso(utcnow() - RETRY_SEND_DEDUP - timedelta(seconds=1)))
    r = client.http.post(url, headers=client.auth())
    assert r.status_code == 200, r.text
    assert r.json()["retry_count"] == 2
    assert [m.dedup_id for m in deal_queues.messages("create", p["id"])][-1] == f"{p['id']}:2"


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
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues, status: str, code: str
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


# ------------------------------------------------------------------------ web3, quiet deal queues: races
def test_two_concurrent_cancels_of_an_open_payment_queue_one_cancel_deal(
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client, wallet_id=client.demo["wallet_id"])
    _with_deal(payment_store, p["id"], "open")
    for a in _concurrently(client, p["id"], ["cancel", "cancel"]):
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
    client: Client, payment_store: DynamoPaymentStore, deal_queues: DealQueues
) -> None:
    p = _create(client)
    _with_deal(payment_store, p["id"], "send-failed")
    cancel, retry = _concurrently(client, p["id"], ["cancel", "retry-send"])
    _accepted(cancel)
    if retry.status_code == 200:
        assert retry.json()["retry_count"] == 1  # retry won; cancel came after it
    else:
        assert_error(retry, 400, "payment_cancelled")
    assert _status(client, p["id"]) == "cancelling"  # a deal may exist either way
    assert len(deal_queues.messages("cancel", p["id"])) == 1
