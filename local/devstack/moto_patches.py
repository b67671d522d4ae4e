"""Make moto's DynamoDB behave like DynamoDB where our code depends on it.

1. Atomicity under concurrent requests. moto 5 implements TransactWriteItems by deep-copying every
   table it touches and restoring the copy when a condition fails. Two requests at once (the threaded
   moto server, or threads in a test) can then lose each other's writes: a failed transaction restores
   a snapshot taken before a concurrent successful write. DynamoDB itself is atomic, so the emulator
   serialises moto's DynamoDB operations (reads included: moto's Query iterates dicts that a
   concurrent write may resize). This changes only the interleaving moto allows.
2. Stream reads are serialised with them. Inside a transaction each write appends its stream record at
   once, and a refused transaction takes its records back, so a stream read in between would deliver a
   record that never happened, and moto numbers records by position (`len(items)`), so the next real
   record gets the same sequence number and a reader past it never sees it (a payment's `created` log
   entry went missing that way once concurrent creates of one node made refused transactions common).
3. Streams after a failed transaction. The restored copy carries a copy of the table's stream shard,
   while open shard iterators (the stream poller's) still read the old shard object: from then on the
   stream looks silent. After a transaction the original shard object is put back, holding the
   restored (pre-transaction) records, so a refused transaction writes nothing to the stream, as in
   DynamoDB, and readers keep reading.
4. Item answers at DynamoDB's speed. moto 5.2 writes every answer through a serializer driven by the
   operation's output shape, attribute by attribute; for DynamoDB's item-carrying answers that costs
   milliseconds per item (a page of ten payments took ~50 ms to write against ~5 ms for a one-key
   read), a cost DynamoDB has not and that lands on every request of the local stack, the tests and the
   bench. Those answers are already DynamoDB JSON when moto hands them to the serializer (AttributeValue
   dicts, strings and numbers), so they are written with `json.dumps`; an answer holding anything else
   (binary values, timestamps) and every error still go through moto's serializer. The test compares
   both writers on answers with every attribute type.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

_LOCK = threading.RLock()
# Reads too: moto's Query and Scan iterate the table's dicts, which a concurrent write may resize
# ("dictionary changed size during iteration" comes back as a 500).
_WRITES = (
    "transact_write_items",
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "get_item",
    "batch_get_item",
    "query",
    "scan",
    "transact_get_items",
)
_STREAM_READS = ("describe_stream", "get_shard_iterator", "get_records")
# The operations whose answers are items (or nothing): written as they are (4. above).
PLAIN_JSON_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactGetItems",
    }
)
_applied = False


def apply() -> None:
    global _applied  # noqa: PLW0603 - patch once per process
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    for backend_class, names in ((DynamoDBBackend, _WRITES), (DynamoDBStreamsBackend, _STREAM_READS)):
        for name in names:
            original = getattr(backend_class, name, None)
            if original is None:
                continue

            def locked(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
                with _LOCK:
                    if __name != "transact_write_items":
                        return __original(*args, **kwargs)
                    backend = args[0]
                    shards = {n: t.stream_shard for n, t in backend.tables.items() if t.stream_shard is not None}
                    try:
                        return __original(*args, **kwargs)
                    finally:
                        _keep_stream_shards(backend, shards)

            setattr(backend_class, name, functools.wraps(original)(locked))
    _write_items_as_json()
    _applied = True


def _write_items_as_json() -> None:
    from moto.dynamodb.responses import DynamoResult

    serialize = DynamoResult.execute_result

    @functools.wraps(serialize)
    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in PLAIN_JSON_OPERATIONS and isinstance(self.result, dict):
            members = context.operation_model.output_shape.members  # moto adds a few the answer has not
            try:
                body = json.dumps({k: v for k, v in self.result.items() if k in members})
            except TypeError:  # not DynamoDB JSON yet (bytes, datetimes): moto's own serializer
                return serialize(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return serialize(self, context)

    setattr(DynamoResult, "execute_result", execute_result)  # noqa: B010 - a patch, not an assignment mypy allows


def _keep_stream_shards(backend: Any, shards: dict[str, Any]) -> None:
    for name, shard in shards.items():
        table = backend.tables.get(name)
        if table is None or table.stream_shard is shard:
            continue
        restored = table.stream_shard
        shard.items = restored.items if restored is not None else shard.items
        shard.table = table
        table.stream_shard = shard
