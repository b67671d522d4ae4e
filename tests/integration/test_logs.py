"""Logs fed by the payments table's stream: one entry per meaningful change, never twice."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack import lambdas
from devstack import template as tpl
from devstack.pollers import build_pollers
from devstack.provision import Stack
from payments_core import deps
from payments_core.domain import lifecycle
from payments_core.domain.lifecycle import Actor
from payments_core.models.payments import PaymentStatus as S
from tests.integration.helpers import Api, drain
from tests.support import stored

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _create(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(**overrides))
    assert r.status == 201, r.body
    body: dict[str, Any] = r.json()
    return body


def test_logs_tell_each_change_newest_first_with_actors(api: Api, stream_pollers: list[Any]) -> None:
    token = api.token()
    p = _create(api, token, payment_method="credit_card")
    api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token)
    api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token)  # no change, no entry
    assert drain(stream_pollers) == 2
    r = api.call("GET", f"/api/v1/payments/{p['id']}/logs", token=token)
    assert r.status == 200
    data = r.json()
    assert (data["page"], data["per_page"], data["total"]) == (1, 10, 2)
    cancelled, created = data["items"]
    actor = api.demo["integrations"]["root"]["client_id"]
    assert (created["event_type"], created["status_before"], created["status_after"]) == ("created", None, "pending")
    assert (cancelled["event_type"], cancelled["status_before"], cancelled["status_after"]) == (
        "cancelled",
        "pending",
        "cancelled",
    )
    for entry in (created, cancelled):
        assert (entry["actor_type"], entry["actor_id"], entry["payment_id"]) == ("integration", actor, p["id"])
        assert entry["message"]
    assert cancelled["created_at"] >= created["created_at"]


def test_web3_lifecycle_is_told_step_by_step(api: Api, stream_pollers: list[Any]) -> None:
    token = api.token()
    p = _create(api, token)
    store = deps.payment_store()
    claimed = lifecycle.claim_for_sending(store, stored(store, p["id"]), "worker-1")
    assert claimed is not None
    lifecycle.record_deal_created(store, claimed, deal_id=5, transaction_hash="0x" + "1" * 64, worker="worker-1")
    api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token)
    drain(stream_pollers)
    items = api.call("GET", f"/api/v1/payments/{p['id']}/logs", token=token).json()["items"]
    assert [(i["event_type"], i["actor_type"], i["status_after"]) for i in reversed(items)] == [
        ("created", "integration", "pending"),
        ("deal_sending", "system", "sending"),
        ("deal_created", "chain", "open"),
        ("cancel_requested", "integration", "cancelling"),
    ]


def test_logs_pages_and_limits(api: Api, stream_pollers: list[Any]) -> None:
    token = api.token()
    p = _create(api, token)
    store = deps.payment_store()
    record = stored(store, p["id"])
    for i in range(24):  # 24 in-place changes (e.g. retries), one entry each
        record = lifecycle.move(
            store, record, to=None, actor=Actor("system", "t"), event_type="retry_sent", message=f"#{i}"
        )
    drain(stream_pollers)
    url = f"/api/v1/payments/{p['id']}/logs"
    pages = [api.call("GET", url, token=token, query={"page": n, "per_page": 10}).json() for n in (1, 2, 3, 4)]
    assert [len(pg["items"]) for pg in pages] == [10, 10, 5, 0]
    assert {pg["total"] for pg in pages} == {25}
    messages = [i["message"] for pg in pages for i in pg["items"]]
    assert messages[:3] == ["#23", "#22", "#21"]
    assert messages[-1].startswith("Payment created")
    assert api.call("GET", url, token=token, query={"per_page": 101}).status == 422


def test_logs_403_and_404(api: Api) -> None:
    root = api.token("root")
    p = _create(api, root)
    assert api.call("GET", f"/api/v1/payments/{p['id']}/logs", token=api.token("other")).status == 403
    r = api.call("GET", "/api/v1/payments/00000000-0000-4000-8000-000000000000/logs", token=root)
    assert (r.status, r.json()["error"]["code"]) == (404, "payment_not_found")


def test_a_redelivered_batch_writes_nothing_twice(api: Api, stack: Stack) -> None:
    token = api.token()
    p = _create(api, token)
    streams = boto3.client("dynamodbstreams")
    arn = stack.attributes[("PaymentsTable", "StreamArn")]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    raw = streams.get_records(ShardIterator=it)["Records"]
    event = {"Records": [{**r, "eventSourceARN": arn} for r in raw]}
    for _ in range(3):
        assert lambdas.invoke("LogWriterFunction", event) == {"batchItemFailures": []}
    logs = api.call("GET", f"/api/v1/payments/{p['id']}/logs", token=token).json()
    assert logs["total"] == 1
    assert len(logs["items"]) == 1


def test_sample_stream_event_writes_its_entry(stack: Stack) -> None:
    event = json.loads((EVENTS / "LogWriterFunction.json").read_text())
    assert lambdas.invoke("LogWriterFunction", event) == {"batchItemFailures": []}
    payment_id = event["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
    assert deps.logs().count(payment_id) == 1
    (entry,) = deps.logs().page(payment_id, 0, 10)
    assert (entry.event_type, entry.actor_type, entry.status_after) == ("created", "integration", "pending")


def test_fault_injection_1000_changes_give_exactly_1000_entries(api: Api, stack: Stack) -> None:
    """The log writer fails a random fifth of its invocations (after writing part of the batch);
    the stream mapping retries and bisects; every change ends logged exactly once."""
    token = api.token()
    payments = [_create(api, token, external_id=f"f-{i}", payment_method="credit_card") for i in range(10)]
    store = deps.payment_store()
    records = {p["id"]: stored(store, p["id"]) for p in payments}
    for n in range(99):  # 10 creates + 990 changes = 1000 changes
        for pid, record in list(records.items()):
            records[pid] = lifecycle.move(
                store, record, to=None, actor=Actor("system", "fault-test"), event_type="retry_sent",
                message=f"change {n}",
            )  # fmt: skip

    rng = random.Random(20261121)
    calls = {"total": 0, "failed": 0}

    def flaky(function: str, event: dict[str, Any]) -> Any:
        calls["total"] += 1
        if function == "LogWriterFunction" and rng.random() < 0.2:
            calls["failed"] += 1
            records = event["Records"]
            part = {"Records": records[: rng.randrange(len(records) + 1)]}
            lambdas.invoke(function, part)  # some of the batch is written, then the function dies
            raise RuntimeError("injected failure")
        return lambdas.invoke(function, event)

    stream_only = [s for s in tpl.event_sources() if s.kind == "DynamoDB"]
    drain(build_pollers(stack, flaky, stream_only, wait_seconds=0), rounds=5000)
    assert calls["failed"] >= 5, calls
    counted = sum(deps.logs().count(pid) for pid in records)
    entries = [e for pid in records for e in deps.logs().page(pid, 0, 1000)]
    assert counted == 1000
    assert len(entries) == 1000
    assert len({e.id for e in entries}) == 1000  # none twice
    failures = boto3.client("sqs").receive_message(
        QueueUrl=stack.physical["LogWriterFailureQueue"], MaxNumberOfMessages=10
    )
    assert failures.get("Messages", []) == []  # nothing given up on


@pytest.mark.parametrize("status", [S.CANCELLED, S.REFUNDED])
def test_final_statuses_have_no_way_out(status: S) -> None:
    from payments_core.domain import status as machine

    assert machine.MACHINE[status].next == frozenset()
