"""The emulator's fixes: a refused transaction leaves the stream readable and writes nothing to it."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.provision import Stack
from payments_core import deps
from tests.integration.helpers import Api, drain
from tests.support import a_payment


def test_stream_keeps_flowing_after_a_refused_transaction(api: Api, stack: Stack, stream_pollers: list[Any]) -> None:
    token = api.token()
    first = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="a"))
    assert drain(stream_pollers) == 1  # the poller holds its shard iterator from here on
    assert api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="a")).status == 409
    second = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="b"))
    assert drain(stream_pollers) == 1  # the refused transaction wrote nothing; the next create is seen
    assert deps.logs().count(second.json()["id"]) == 1
    assert deps.logs().count(first.json()["id"]) == 1


def test_a_stream_read_waits_for_a_transaction_in_progress(
    api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction whose payment Put has appended its stream record and whose counter condition then fails:
    a stream read started in between waits for the transaction, and never delivers the record taken back."""
    import threading

    import boto3
    from moto.dynamodb.models.table import StreamShard

    from payments_core.store import payments as store_module
    from payments_core.store.payments import CreateContended, DynamoPaymentStore

    table = stack.physical["PaymentsTable"]
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    built = deps.payment_deps().payments
    assert isinstance(built, DynamoPaymentStore)
    store = built
    seen: dict[str, Any] = {}

    class StaleCounts:  # the counters as read before another create took position 1: the transaction is refused
        def __getattr__(self, name: str) -> Any:
            return getattr(store._db, name)

        def batch_get_item(self, **kwargs: Any) -> Any:
            return {"Responses": {}, "UnprocessedKeys": {}}

    def read() -> None:
        seen["records"] = streams.get_records(ShardIterator=iterator)["Records"]

    original_add = StreamShard.add

    def add(self: StreamShard, old: Any, new: Any) -> None:
        original_add(self, old, new)
        if self.table.name == table and "reader" not in seen:
            seen["reader"] = threading.Thread(target=read)
            seen["reader"].start()
            seen["reader"].join(0.3)
            seen["blocked"] = seen["reader"].is_alive()

    item = a_payment(id="p-1", node_id="n-1", external_id="x", network_id="net")
    DynamoPaymentStore(store._db, store._payments, store._index).insert(item._replace(id="p-0", external_id="w"))
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    monkeypatch.setattr(store_module, "_INSERT_BUDGET_S", 0.0)  # one attempt
    monkeypatch.setattr(StreamShard, "add", add)
    stale = DynamoPaymentStore(StaleCounts(), store._payments, store._index)  # type: ignore[arg-type]
    with pytest.raises(CreateContended):
        stale.insert(item)
    seen["reader"].join(5)
    assert seen["blocked"] is True
    assert seen["records"] == []


def test_item_answers_written_as_json_are_what_motos_serializer_writes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast writer of item answers (moto_patches 4.) against moto's own, on every attribute type."""
    import json

    import boto3
    from moto.dynamodb.responses import DynamoResult

    from devstack.moto_patches import PLAIN_JSON_OPERATIONS

    fast = DynamoResult.execute_result
    slow = fast.__wrapped__  # type: ignore[attr-defined]
    compared: list[tuple[str, bool]] = []

    def both(self: Any, context: Any) -> Any:
        ours, theirs = fast(self, context), slow(self, context)
        same = ours[0] == theirs[0] and json.loads(ours[2]) == json.loads(theirs[2])
        compared.append((context.operation_model.name, same))
        return ours

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    db = boto3.client("dynamodb")
    table = stack.physical["PaymentKeysTable"]
    plain: dict[str, Any] = {
        "s": {"S": 'text ü " \\ \n'},
        "n": {"N": "-12.500"},
        "big": {"N": "123456789012345678901234567890.000000001"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
        "empty": {"M": {}},
        "l": {"L": []},
    }
    binary: dict[str, Any] = {"b": {"B": b"\x00\xffbytes"}, "bs": {"BS": [b"\x01", b"\x02"]}}
    for key, extra in (("k-plain", {}), ("k-binary", binary)):
        db.put_item(TableName=table, Item={"pk": {"S": key}, **plain, **extra}, ReturnValues="NONE")
        db.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)
        db.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": key}}, {"pk": {"S": "absent"}}]}})
        db.query(TableName=table, KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": key}})
        db.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {"pk": {"S": key}}}}])
        db.update_item(
            TableName=table,
            Key={"pk": {"S": key}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "7"}},
            ReturnValues="ALL_NEW",
        )
        got = db.delete_item(TableName=table, Key={"pk": {"S": key}}, ReturnValues="ALL_OLD")["Attributes"]
        assert got == {"pk": {"S": key}, **plain, "n": {"N": "7"}, **extra}  # what boto3 reads back is exact
    db.scan(TableName=table, Limit=5)
    assert compared, "no answer went through the patched writer"
    assert all(same for _, same in compared), [op for op, same in compared if not same]
    assert {op for op, _ in compared} == PLAIN_JSON_OPERATIONS


def test_a_refused_transaction_puts_back_only_what_it_touched_without_copying_tables(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto.dynamodb.models.table import Table

    def no_copy(self: Any, memo: Any) -> Any:
        raise AssertionError("a transaction copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", no_copy, raising=False)
    db = boto3.client("dynamodb")
    table = stack.physical["PaymentsTable"]
    arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> list[str]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        return [r["eventName"] for r in streams.get_records(ShardIterator=it["ShardIterator"])["Records"]]

    db.put_item(TableName=table, Item={"id": {"S": "kept"}, "v": {"N": "1"}, "m": {"M": {"x": {"S": "a"}}}})
    db.put_item(TableName=table, Item={"id": {"S": "other"}, "v": {"N": "5"}})
    before = records()
    refused: list[Any] = [
        {
            "Update": {
                "TableName": table,
                "Key": {"id": {"S": "kept"}},
                "UpdateExpression": "SET v = :two, m.x = :b",
                "ExpressionAttributeValues": {":two": {"N": "2"}, ":b": {"S": "b"}},
            }
        },
        {"Put": {"TableName": table, "Item": {"id": {"S": "new"}, "v": {"N": "3"}}}},
        {"Delete": {"TableName": table, "Key": {"id": {"S": "other"}}}},
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"id": {"S": "missing"}},
                "ConditionExpression": "attribute_exists(id)",
            }
        },
    ]
    with pytest.raises(ClientError) as info:
        db.transact_write_items(TransactItems=refused)
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    get = db.get_item
    assert get(TableName=table, Key={"id": {"S": "kept"}})["Item"] == {
        "id": {"S": "kept"},
        "v": {"N": "1"},
        "m": {"M": {"x": {"S": "a"}}},
    }
    assert "Item" not in get(TableName=table, Key={"id": {"S": "new"}})
    assert get(TableName=table, Key={"id": {"S": "other"}})["Item"]["v"] == {"N": "5"}
    assert records() == before  # nothing of the refused transaction reached the stream

    db.transact_write_items(TransactItems=refused[:3])  # the same, minus the failing check: all of it
    assert get(TableName=table, Key={"id": {"S": "kept"}})["Item"]["m"] == {"M": {"x": {"S": "b"}}}
    assert get(TableName=table, Key={"id": {"S": "new"}})["Item"]["v"] == {"N": "3"}
    assert "Item" not in get(TableName=table, Key={"id": {"S": "other"}})
    assert records() == [*before, "MODIFY", "INSERT", "REMOVE"]


def test_concurrent_updates_of_one_item_are_whole_requests(stack: Stack) -> None:
    """moto's UpdateItem handler copies the live item outside the backend: two updates of one item at once
    used to fail one of them ("dictionary changed size during iteration", a 500 to the caller)."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    db = boto3.client("dynamodb")
    table = stack.physical["PaymentsTable"]
    db.put_item(TableName=table, Item={"id": {"S": "busy"}})

    def grow(worker: int) -> None:
        for i in range(150):  # each update adds an attribute: the item's dict changes size
            db.update_item(
                TableName=table,
                Key={"id": {"S": "busy"}},
                UpdateExpression="SET #a = :v",
                ExpressionAttributeNames={"#a": f"w{worker}_{i}"},
                ExpressionAttributeValues={":v": {"N": str(i)}},
                ReturnValues="ALL_NEW",
            )

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(grow, range(3)))  # re-raises the first failure
    item = db.get_item(TableName=table, Key={"id": {"S": "busy"}}, ConsistentRead=True)["Item"]
    assert len(item) == 1 + 3 * 150


def test_a_long_poll_never_delivers_a_fifo_group_another_consumer_has_in_flight(stack: Stack) -> None:
    """Two consumers long-polling a FIFO queue; two messages of one group sent while they wait: only one consumer
    gets a message of the group (moto 5.2 alone gives the second message to the other consumer)."""
    import threading
    import time

    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(
        QueueName="patch-fifo-groups.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "60"},
    )["QueueUrl"]
    got: dict[str, list[str]] = {}

    def consume(name: str) -> None:
        answer = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        got[name] = [m["Body"] for m in answer.get("Messages", [])]

    consumers = [threading.Thread(target=consume, args=(name,)) for name in ("a", "b")]
    for thread in consumers:
        thread.start()
    time.sleep(0.3)
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="lane")
    time.sleep(0.3)
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="lane")
    for thread in consumers:
        thread.join(timeout=10)
    assert sorted(got.values()) == [[], ["first"]], got


def test_the_servers_dispatch_lists_motos_modules_without_a_directory_scan(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto_patches 7.: the backend list the server's dispatcher reads on every request is read once."""
    import os

    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    def no_scan(path: str) -> list[str]:
        raise AssertionError(f"listed {path}")

    monkeypatch.setattr(os, "listdir", no_scan)
    dispatcher = DomainDispatcherApplication(create_app=lambda service: service)  # type: ignore[arg-type,return-value]
    assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
    assert dispatcher.get_backend_for_host("sqs") == "sqs"
    assert "s3" in backends.list_of_moto_modules()


def test_a_receive_checks_retention_without_computing_the_queues_attributes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto_patches 8.: a message within the retention period is delivered, one past it is not, and no delivery
    rebuilds the queue's attributes (which walk every message)."""
    import boto3
    from moto.sqs.models import SQSBackend

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="patch-retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue("patch-retention")
    old = next(m for m in queue._messages if m.body == "old")
    old.sent_timestamp = int(old.sent_timestamp or 0) - 61_000  # type: ignore[assignment]  # 61 s ago: past the 60 s retention

    def walked(*args: object, **kwargs: object) -> None:
        raise AssertionError("the receive computed the queue's attributes")

    monkeypatch.setattr(SQSBackend, "get_queue_attributes", walked)
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in answer.get("Messages", [])] == ["new"]


def test_stream_records_written_as_json_are_what_motos_serializer_writes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto_patches 9.: the records boto3 reads through the fast GetRecords writer are the ones it reads through
    moto's own (same records, read twice from the same sequence number), old and new images included."""
    import boto3
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    db = boto3.client("dynamodb")
    streams = boto3.client("dynamodbstreams")
    table = stack.physical["PaymentsTable"]
    arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][-1]
    start = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")
    item: dict[str, Any] = {
        "id": {"S": "stream-json"}, "n": {"N": "1.50"}, "m": {"M": {"l": {"L": [{"S": "ü"}, {"NULL": True}]}}},
    }  # fmt: skip
    db.put_item(TableName=table, Item=item)
    db.update_item(
        TableName=table, Key={"id": {"S": "stream-json"}}, UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "2"}},
    )  # fmt: skip
    ours = streams.get_records(ShardIterator=start["ShardIterator"])["Records"]
    first = ours[0]["dynamodb"]["SequenceNumber"]
    again = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first
    )
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", DynamoDBStreamsHandler.get_records.__wrapped__)  # type: ignore[attr-defined]
    theirs = streams.get_records(ShardIterator=again["ShardIterator"])["Records"]
    assert [r["eventName"] for r in ours] == ["INSERT", "MODIFY"]
    assert ours[1]["dynamodb"]["OldImage"] == item
    assert ours[1]["dynamodb"]["NewImage"] == {**item, "n": {"N": "2"}}
    assert ours == theirs
