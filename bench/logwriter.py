"""Issue 3's benchmarks.

(e) Log writer throughput: stream records per second through the real LogWriterFunction handler,
    in-process on moto (the records are real stream records of real payment changes).
(f) On the local stack (HTTP, the devstack's stream poller): the time from a change (a cancel) to its
    log entry being readable through GET /api/v1/payments/{id}/logs, p50 and p95.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from bench.report import Result, percentile

LOG_CHANGES = 2_000
LATENCY_SAMPLES = 40
POLL_S = 0.01


def _throughput() -> Result:
    import boto3
    from moto import mock_aws

    from devstack import lambdas, runtime
    from devstack.provision import provision
    from devstack.seed import seed_demo
    from payments_core import deps
    from payments_core.domain import lifecycle
    from payments_core.domain.lifecycle import Actor
    from payments_core.domain.payments import PaymentDeps

    # In-process moto: no endpoint of an earlier (stopped) moto server may be left in the environment.
    for name in ("AWS_ENDPOINT_URL", "LOCAL_ENDPOINT_URL"):
        os.environ.pop(name, None)
    for name, value in (
        ("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ):
        os.environ.setdefault(name, value)
    with mock_aws():
        stack = provision(boto3.session.Session())
        runtime.apply_environment(stack.operator_environment())  # the seed and the creates below, then the writer
        demo = seed_demo(deps.catalog(), api_url="bench")
        from payments_core.domain.access import Principal
        from payments_core.domain.entities import Payment
        from payments_core.domain.payments import create_payment
        from payments_core.models.payments import CreatePaymentRequest

        principal = Principal("integration", "bench", demo["nodes"]["root"])
        payment_deps: PaymentDeps = deps.payment_deps()
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        records: list[Payment] = []
        for i in range(20):
            req = CreatePaymentRequest.model_validate(
                {
                    "external_id": f"bench-{i}", "node_id": demo["nodes"]["root"], "network_id": demo["network_id"],
                    "currency_id": demo["currency_id"], "price": 1, "paid_price": 1, "payment_method": "credit_card",
                    "payment_group": "product", "payment_address": "0x" + "1" * 40, "expires_at": expires,
                }
            )  # fmt: skip
            created = create_payment(payment_deps, principal, req)
            found = deps.payment_store().get(str(created.id))
            assert found is not None
            records.append(found)
        store = deps.payment_store()
        for n in range(LOG_CHANGES // len(records) - 1):
            records = [
                lifecycle.move(
                    store, r, to=None, actor=Actor("system", "bench"), event_type="retry_sent", message=str(n)
                )
                for r in records
            ]
        streams = boto3.client("dynamodbstreams")
        arn = stack.attributes[("PaymentsTable", "StreamArn")]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        raw: list[dict[str, Any]] = []
        while iterator and len(raw) < LOG_CHANGES:
            resp = streams.get_records(ShardIterator=iterator, Limit=1000)
            raw += resp["Records"]
            iterator = resp.get("NextShardIterator")
            if not resp["Records"]:
                break
        batches = [
            {"Records": [{**r, "eventSourceARN": arn} for r in raw[i : i + 100]]} for i in range(0, len(raw), 100)
        ]
        lambdas.invoke("LogWriterFunction", batches[0])  # warm: the handler's first invocation is not counted
        started = time.perf_counter()
        for batch in batches[1:]:
            lambdas.invoke("LogWriterFunction", batch)
        seconds = time.perf_counter() - started
        count = sum(len(b["Records"]) for b in batches[1:])
        runtime.reset_process_caches()
    return Result(
        "logs",
        "LogWriterFunction throughput (in-process, moto)",
        count / seconds,
        "rec/s",
        note=f"{count} stream records in batches of 100; each record = 1 conditional TransactWriteItems",
    )


def _latency() -> list[Result]:
    from devstack.launch import local_stack

    with TemporaryDirectory() as tmp, local_stack(Path(tmp), chain=False, workers=False) as stack:
        api = stack.api_url
        with httpx.Client(base_url=api, timeout=30) as http:
            token = http.post("/api/v1/auth/token", json=stack.demo["integrations"]["root"]).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
            body = {
                "node_id": stack.demo["nodes"]["root"], "network_id": stack.demo["network_id"],
                "currency_id": stack.demo["currency_id"], "price": 1, "paid_price": 1, "payment_method": "credit_card",
                "payment_group": "product", "payment_address": "0x" + "1" * 40, "expires_at": expires,
            }  # fmt: skip
            ids = []
            for i in range(LATENCY_SAMPLES):
                created = http.post("/api/v1/payments", json={**body, "external_id": f"lat-{i}"}, headers=headers)
                created.raise_for_status()
                ids.append(created.json()["id"])

            def logged(url: str) -> int:
                r = http.get(url, headers=headers)
                r.raise_for_status()
                return int(r.json()["total"])

            def one(payment_id: str) -> float:
                # wait until the create is logged, so what is timed is the cancel's own entry
                deadline = time.monotonic() + 30
                url = f"/api/v1/payments/{payment_id}/logs"
                while logged(url) < 1 and time.monotonic() < deadline:
                    time.sleep(POLL_S)
                started = time.perf_counter()
                http.post(f"/api/v1/payments/{payment_id}/cancel", headers=headers).raise_for_status()
                while time.monotonic() < deadline:
                    if logged(url) >= 2:
                        return time.perf_counter() - started
                    time.sleep(POLL_S)
                raise TimeoutError("the cancel was not logged within 30 s")

            with ThreadPoolExecutor(max_workers=4) as pool:
                samples = [s * 1000 for s in pool.map(one, ids)]
    note = f"{len(samples)} cancels; the local stack polls the stream about once a second, as Lambda's mapping"
    return [
        Result("logs", "change -> log readable, p50 (local stack)", percentile(samples, 50), "ms", note=note),
        Result("logs", "change -> log readable, p95 (local stack)", percentile(samples, 95), "ms", note=note),
    ]


def run() -> list[Result]:
    return [_throughput(), *_latency()]
