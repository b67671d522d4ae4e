"""BatchGetItem with what every caller needs: chunks of 100 keys and UnprocessedKeys read again; and two
stores' reads made in one round trip (`read_both`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from payments_core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem call, over all its tables
_MAX_ROUNDS = 10

Item = dict[str, Any]


class UnprocessedKeysLeft(ServiceUnavailable):
    """DynamoDB kept throttling part of a batch read: 503, never a partial result."""

    code = "storage_busy"


class TableRead(NamedTuple):
    """One table's part of a BatchGetItem request."""

    keys: list[Item]
    consistent: bool = False
    projection: str | None = None
    names: dict[str, str] | None = None

    def spec(self, keys: list[Item]) -> dict[str, Any]:
        spec: dict[str, Any] = {"Keys": keys, "ConsistentRead": self.consistent}
        if self.projection:
            spec["ProjectionExpression"] = self.projection
        if self.names:
            spec["ExpressionAttributeNames"] = self.names
        return spec


def batch_get_tables(db: DynamoDBClient, reads: dict[str, TableRead]) -> dict[str, list[Item]]:
    """The raw items found of each table's keys (any order), in as few calls as DynamoDB allows (100 keys
    a call, whatever their tables). Unprocessed keys are asked again with jittered backoff, as the AWS SDK
    guidance for batch operations says; a read that stays partial raises."""
    found: dict[str, list[Item]] = {table: [] for table in reads}
    flat = [(table, key) for table, read in reads.items() for key in read.keys]
    for start in range(0, len(flat), MAX_KEYS):
        chunk: dict[str, list[Item]] = {}
        for table, key in flat[start : start + MAX_KEYS]:
            chunk.setdefault(table, []).append(key)
        request: dict[str, Any] = {table: reads[table].spec(keys) for table, keys in chunk.items()}
        for attempt in range(_MAX_ROUNDS):
            resp = db.batch_get_item(RequestItems=request)
            for table, items in resp.get("Responses", {}).items():
                found[table].extend(items)
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        else:
            raise UnprocessedKeysLeft("The data store is busy; try again")
    return found


def batch_get(
    db: DynamoDBClient,
    table: str,
    keys: list[Item],
    *,
    consistent: bool = False,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[Item]:
    """The raw items of one table's `keys` that exist (any order); see batch_get_tables."""
    return batch_get_tables(db, {table: TableRead(keys, consistent, projection, names)})[table]


class PendingRead[T](NamedTuple):
    """A store's batch read, described but not yet made: a table's keys, and what the store makes of
    the items found. `run()` makes it alone; `read_both` makes two of them in one round trip."""

    answer: Callable[[list[Item]], T]
    db: DynamoDBClient | None = None  # None: an answer that needs no read (see `ready`)
    table: str = ""
    read: TableRead = TableRead([])  # never changed: a read's keys are set when it is made

    @staticmethod
    def ready[V](value: V) -> PendingRead[V]:
        """An answer already known (an in-memory store's)."""
        return PendingRead(lambda _items: value)

    def then[V](self, answer: Callable[[T], V]) -> PendingRead[V]:
        """The same read, its answer passed on through `answer`."""
        return PendingRead(lambda items: answer(self.answer(items)), self.db, self.table, self.read)

    def run(self) -> T:
        if self.db is None or not self.read.keys:
            return self.answer([])
        return self.answer(batch_get_tables(self.db, {self.table: self.read})[self.table])


def read_both[T, U](first: PendingRead[T], second: PendingRead[U]) -> tuple[T, U]:
    """Both reads' answers, from one BatchGetItem call when they are of two tables of one client (one
    round trip less on a request's path); otherwise each is made alone."""
    if first.db is None or first.db is not second.db or first.table == second.table:
        return first.run(), second.run()
    found = batch_get_tables(first.db, {first.table: first.read, second.table: second.read})
    return first.answer(found[first.table]), second.answer(found[second.table])
