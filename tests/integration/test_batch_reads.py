"""Batch reads on moto: several tables in one BatchGetItem, chunks of 100 keys, unprocessed keys read
again, and the create and list paths' round trips (two stores' reads made together)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from payments_core.store import batch
from payments_core.store.batch import (
    PendingRead,
    TableRead,
    UnprocessedKeysLeft,
    batch_get_tables,
    read_both,
)
from payments_core.store.codec import s
from tests.integration.helpers import Api


@pytest.fixture
def tables(api: Api) -> tuple[Any, str, str]:
    """The moto client and two of the stack's tables, holding 120 and 5 items of this test's own."""
    from payments_core import deps
    from payments_core.settings import get_settings
    from payments_core.store import aws

    deps.payment_deps()  # the stack is provisioned
    settings = get_settings()
    db = aws.dynamodb()
    tag = uuid.uuid4().hex
    for i in range(120):
        db.put_item(TableName=settings.payment_index_table, Item={"pk": s(f"t#{tag}#{i}"), "n": {"N": str(i)}})
    for i in range(5):
        db.put_item(TableName=settings.catalog_table, Item={"pk": s(f"t#{tag}#{i}"), "kind": s("test")})
    return db, settings.payment_index_table, settings.catalog_table, tag  # type: ignore[return-value]


class Recording:
    """A client that passes every call on and keeps the keys each BatchGetItem asked, per table."""

    def __init__(self, inner: Any, unprocessed_rounds: int = 0) -> None:
        self._inner = inner
        self.batches: list[dict[str, int]] = []
        self._unprocessed_rounds = unprocessed_rounds

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:
        self.batches.append({table: len(spec["Keys"]) for table, spec in RequestItems.items()})
        if self._unprocessed_rounds:
            # Answer the first key of each table, hand the others back unprocessed (as a throttled read).
            self._unprocessed_rounds -= 1
            first = {t: {**spec, "Keys": spec["Keys"][:1]} for t, spec in RequestItems.items()}
            rest = {t: {**spec, "Keys": spec["Keys"][1:]} for t, spec in RequestItems.items() if spec["Keys"][1:]}
            resp = self._inner.batch_get_item(RequestItems=first)
            return {"Responses": resp["Responses"], "UnprocessedKeys": rest}
        return self._inner.batch_get_item(RequestItems=RequestItems)


def _keys(tag: str, n: int) -> list[dict[str, Any]]:
    return [{"pk": s(f"t#{tag}#{i}")} for i in range(n)]


def test_two_tables_are_read_in_one_call_and_more_than_100_keys_in_chunks(tables: Any) -> None:
    db, index_table, catalog_table, tag = tables
    rec = Recording(db)
    found = batch_get_tables(
        rec,  # type: ignore[arg-type]
        {
            index_table: TableRead(_keys(tag, 120), consistent=True),
            catalog_table: TableRead(_keys(tag, 5) + _keys("none", 1)),
        },
    )
    assert sorted(int(i["n"]["N"]) for i in found[index_table]) == list(range(120))
    assert len(found[catalog_table]) == 5  # the missing key is simply absent
    # 126 keys: 100 in the first call (over both tables as they come), the rest in the second.
    assert [sum(b.values()) for b in rec.batches] == [100, 26]
    assert rec.batches[1] == {index_table: 20, catalog_table: 6}


def test_unprocessed_keys_are_read_again_and_a_read_that_stays_partial_is_503(
    tables: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, index_table, catalog_table, tag = tables
    rec = Recording(db, unprocessed_rounds=2)
    found = batch_get_tables(rec, {index_table: TableRead(_keys(tag, 4)), catalog_table: TableRead(_keys(tag, 3))})  # type: ignore[arg-type]
    assert (len(found[index_table]), len(found[catalog_table])) == (4, 3)
    assert rec.batches == [
        {index_table: 4, catalog_table: 3},
        {index_table: 3, catalog_table: 2},
        {index_table: 2, catalog_table: 1},
    ]

    class Throttled:
        def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(batch.time, "sleep", lambda _s: None)  # type: ignore[attr-defined]
    with pytest.raises(UnprocessedKeysLeft) as info:
        batch_get_tables(Throttled(), {index_table: TableRead(_keys(tag, 2))})  # type: ignore[arg-type]
    assert (info.value.status_code, info.value.code) == (503, "storage_busy")


def test_read_both_makes_one_call_for_two_tables_of_one_client(tables: Any) -> None:
    db, index_table, catalog_table, tag = tables
    rec = Recording(db)

    def count(raw: list[dict[str, Any]]) -> int:
        return len(raw)

    a = PendingRead(count, rec, index_table, TableRead(_keys(tag, 3)))  # type: ignore[arg-type]
    b = PendingRead(count, rec, catalog_table, TableRead(_keys(tag, 2)))  # type: ignore[arg-type]
    assert read_both(a, b) == (3, 2)
    assert rec.batches == [{index_table: 3, catalog_table: 2}]

    rec.batches.clear()  # the same table twice, or two clients: each read alone
    assert read_both(a, PendingRead(count, rec, index_table, TableRead(_keys(tag, 1)))) == (3, 1)  # type: ignore[arg-type]
    assert read_both(a, PendingRead.ready(7)) == (3, 7)
    assert rec.batches == [{index_table: 3}, {index_table: 1}, {index_table: 3}]


@contextmanager
def dynamodb_operations() -> Iterator[list[str]]:
    """The DynamoDB operations the functions' client makes inside the block (botocore's event hooks)."""
    from payments_core.store import aws

    made: list[str] = []
    client = aws.dynamodb()

    def record(model: Any, **_: Any) -> None:
        made.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", record, unique_id="test-batch-reads")
    try:
        yield made
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="test-batch-reads")


def test_create_and_list_read_the_catalog_and_the_counters_in_one_round_trip(api: Api) -> None:
    token = api.token()
    # The authorizer reads the integration's status once and keeps it (deps.integration_statuses): warm it first,
    # so that what is counted below is the functions' own reads.
    warm = api.call("GET", "/api/v1/payments", token=token, query={"node_id": api.demo["nodes"]["root"]})
    assert warm.status == 200, warm.body
    with dynamodb_operations() as made:
        r = api.call(
            "POST", "/api/v1/payments", token=token, json_body=api.payment_body(wallet_id=api.demo["wallet_id"])
        )
    assert r.status == 201, r.body
    # references + 4 listing counters, then the transaction: nothing else
    assert made == ["BatchGetItem", "TransactWriteItems"]

    node = api.demo["nodes"]["root"]
    with dynamodb_operations() as made:
        r = api.call(
            "GET", "/api/v1/payments", token=token, query={"node_id": node, "wallet_id": api.demo["wallet_id"]}
        )
    assert r.status == 200, r.body
    assert r.json()["total"] == 1
    # node + counter; positions; payments
    assert made == ["BatchGetItem", "BatchGetItem", "BatchGetItem"]
