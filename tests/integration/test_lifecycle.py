"""Cancel and retry-send through the gateway; the status machine's conditional writes under races."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest

from payments_core import deps
from payments_core.domain import lifecycle
from payments_core.domain.entities import Payment, PaymentChanges
from payments_core.domain.payments import iso
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentStatus
from tests.integration.helpers import Api
from tests.support import spec_errors, stored


def _messages(kind: str) -> list[dict[str, Any]]:
    """The deal queue's messages of `kind` ("create" or "cancel"); the queue is drained (of both kinds)."""
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=os.environ["DEAL_QUEUE_URL"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not got:
            return [m for m in out if json.loads(m["Body"])["type"] == f"{kind}_deal"]
        out += [dict(m) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=os.environ["DEAL_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])


def _create(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(**overrides))
    assert r.status == 201, r.body
    body: dict[str, Any] = r.json()
    return body


def _force(payment_id: str, status: str, **changes: Any) -> Payment:
    """Put a payment in a status directly, as the chain workers would move it (these tests run no chain)."""
    store = deps.payment_store()
    record = store.get(payment_id)
    assert record is not None
    return store.update(record, cast(PaymentChanges, {"status": PaymentStatus(status), **changes}))


def _status(api: Api, token: str, payment_id: str) -> str:
    return str(api.call("GET", f"/api/v1/payments/{payment_id}", token=token).json()["status"])


# ------------------------------------------------------------------------------------------ cancel


@pytest.mark.parametrize("body", [None, "{}"])
def test_cancel_of_a_card_payment_is_immediate_and_idempotent(api: Api, body: str | None) -> None:
    token = api.token()
    p = _create(api, token, payment_method="credit_card")
    for _ in range(2):
        r = api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token, raw_body=body)
        assert (r.status, r.json()) == (202, {"status": "accepted"})
    assert _status(api, token, p["id"]) == "cancelled"
    assert _messages("cancel") == []


def test_cancel_rejects_a_body_with_fields(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    r = api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token, json_body={"reason": "x"})
    assert r.status == 422
    assert r.json()["error"]["details"][0]["field"] == "body.reason"
    assert _status(api, token, p["id"]) == "pending"


def test_cancel_of_an_unclaimed_web3_payment_is_immediate_and_the_worker_skips_it(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    assert _status(api, token, p["id"]) == "cancelled"
    assert _messages("cancel") == []
    record = deps.payment_store().get(p["id"])
    assert record is not None
    assert lifecycle.claim_for_sending(deps.payment_store(), record, "worker-1") is None


@pytest.mark.parametrize("status", ["sending", "send-failed", "open", "paid", "confirmed"])
def test_cancel_where_a_deal_may_exist_queues_one_cancel_deal(api: Api, status: str) -> None:
    token = api.token()
    p = _create(api, token, wallet_id=api.demo["wallet_id"])
    _force(p["id"], status, deal_id=7 if status != "sending" else None, deal_may_exist=True)
    for _ in range(3):
        assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    assert _status(api, token, p["id"]) == "cancelling"
    messages = _messages("cancel")
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert (body["type"], body["payment_id"], body["ref"]) == ("cancel_deal", p["id"], p["id"] and body["ref"])
    assert body["ref"] == "0x" + p["id"].replace("-", "").rjust(64, "0")
    assert messages[0]["Attributes"]["MessageGroupId"] == f"signer:{api.demo['wallet_id']}"  # its create's lane
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == f"{p['id']}:cancel"


@pytest.mark.parametrize(
    ("status", "code"),
    [("refunded", "payment_already_refunded"), ("expired", "payment_expired"), ("failed", "payment_failed")],
)
def test_cancel_of_a_final_payment_is_409_saying_why(api: Api, status: str, code: str) -> None:
    token = api.token()
    p = _create(api, token)
    _force(p["id"], status)
    r = api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token)
    assert r.status == 409
    assert (r.json()["error"]["code"], r.json()["error"]["status"]) == (code, status)
    assert spec_errors(r.json(), "ErrorResponse") == []  # every field it carries is declared
    assert _status(api, token, p["id"]) == status


def test_cancel_403_and_404(api: Api) -> None:
    root, other = api.token("root"), api.token("other")
    p = _create(api, root)
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=other).status == 403
    missing = api.call("POST", "/api/v1/payments/00000000-0000-4000-8000-000000000000/cancel", token=root)
    assert (missing.status, missing.json()["error"]["code"]) == (404, "payment_not_found")
    assert _status(api, root, p["id"]) == "pending"


# ---------------------------------------------------------------------------------------- retry-send


def test_retry_send_requeues_and_counts(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    _messages("create")  # the create's own message
    r = api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token)
    assert r.status == 200
    body = r.json()
    assert (body["retry"], body["retry_count"], body["status"]) == (True, 1, "pending")
    messages = _messages("create")
    assert len(messages) == 1
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == f"{p['id']}:1"
    assert json.loads(messages[0]["Body"])["retry_count"] == 1


def test_retry_send_of_a_send_failed_payment_moves_it_back_to_pending(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    _force(p["id"], "send-failed")
    r = api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token)
    assert (r.status, r.json()["status"], r.json()["retry_count"]) == (200, "pending", 1)


def test_retry_send_double_click_sends_one_message(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    _messages("create")
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token), range(2))
        )
    answers.append(api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token))  # a third, right after
    assert [a.status for a in answers] == [200, 200, 200]
    assert {a.json()["retry_count"] for a in answers} == {1}
    assert len(_messages("create")) == 1
    # after the de-duplication window a new retry is a new send
    record = deps.payment_store().get(p["id"])
    assert record is not None
    _force(p["id"], "pending", retried_at=iso(utcnow() - lifecycle.RETRY_SEND_DEDUP - timedelta(seconds=1)))
    assert api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token).json()["retry_count"] == 2
    assert len(_messages("create")) == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("sending", "payment_has_deal"),
        ("open", "payment_has_deal"),
        ("cancelling", "payment_cancelled"),
        ("cancelled", "payment_cancelled"),
        ("expired", "payment_expired"),
        ("paid", "payment_paid"),
        ("confirmed", "payment_paid"),
    ],
)
def test_retry_send_refuses_with_400_saying_why(api: Api, status: str, code: str) -> None:
    token = api.token()
    p = _create(api, token)
    _force(p["id"], status)
    r = api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token)
    assert (r.status, r.json()["error"]["code"], r.json()["error"]["status"]) == (400, code, status)
    assert spec_errors(r.json(), "ErrorResponse") == []  # every field it carries is declared


def test_retry_send_of_a_card_payment_is_400(api: Api) -> None:
    token = api.token()
    p = _create(api, token, payment_method="bank_transfer")
    r = api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token)
    assert (r.status, r.json()["error"]["code"]) == (400, "payment_not_web3")


def test_retry_send_403_and_404(api: Api) -> None:
    root, child = api.token("root"), api.token("child")
    p = _create(api, root)
    assert api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=child).status == 403
    assert api.call("POST", "/api/v1/payments/nope/retry-send", token=root).status == 404


# ---------------------------------------------------------------------------------------------- races


def test_two_cancels_at_once_queue_one_cancel_deal(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    _force(p["id"], "open", deal_id=3)
    barrier = threading.Barrier(2)

    def cancel(_: int) -> int:
        barrier.wait(timeout=10)
        return api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(cancel, range(2))) == [202, 202]
    assert _status(api, token, p["id"]) == "cancelling"
    assert len(_messages("cancel")) == 1


def test_cancel_against_retry_send_ends_consistent(api: Api) -> None:
    token = api.token()
    for i in range(6):
        p = _create(api, token, external_id=f"race-{i}")
        _force(p["id"], "send-failed", deal_may_exist=True)  # as a worker that gave up leaves it
        barrier = threading.Barrier(2)

        def call(action: str, pid: str = p["id"], gate: threading.Barrier = barrier) -> tuple[str, int, dict[str, Any]]:
            gate.wait(timeout=10)
            r = api.call("POST", f"/api/v1/payments/{pid}/{action}", token=token)
            return action, r.status, r.json()

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = {a: (s, b) for a, s, b in pool.map(call, ["cancel", "retry-send"])}
        final = _status(api, token, p["id"])
        assert results["cancel"][0] == 202
        # send-failed may hold a deal: cancel always goes through cancelDeal, whatever retry did
        assert final == "cancelling"
        if results["retry-send"][0] == 200:
            assert results["retry-send"][1]["retry_count"] == 1  # it won first; cancel came after
        else:
            assert results["retry-send"][1]["error"]["code"] == "payment_cancelled"
    assert len(_messages("cancel")) == 6


def test_cancel_against_the_create_deal_worker_claim(api: Api) -> None:
    token = api.token()
    outcomes: Counter[str] = Counter()
    for i in range(10):
        p = _create(api, token, external_id=f"claim-{i}")
        record = deps.payment_store().get(p["id"])
        assert record is not None
        barrier = threading.Barrier(2)

        def claim(rec: Payment = record, gate: threading.Barrier = barrier) -> Payment | None:
            gate.wait(timeout=10)
            return lifecycle.claim_for_sending(deps.payment_store(), rec, "worker-1")

        def cancel(pid: str = p["id"], gate: threading.Barrier = barrier) -> int:
            gate.wait(timeout=10)
            return api.call("POST", f"/api/v1/payments/{pid}/cancel", token=token).status

        with ThreadPoolExecutor(max_workers=2) as pool:
            claimed_f, cancel_f = pool.submit(claim), pool.submit(cancel)
            claimed, cancelled = claimed_f.result(), cancel_f.result()
        assert cancelled == 202
        final = _status(api, token, p["id"])
        if claimed is None:
            assert final == "cancelled"  # cancel won: no deal can exist, the worker skips it
            outcomes["cancel first"] += 1
        else:
            assert final == "cancelling"  # the worker won: a deal may exist, cancelDeal is queued
            outcomes["worker first"] += 1
            done = lifecycle.record_deal_created(
                deps.payment_store(), stored(deps.payment_store(), p["id"]), deal_id=i + 1,
                transaction_hash="0x" + "ab" * 32, worker="worker-1",
            )  # fmt: skip
            assert (done.status, done.deal_id) == ("cancelling", i + 1)  # cancel is not lost
    assert sum(outcomes.values()) == 10
    assert len(_messages("cancel")) == outcomes["worker first"]
