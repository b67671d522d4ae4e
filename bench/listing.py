"""(c) Listing latency does not depend on how many payments a node has: the list handler for a node
with 20,000 payments next to one with 1,000, same table, same backend, interleaved, at page 1 and at
a deeper page.

Seeding: each payment goes through the real domain code (`payments.create_payment`, with a catalog
read once and a queue that drops messages) and the real `DynamoPaymentStore.insert`, whose transaction is
recorded instead of sent (its counter reads answered from the recorded counters); the recorded
writes are then replayed in batches (its Puts with BatchWriteItem, its `ADD` counter updates summed
into one UpdateItem per counter). So the items, guards, counters and list positions are whatever
`insert` writes, without 21,000 transactions.
The first payment of each node is inserted for real, and a replayed one is checked against it.
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bench import events
from bench.capture import Call, method_of, recording
from bench.report import Result, median, summary_ms
from bench.stack import BenchStack
from devstack import lambdas

if TYPE_CHECKING:
    from payments_core.store.payments import DynamoPaymentStore

TARGET = 1.3
FUNCTION = "ListPaymentsFunction"
BATCH = 25
MAX_BATCH_ROUNDS = 50
WARMUP_ROUNDS = 1
_ADD = re.compile(r"^\s*ADD\s+(#?\w+)\s+(:\w+)\s*$")


def _read_once_catalog(inner: Any) -> Any:
    from collections.abc import Sequence

    from payments_core.domain.entities import CatalogEntry
    from payments_core.domain.stores import CatalogEntries
    from payments_core.store.batch import PendingRead
    from payments_core.store.catalog import DynamoCatalogStore

    class ReadOnceCatalog(DynamoCatalogStore):
        """The real catalog, each set of references read once (the seed creates thousands)."""

        def __init__(self) -> None:
            super().__init__(inner._db, inner._table)
            self._memo: dict[tuple[tuple[type[CatalogEntry], str], ...], CatalogEntries] = {}

        def read_many(self, refs: Sequence[tuple[type[CatalogEntry], str]]) -> PendingRead[CatalogEntries]:
            key = tuple(refs)
            if key in self._memo:
                return PendingRead.ready(self._memo[key])
            return super().read_many(refs).then(lambda found: self._memo.setdefault(key, found))

    return ReadOnceCatalog()


class _DropQueue:
    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        return str(uuid.uuid4())


class RecordedWrites:
    """Stands in for the DynamoDB client of `DynamoPaymentStore.insert`: keeps its transactions, sends nothing."""

    def __init__(self, db: Any) -> None:
        self._db = db  # read only: the counters as stored before the replay
        self.puts: dict[str, list[dict[str, Any]]] = defaultdict(list)  # table -> items
        self.adds: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)  # (table, key json, attr) -> sum

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        for action in TransactItems:
            (kind, op), *rest = action.items()
            if rest or kind not in ("Put", "Update"):
                raise RuntimeError(f"the batch seed replays Puts and ADD updates only, not {list(action)}")
            if kind == "Put":
                self.puts[op["TableName"]].append(op["Item"])
                continue
            found = _ADD.match(op["UpdateExpression"])
            if not found:
                raise RuntimeError(f"the batch seed replays ADD updates only, not {op['UpdateExpression']!r}")
            attr = str((op.get("ExpressionAttributeNames") or {}).get(found[1], found[1]))
            amount = Decimal(op["ExpressionAttributeValues"][found[2]]["N"])
            self.adds[(op["TableName"], json.dumps(op["Key"], sort_keys=True), attr)] += amount
        return {}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        """`insert` reads its listings' counters: what the table holds plus what the recorded ADDs add."""
        stored = self._db.batch_get_item(RequestItems=RequestItems)
        if stored.get("UnprocessedKeys"):
            raise RuntimeError("the seed's counter read came back partial")
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, spec in RequestItems.items():
            found = {json.dumps({"pk": i["pk"]}, sort_keys=True): i for i in stored["Responses"].get(table, [])}
            for key in spec["Keys"]:
                k = json.dumps(key, sort_keys=True)
                n = Decimal(found[k]["n"]["N"]) if k in found else Decimal(0)
                n += self.adds.get((table, k, "n"), Decimal(0))
                if n:
                    responses.setdefault(table, []).append({**key, "n": {"N": str(n)}})
        return {"Responses": responses, "UnprocessedKeys": {}}

    def replay(self, db: Any) -> None:
        for table, items in self.puts.items():
            _batch_write(db, table, items)
        for (table, key, attr), amount in self.adds.items():
            db.update_item(
                TableName=table,
                Key=json.loads(key),
                UpdateExpression="ADD #a :k",
                ExpressionAttributeNames={"#a": attr},
                ExpressionAttributeValues={":k": {"N": str(amount)}},
            )


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
    from payments_core.store.payments import DynamoPaymentStore

    demo = bench.demo
    node = admin.create_node(deps.catalog(), name)
    wallet = admin.create_wallet(
        deps.catalog(), node_id=node.id, network_id=demo["network_id"], address=f"0x{uuid.uuid4().hex:0>40}"
    )
    principal = Principal(actor_type="integration", actor_id=f"ci_bench_{uuid.uuid4().hex[:12]}", node_id=node.id)
    real = deps.payment_deps()
    catalog = _read_once_catalog(real.catalog)
    real_store = real.payments
    assert isinstance(real_store, DynamoPaymentStore)
    recorded = RecordedWrites(real_store._db)
    tables = (real_store._payments, real_store._index)

    def deps_with(client: Any) -> Any:
        store = DynamoPaymentStore(client, *tables)
        return payments.PaymentDeps(catalog=catalog, payments=store, deal_queue=_DropQueue())  # type: ignore[arg-type]

    for_real, batched = deps_with(real_store._db), deps_with(recorded)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    body = {
        "node_id": node.id,
        "network_id": demo["network_id"],
        "currency_id": demo["currency_id"],
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "expires_at": expires,
    }
    started = time.perf_counter()
    ids = []
    for i in range(count):
        extra = {"wallet_id": wallet.id} if i % 2 == 0 else {}
        price = Decimal(f"{10 + i % 97}.5")
        req = CreatePaymentRequest.model_validate(
            {**body, **extra, "external_id": f"seed-{i:06d}", "price": price, "paid_price": price}
        )
        # The first one for real: the reference the replayed ones are checked against.
        ids.append(str(payments.create_payment(for_real if i == 0 else batched, principal, req).id))
    built = time.perf_counter() - started
    recorded.replay(real_store._db)
    if count > 2:
        _check_same_layout(real_store._db, tables[0], ids[0], ids[2])
    _check_positions(real_store, node.id, ids)
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
        raise RuntimeError(f"the batch path writes another layout than DynamoPaymentStore.insert: {a} vs {b}")


def _check_positions(store: DynamoPaymentStore, node_id: str, ids: list[str]) -> None:
    """The replayed positions list the node exactly as created: newest first, the first one last."""
    from payments_core.store.payments import listing_for

    listing = listing_for(node_id)
    total, newest = store.page(listing, 0, 1)
    _, oldest = store.page(listing, len(ids) - 1, 1)
    if (total, newest[0].id, oldest[0].id) != (len(ids), ids[-1], ids[0]):
        raise RuntimeError(f"the seeded listing is not the created one: total {total} of {len(ids)}")


def _list_event(seeded: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    p = seeded["principal"]
    return events.list_payments(p.actor_id, p.node_id, seeded["node"].id, page=page, per_page=per_page)


def _items_read(calls: list[Call]) -> int:
    """Items DynamoDB reads (and bills) for the calls: keys found by GetItem and BatchGetItem, items
    scanned by Query and Scan."""
    read = 0
    for c in calls:
        if c.operation in ("Query", "Scan"):
            read += int(c.response.get("ScannedCount", 0))
        elif c.operation == "BatchGetItem":
            read += sum(len(items) for items in c.response.get("Responses", {}).values())
        elif c.operation == "GetItem":
            read += 1 if c.response.get("Item") else 0
    return read


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
                note="the backend's share: " + " + ".join(c.operation for c in recorded["big"]),
            )
        )
        results.append(
            Result(
                section="list",
                name=f"  items read per call, {label}",
                value=_items_read(recorded["big"]),
                baseline=_items_read(recorded["small"]),
                unit="items",
                note="items read by key or scanned, summed: what DynamoDB reads and bills",
            )
        )
        print(f"  list {label}: {results[-3].value:.1f} ms vs {results[-3].baseline:.1f} ms", file=sys.stderr)
    return results
