"""(c) Listing latency does not depend on how many payments a node has: the list handler for a node
with 20,000 payments next to one with 1,000, same table, same backend, interleaved, at page 1 and at
a deeper page.

Seeding: each payment record is built by the real domain code (`payments.create_payment`, with a
catalog read once and a queue that drops messages), and written with the same helpers and layout as
`PaymentStore.insert` (item + index attributes, its external-id guard, `ADD n` on each counter), in
batches. The first payment of each node goes through the real `PaymentStore.insert` and the batch
path is checked against it: same attributes, same types.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import events
from bench.capture import Call, method_of, recording
from bench.report import Result, median, summary_ms
from bench.stack import BenchStack
from devstack import lambdas

TARGET = 1.3
FUNCTION = "ListPaymentsFunction"
BATCH = 25
MAX_BATCH_ROUNDS = 50
WARMUP_ROUNDS = 1


def _stores() -> tuple[Any, Any]:
    from payments_core.store.catalog import CatalogStore
    from payments_core.store.payments import PaymentStore

    class ReadOnceCatalog(CatalogStore):
        """The real catalog, each set of references read once (the seed creates thousands)."""

        def __init__(self, inner: CatalogStore) -> None:
            super().__init__(inner._db, inner._table)
            self._memo: dict[tuple[tuple[str, str], ...], dict[tuple[str, str], dict[str, Any]]] = {}

        def get_many(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
            key = tuple(refs)
            if key not in self._memo:
                self._memo[key] = super().get_many(refs)
            return self._memo[key]

    class CollectingStore(PaymentStore):
        """Keeps what `insert` is given; the bench writes it in batches."""

        def __init__(self, inner: PaymentStore) -> None:
            super().__init__(inner._db, inner._payments, inner._keys)
            self.records: list[dict[str, Any]] = []

        def insert(self, item: dict[str, Any]) -> None:
            self.records.append(item)

    return ReadOnceCatalog, CollectingStore


class _DropQueue:
    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        return str(uuid.uuid4())


def _batch_write(db: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), BATCH):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH]]}
        for _ in range(MAX_BATCH_ROUNDS):
            if not request:
                break
            request = db.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        else:
            raise RuntimeError("batch_write_item kept returning unprocessed items")


def seed_node(bench: BenchStack, name: str, count: int) -> dict[str, Any]:
    """A new node (with its own wallet) holding `count` payments; returns the node and its principal."""
    from payments_core import deps
    from payments_core.domain import catalog as admin
    from payments_core.domain import payments
    from payments_core.domain.access import Principal
    from payments_core.models.payments import CreatePaymentRequest
    from payments_core.store.codec import to_item
    from payments_core.store.payments import guard_key, index_attributes, listings_of

    read_once_catalog, collecting_store = _stores()
    demo = bench.demo
    node = admin.create_node(deps.catalog(), name)
    wallet = admin.create_wallet(
        deps.catalog(), node_id=node["id"], network_id=demo["network_id"], address=f"0x{uuid.uuid4().hex:0>40}"
    )
    principal = Principal(actor_type="integration", actor_id=f"ci_bench_{uuid.uuid4().hex[:12]}", node_id=node["id"])
    real = deps.payments()
    collecting = collecting_store(real.payments)
    fake = payments.PaymentDeps(
        catalog=read_once_catalog(real.catalog),
        payments=collecting,
        create_queue=_DropQueue(),  # type: ignore[arg-type]
    )
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    body = {
        "node_id": node["id"],
        "network_id": demo["network_id"],
        "currency_id": demo["currency_id"],
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "expires_at": expires,
    }
    started = time.perf_counter()
    for i in range(count):
        extra = {"wallet_id": wallet["id"]} if i % 2 == 0 else {}
        price = Decimal(f"{10 + i % 97}.5")
        req = CreatePaymentRequest.model_validate(
            {**body, **extra, "external_id": f"seed-{i:06d}", "price": price, "paid_price": price}
        )
        payments.create_payment(fake, principal, req)
    built = time.perf_counter() - started

    records = collecting.records
    db = real.payments._db
    real.payments.insert(records[0])  # the reference item, through the real transaction
    items = [to_item({**r, **index_attributes(r)}) for r in records[1:]]
    guards = [to_item({"pk": guard_key(r["node_id"], r["external_id"]), "payment_id": r["id"]}) for r in records[1:]]
    counters = Counter(listing.counter for r in records[1:] for listing in listings_of(r))
    _batch_write(db, real.payments._payments, items)
    _batch_write(db, real.payments._keys, guards)
    for counter, n in counters.items():
        db.update_item(
            TableName=real.payments._keys,
            Key={"pk": {"S": counter}},
            UpdateExpression="ADD n :k",
            ExpressionAttributeValues={":k": {"N": str(n)}},
        )
    _check_same_layout(db, real.payments._payments, records[0]["id"], records[2]["id"])
    written = time.perf_counter() - started - built
    print(f"  seeded {count} payments for {name}: built in {built:.1f}s, written in {written:.1f}s", file=sys.stderr)
    return {"node": node, "principal": principal, "count": count}


def _check_same_layout(db: Any, table: str, inserted_id: str, batched_id: str) -> None:
    """Both have a wallet (even payments): the same attribute names, with the same types."""

    def layout(payment_id: str) -> dict[str, str]:
        item = db.get_item(TableName=table, Key={"id": {"S": payment_id}})["Item"]
        return {k: next(iter(v)) for k, v in item.items()}

    a, b = layout(inserted_id), layout(batched_id)
    if a != b:
        raise RuntimeError(f"the batch path writes another layout than PaymentStore.insert: {a} vs {b}")


def _list_event(seeded: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    p = seeded["principal"]
    return events.list_payments(p.actor_id, p.node_id, seeded["node"]["id"], page=page, per_page=per_page)


def _items_read(calls: list[Call]) -> int:
    return sum(int(c.response.get("ScannedCount", 0)) for c in calls if c.operation == "Query")


def run(bench: BenchStack, big: int, small: int, iterations: int, pages: tuple[int, ...] = (1, 50)) -> list[Result]:
    from payments_core.store import aws

    bench.use_in_process(FUNCTION)
    small_node = seed_node(bench, f"Bench {small} payments", small)
    big_node = seed_node(bench, f"Bench {big} payments", big)
    bench.use_in_process(FUNCTION)
    handler = lambdas.handler_of(FUNCTION)
    ctx = lambdas.LambdaContext(function_name=FUNCTION)
    per_page = 10
    results: list[Result] = []
    for page in pages:
        evs = {"big": _list_event(big_node, page, per_page), "small": _list_event(small_node, page, per_page)}
        recorded: dict[str, list[Call]] = {}
        for key, event in evs.items():
            with recording(aws.dynamodb()) as calls:
                answer = handler(event, ctx)
            if answer["statusCode"] != 200:
                raise RuntimeError(f"list answered {answer['statusCode']}: {answer['body']}")
            recorded[key] = calls
        raw_client = aws.dynamodb()

        def replay(calls: list[Call], client: Any = raw_client) -> None:
            for c in calls:
                method_of(client, c.operation)(**c.params)

        times: dict[str, list[float]] = {"big": [], "small": [], "raw_big": [], "raw_small": []}
        for i in range(iterations + WARMUP_ROUNDS):
            order = ("big", "small") if i % 2 == 0 else ("small", "big")
            for key in order:
                start = time.perf_counter()
                answer = handler(evs[key], ctx)
                elapsed = time.perf_counter() - start
                if answer["statusCode"] != 200:
                    raise RuntimeError(f"list answered {answer['statusCode']}: {answer['body']}")
                start = time.perf_counter()
                replay(recorded[key])
                raw_elapsed = time.perf_counter() - start
                if i >= WARMUP_ROUNDS:
                    times[key].append(elapsed)
                    times[f"raw_{key}"].append(raw_elapsed)
        overhead = {
            key: median([h - r for h, r in zip(times[key], times[f"raw_{key}"], strict=True)]) * 1000
            for key in ("big", "small")
        }
        label = f"page {page}, per_page {per_page}"
        extra: dict[str, Any] = {k: summary_ms(v) for k, v in times.items()}
        extra["handler_minus_raw_p50_ms"] = overhead
        results.append(
            Result(
                section="list",
                name=f"{FUNCTION} {big} vs {small} payments, {label}",
                value=median(times["big"]) * 1000,
                baseline=median(times["small"]) * 1000,
                unit="ms",
                target=TARGET,
                note=f"p50 of {iterations} each, in process",
                extra=extra,
            )
        )
        results.append(
            Result(
                section="list",
                name=f"  same DynamoDB calls replayed raw, {label}",
                value=median(times["raw_big"]) * 1000,
                baseline=median(times["raw_small"]) * 1000,
                unit="ms",
                note=" + ".join(c.operation for c in recorded["big"])
                + f"; handler minus raw (paired p50): {overhead['big']:.1f} vs {overhead['small']:.1f} ms",
            )
        )
        results.append(
            Result(
                section="list",
                name=f"  index items read per call, {label}",
                value=_items_read(recorded["big"]),
                baseline=_items_read(recorded["small"]),
                unit="items",
                note="Query ScannedCount, summed: what DynamoDB reads and bills",
            )
        )
        print(f"  list {label}: {results[-3].value:.1f} ms vs {results[-3].baseline:.1f} ms", file=sys.stderr)
    return results
