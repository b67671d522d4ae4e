"""Make moto's DynamoDB behave like DynamoDB where our code depends on it.

1. Atomicity under concurrent requests. moto 5 implements TransactWriteItems by deep-copying every
   table it touches and restoring the copy when a condition fails. Two requests at once (the threaded
   moto server, or threads in a test) can then lose each other's writes: a failed transaction restores
   a snapshot taken before a concurrent successful write. DynamoDB itself is atomic, so the emulator
   serialises moto's DynamoDB requests, each whole (reads included: moto's Query iterates dicts that
   a concurrent write may resize, and its request handler copies and writes live items outside the
   backend). This changes only the interleaving moto allows.
2. Stream reads are serialised with them. Inside a transaction each write appends its stream record at
   once, and a refused transaction takes its records back, so a stream read in between would deliver a
   record that never happened, and moto numbers records by position (`len(items)`), so the next real
   record gets the same sequence number and a reader past it never sees it (a payment's `created` log
   entry went missing that way once concurrent creates of one node made refused transactions common).
3. A refused transaction takes back what it wrote, and only that. moto 5.2 deep-copies the whole table
   for each action of a transaction before it starts (a create's ten actions copied the keys table nine
   times), so a create cost O(table size) and the local stack slowed down as payments piled up; and
   the restored copy carried a copy of the table's stream shard, while open shard iterators (the
   stream poller's) still read the old one, so the stream looked silent from then on. Here the
   transaction saves the items its actions name (as they are before it) and each table's stream length;
   if it is refused, those items are put back and the stream records it appended are dropped, in the
   same shard object. moto's own table copies are skipped (its rollback then restores nothing more).
   A refused transaction thus writes nothing, to the table or its stream, as in DynamoDB.
4. Item answers at DynamoDB's speed. moto 5.2 writes every answer through a serializer driven by the
   operation's output shape, attribute by attribute; for DynamoDB's item-carrying answers that costs
   milliseconds per item (a page of ten payments took ~50 ms to write against ~5 ms for a one-key
   read), a cost DynamoDB has not and that lands on every request of the local stack, the tests and the
   bench. Those answers are already DynamoDB JSON when moto hands them to the serializer (AttributeValue
   dicts, strings and numbers), so they are written with `json.dumps`; an answer holding anything else
   (binary values, timestamps) and every error still go through moto's serializer. The test compares
   both writers on answers with every attribute type.
5. SQS: one FIFO message group in flight at a time, under concurrent receives. moto's ReceiveMessage takes a
   snapshot of the groups with a message in flight and then hands out messages, without a lock; two receives
   at once (the local stack polls a queue with `ScalingConfig: MaximumConcurrency` threads) could both take a
   snapshot without group g and both deliver messages of g, breaking a lane's order; and a delete changing the
   in-flight set while a receive iterates it raised "Set changed size during iteration". Here every SQS backend
   call that reads or changes a queue's messages holds one lock, and a long poll waits outside it (on a
   condition the sends, deletes and visibility changes signal, and at most SQS_RESCAN_SECONDS, so a message
   whose visibility timeout ends is seen) and retries a receive that does not wait.
6. SQS: a FIFO receive returns as many messages of one group as it can. "When receiving messages from a FIFO queue
   with multiple message group IDs, Amazon SQS first attempts to return as many messages with the same message
   group ID as possible" (the SQS developer guide, FIFO delivery logic); moto hands out messages in queue order,
   so a batch of interleaved lanes took one message of each, put every lane in flight at once and left the other
   consumers idle (the local deal worker: ten pollers, one of them busy). Here the first group a receive can
   deliver goes first (its messages in order), then the others in queue order, as moto did.
7. The moto server's request dispatch without a directory scan. moto's DomainDispatcherApplication finds each
   request's backend under one lock, and on the way lists moto's package directory (`os.listdir` and an
   `isdir` per entry: ~200 system calls) for every request; measured with py-spy on the bench's chain section,
   threads waiting for that lock were a quarter of the local stack's samples. The list cannot change while the
   process runs, so it is read once.
8. SQS: a receive's retention check without rebuilding the queue's attributes. For every message it delivers, moto
   checks the retention period through `get_queue_attributes`, which computes every attribute of the queue
   (the approximate counts walk all its messages): a receive of ten cost twenty walks of the queue. Here the
   check reads the queue's retention period itself (the same comparison).
9. Stream records at DynamoDB's speed, as 4. does for items: moto writes GetRecords' answer (each record's old and
   new image) through its shape-driven serializer, attribute by attribute; the log writer's stream poller
   reads every change of every payment, so that was a tenth of the local stack's CPU in the bench's chain
   section (py-spy). The records are DynamoDB JSON already but for one datetime (ApproximateCreationDateTime),
   written as moto's serializer writes it (epoch seconds, milliseconds kept); the test compares both writers.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

_LOCK = threading.RLock()
_SQS = threading.Condition(threading.RLock())  # 5. above
SQS_RESCAN_SECONDS = 0.1
_SQS_CHANGES = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
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
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    # 1. Each DynamoDB request whole, not only its backend calls: moto's request handler deep-copies the
    # item an UpdateItem changes (and writes answers from live items) outside the backend, where another
    # request's update could change the item under it ("dictionary changed size during iteration" came
    # back as a 500 from a cancel racing a worker's claim). 2. The stream reads.
    _lock(DynamoHandler, "call_action")
    for name in _STREAM_READS:
        _lock(DynamoDBStreamsBackend, name)
    transact = DynamoDBBackend.transact_write_items  # 3.

    @functools.wraps(transact)
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        return _transact(transact, backend, transact_items, *args, **kwargs)

    setattr(DynamoDBBackend, "transact_write_items", transact_write_items)  # noqa: B010 - a patch
    _write_items_as_json()
    _serialise_sqs()
    _list_moto_modules_once()
    _retention_from_the_queue()
    _stream_records_as_json()
    _applied = True


def _lock(cls: Any, name: str) -> None:
    original = getattr(cls, name)

    @functools.wraps(original)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    setattr(cls, name, locked)


def _list_moto_modules_once() -> None:
    """7. above."""
    from moto import backends

    modules = frozenset(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010 - a patch


def _retention_from_the_queue() -> None:
    """8. above."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
        period = int(backend.get_queue(queue_name).message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > unix_time())

    setattr(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)  # noqa: B010


def _serialise_sqs() -> None:
    """5. above."""
    import time

    from moto.sqs.models import SQSBackend

    for name in _SQS_CHANGES:
        original = getattr(SQSBackend, name)

        def changing(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _SQS:
                try:
                    return _original(*args, **kwargs)
                finally:
                    _SQS.notify_all()

        setattr(SQSBackend, name, functools.wraps(original)(changing))
    receive = SQSBackend.receive_message

    @functools.wraps(receive)
    def receive_message(
        backend: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any
    ) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        with _SQS:
            while True:
                got = _one_group_first(receive, backend, queue_name, count, *args, **kwargs)
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                _SQS.wait(min(left, SQS_RESCAN_SECONDS))  # releases the lock while it waits

    setattr(SQSBackend, "receive_message", receive_message)  # noqa: B010 - a patch


def _one_group_first(receive: Any, backend: Any, queue_name: str, count: int, *args: Any, **kwargs: Any) -> Any:
    """moto's receive (not waiting) with the first deliverable group's messages moved to the front (6. above); the
    queue's own order is put back after it (less what the receive moved to the dead-letter queue)."""
    queue = backend.get_queue(queue_name)
    messages = list(queue._messages)
    first = None
    if queue.fifo_queue:
        pending = queue.pending_message_groups
        first = next((m.group_id for m in messages if m.visible and not m.delayed and m.group_id not in pending), None)
    if first is None:
        return receive(backend, queue_name, count, 0, *args, **kwargs)
    queue._messages = sorted(messages, key=lambda m: m.group_id != first)  # stable: each group keeps its order
    try:
        return receive(backend, queue_name, count, 0, *args, **kwargs)
    finally:
        kept = {id(m) for m in queue._messages}
        queue._messages = [m for m in messages if id(m) in kept]


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


def _epoch_seconds(value: Any) -> int | float:
    """A datetime as moto's JSON serializer writes a timestamp (its `_timestamp_unixtimestamp`)."""
    import calendar
    from datetime import datetime

    if not isinstance(value, datetime):
        raise TypeError(f"not JSON: {type(value).__name__}")
    seconds = calendar.timegm(value.timetuple())
    return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds


def _stream_records_as_json() -> None:
    """9. above."""
    from moto.core.responses import ActionResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    class StreamRecords(ActionResult):
        def execute_result(self, context: Any) -> Any:
            members = context.operation_model.output_shape.members
            result = self.result
            if not isinstance(result, dict):
                return super().execute_result(context)
            try:
                body = json.dumps({k: v for k, v in result.items() if k in members}, default=_epoch_seconds)
            except TypeError:  # anything else than DynamoDB JSON and datetimes: moto's own serializer
                return super().execute_result(context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    get_records = DynamoDBStreamsHandler.get_records

    @functools.wraps(get_records)
    def fast_get_records(self: Any) -> Any:
        return StreamRecords(get_records(self).result)

    setattr(DynamoDBStreamsHandler, "get_records", fast_get_records)  # noqa: B010 - a patch


def _transact(original: Any, backend: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
    """moto's TransactWriteItems with an item-level rollback (3. above)."""
    with _LOCK:  # held already when the call comes through a request (1. above)
        return _transact_locked(original, backend, transact_items, *args, **kwargs)


def _transact_locked(
    original: Any, backend: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any
) -> Any:
    import copy

    from moto.dynamodb import models

    saved = _items_named(backend, transact_items)
    if saved is None:  # an action moto will refuse for its shape: its own checks answer, as before
        return original(backend, transact_items, *args, **kwargs)
    streams = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in saved if t.stream_shard is not None}
    setattr(models, "copy", _NoTableCopy)  # noqa: B010 - replaces the module's name for the call
    try:
        return original(backend, transact_items, *args, **kwargs)
    except BaseException:
        for table, hash_key, range_key, before in reversed(saved):
            _put_back(table, hash_key, range_key, before)
        for shard, length in streams.values():
            del shard.items[length:]
        raise
    finally:
        setattr(models, "copy", copy)  # noqa: B010


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend during a transaction: a table is not
    copied (the transaction saved what it may change), anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _items_named(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]] | None:
    """(table, hash key, range key, a copy of the item or None) for each action; None if an action is not
    of a shape this can read (unknown table, missing key: moto refuses those before writing anything)."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for action in transact_items:
        if len(action) != 1:
            return None
        (_, op), *_ = action.items()
        table = backend.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
        key = (op.get("Key") or op.get("Item")) if table is not None else None
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            return None
        if table.range_key_attr is not None and table.range_key_attr not in key:
            return None
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        current = table.get_item(hash_key, range_key)
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _put_back(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    items = table.items[hash_key] if range_key is not None else table.items
    slot = range_key if range_key is not None else hash_key
    if before is None:
        items.pop(slot, None)
    else:
        items[slot] = before
