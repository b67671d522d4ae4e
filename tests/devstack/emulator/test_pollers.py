"""Event source mappings of the local stack (devstack.pollers) against moto, in-process.

Hand-made EventSource objects and tiny handlers: the template declares no SQS or stream events yet,
the pollers are generic.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import lambdas, runtime
from devstack import template as tpl
from devstack.pollers import (
    BatchOutcome,
    PollerThreads,
    SqsPoller,
    StreamPoller,
    build_pollers,
    failed_item_ids,
)
from devstack.provision import provision
from devstack.server import FunctionInvoker

REGION = "us-east-1"
DEADLINE_SECONDS = 20.0


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {
            "sqs": boto3.client("sqs", region_name=REGION),
            "ddb": boto3.client("dynamodb", region_name=REGION),
            "streams": boto3.client("dynamodbstreams", region_name=REGION),
        }


def sqs_source(batch_size: int = 10, *, report: bool = False, **props: Any) -> tpl.EventSource:
    return tpl.EventSource("Consumer", "SQS", "Queue", batch_size, report, props)


def stream_source(batch_size: int = 100, *, report: bool = False, **props: Any) -> tpl.EventSource:
    return tpl.EventSource("StreamConsumer", "DynamoDB", "Table", batch_size, report, props)


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def queue_bodies(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        bodies.extend(m["Body"] for m in got)


class Recorder:
    """A handler that remembers every event, answering with `answer(event)` (or raising from it)."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(json.loads(json.dumps(event)))  # what the function would get: JSON
        return self.answer(event) if self.answer else None

    def bodies(self) -> list[list[str]]:
        return [[r["body"] for r in e["Records"]] for e in self.events]


def poll_until(poller: SqsPoller | StreamPoller, done: Callable[[], bool], *, pause: float = 0.1) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        assert time.monotonic() < deadline, "the poller did not get there in time"
        if isinstance(poller, SqsPoller):
            poller.poll_once(wait=0)
        else:
            poller.poll_once()
        time.sleep(pause)


# ----------------------------------------------------------------------------------------- SQS
def test_sqs_event_is_built_as_lambda_builds_it(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "jobs.fifo", FifoQueue="true")
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"n": 1}',
        MessageGroupId="wallet:1",
        MessageDeduplicationId="dedup-1",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "create_deal"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    handler = Recorder()
    poller = SqsPoller(sqs_source(), sqs, url, arn, handler, region=REGION)

    outcome = poller.poll_once(wait=0)

    assert outcome == BatchOutcome(received=1, succeeded=1)
    (record,) = handler.events[0]["Records"]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == '{"n": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"n": 1}').hexdigest()  # noqa: S324 - SQS's checksum
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == REGION
    attrs = record["attributes"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert attrs["MessageGroupId"] == "wallet:1"
    assert attrs["MessageDeduplicationId"] == "dedup-1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SequenceNumber"} <= set(attrs)
    assert all(isinstance(v, str) for v in attrs.values())
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "create_deal",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert record["messageAttributes"]["blob"]["dataType"] == "Binary"
    # success deletes the batch
    assert queue_bodies(sqs, url) == []


def test_sqs_batch_size_is_honoured(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "many")
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    handler = Recorder()
    poller = SqsPoller(sqs_source(batch_size=12), sqs, url, arn, handler, region=REGION)

    poll_until(poller, lambda: sum(len(b) for b in handler.bodies()) >= 25, pause=0)

    sizes = [len(b) for b in handler.bodies()]
    assert max(sizes) <= 12
    assert sum(sizes) == 25
    assert sorted(int(x) for b in handler.bodies() for x in b) == list(range(25))


def test_sqs_partial_batch_failure_keeps_only_the_failed(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "partial", VisibilityTimeout="1")
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")

    def answer(event: dict[str, Any]) -> dict[str, Any]:
        bad = [r for r in event["Records"] if r["body"] in ("m1", "m3")]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in bad]}

    handler = Recorder(answer)
    poller = SqsPoller(sqs_source(report=True), sqs, url, arn, handler, region=REGION)

    first = poller.poll_once(wait=0)
    assert first == BatchOutcome(received=5, succeeded=3, failed=2)
    assert sorted(handler.bodies()[0]) == ["m0", "m1", "m2", "m3", "m4"]

    # The failed ones come back after the visibility timeout, and only they.
    poll_until(poller, lambda: len(handler.events) >= 2)
    second = handler.events[1]["Records"]
    assert sorted(r["body"] for r in second) == ["m1", "m3"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in second} == {"2"}


def test_sqs_batch_item_failures_are_ignored_unless_reported(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "not-reported", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handler = Recorder(lambda e: {"batchItemFailures": [{"itemIdentifier": e["Records"][0]["messageId"]}]})
    poller = SqsPoller(sqs_source(report=False), sqs, url, arn, handler, region=REGION)

    assert poller.poll_once(wait=0).succeeded == 1
    time.sleep(1.2)
    assert poller.poll_once(wait=0).received == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"wrongKey": "x"}]},
        "not an object",
    ],
)
def test_sqs_invalid_failure_report_fails_the_whole_batch(aws: dict[str, Any], answer: Any) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "invalid", VisibilityTimeout="1")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    handler = Recorder(lambda e: answer)
    poller = SqsPoller(sqs_source(report=True), sqs, url, arn, handler, region=REGION)

    assert poller.poll_once(wait=0) == BatchOutcome(received=3, failed=3)
    poll_until(poller, lambda: len(handler.events) >= 2)
    assert sorted(handler.bodies()[1]) == ["m0", "m1", "m2"]


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_sqs_empty_failure_report_is_a_success(aws: dict[str, Any], answer: Any) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "empty-report")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    poller = SqsPoller(sqs_source(report=True), sqs, url, arn, Recorder(lambda e: answer), region=REGION)
    assert poller.poll_once(wait=0) == BatchOutcome(received=1, succeeded=1)
    assert queue_bodies(sqs, url) == []


def test_sqs_error_leaves_the_batch_then_redrive_moves_it_to_the_dlq(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    dlq_url, dlq_arn = make_queue(sqs, "work-dlq")
    url, arn = make_queue(
        sqs,
        "work",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")

    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("handler failed")

    handler = Recorder(boom)
    poller = SqsPoller(sqs_source(), sqs, url, arn, handler, region=REGION)

    assert poller.poll_once(wait=0) == BatchOutcome(received=3, failed=3)
    dlq: list[str] = []

    def all_in_dlq() -> bool:
        dlq.extend(queue_bodies(sqs, dlq_url))
        return len(dlq) >= 3

    poll_until(poller, all_in_dlq)

    assert sorted(dlq) == ["m0", "m1", "m2"]
    seen = Counter(body for batch in handler.bodies() for body in batch)
    assert seen == {"m0": 2, "m1": 2, "m2": 2}  # maxReceiveCount deliveries, then the DLQ
    counts = sorted({r["attributes"]["ApproximateReceiveCount"] for e in handler.events for r in e["Records"]})
    assert counts == ["1", "2"]
    assert poller.poll_once(wait=0).received == 0


def test_failed_item_ids() -> None:
    assert failed_item_ids(None, ["a"]) == set()
    assert failed_item_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a", "b"]) == {"a"}
    assert failed_item_ids({"batchItemFailures": "a"}, ["a"]) is None
    assert failed_item_ids([], ["a"]) is None


# ------------------------------------------------------------------------------ DynamoDB streams
@pytest.fixture
def table(aws: dict[str, Any]) -> dict[str, str]:
    desc = aws["ddb"].create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return {"name": "things", "stream_arn": desc["LatestStreamArn"]}


def put(aws: dict[str, Any], table: dict[str, str], *ids: str, **extra: str) -> None:
    for id_ in ids:
        item = {"id": {"S": id_}, **{k: {"S": v} for k, v in extra.items()}}
        aws["ddb"].put_item(TableName=table["name"], Item=item)


def ids_of(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]


def stream_poller(
    aws: dict[str, Any],
    table: dict[str, str],
    handler: Recorder,
    source: tpl.EventSource,
    on_failure: str | None = None,
) -> StreamPoller:
    return StreamPoller(
        source, aws["streams"], table["stream_arn"], handler, sqs=aws["sqs"], on_failure_arn=on_failure, region=REGION
    )


def drain(poller: StreamPoller, max_polls: int = 100) -> list[BatchOutcome]:
    """Poll until a poll finds nothing to do (bounded)."""
    outcomes: list[BatchOutcome] = []
    for _ in range(max_polls):
        outcome = poller.poll_once()
        if outcome.received == 0 and outcome.discarded == 0:
            return outcomes
        outcomes.append(outcome)
    raise AssertionError("the stream poller never went idle")


def test_stream_event_is_built_as_lambda_builds_it(aws: dict[str, Any], table: dict[str, str]) -> None:
    put(aws, table, "a", v="1")
    aws["ddb"].update_item(
        TableName="things",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "2"}},
    )
    aws["ddb"].delete_item(TableName="things", Key={"id": {"S": "a"}})
    handler = Recorder()
    poller = stream_poller(aws, table, handler, stream_source())

    drain(poller)

    (event,) = handler.events
    insert, modify, remove = event["Records"]
    assert [r["eventName"] for r in (insert, modify, remove)] == ["INSERT", "MODIFY", "REMOVE"]
    for r in (insert, modify, remove):
        assert r["eventSource"] == "aws:dynamodb"
        assert r["eventSourceARN"] == table["stream_arn"]
        assert r["awsRegion"] == REGION
        assert r["eventID"]
        ddb = r["dynamodb"]
        assert ddb["Keys"] == {"id": {"S": "a"}}
        assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(ddb["SequenceNumber"], str)
        assert ddb["SizeBytes"] > 0
        assert isinstance(ddb["ApproximateCreationDateTime"], int)
    assert insert["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "v": {"S": "1"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"S": "1"}
    assert modify["dynamodb"]["NewImage"]["v"] == {"S": "2"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"S": "2"}
    assert "NewImage" not in remove["dynamodb"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
    assert seqs == sorted(seqs)

    # Nothing is delivered twice; new writes come next.
    assert poller.poll_once() == BatchOutcome()
    put(aws, table, "b")
    drain(poller)
    assert [ids_of(e) for e in handler.events] == [["a", "a", "a"], ["b"]]


def test_stream_batch_size(aws: dict[str, Any], table: dict[str, str]) -> None:
    put(aws, table, *[f"k{i}" for i in range(7)])
    handler = Recorder()
    drain(stream_poller(aws, table, handler, stream_source(batch_size=3)))
    assert [ids_of(e) for e in handler.events] == [["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6"]]


def test_stream_partial_failure_resumes_from_the_failed_record(aws: dict[str, Any], table: dict[str, str]) -> None:
    put(aws, table, "r0", "r1", "r2", "r3", "r4")
    failed_once: set[str] = set()
    succeeded: list[str] = []

    def answer(event: dict[str, Any]) -> dict[str, Any]:
        records = event["Records"]
        for i, r in enumerate(records):
            key = r["dynamodb"]["Keys"]["id"]["S"]
            if key in ("r2", "r3") and key not in failed_once:
                failed_once.add(key)
                succeeded.extend(ids_of({"Records": records[:i]}))
                return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
        succeeded.extend(ids_of(event))
        return {"batchItemFailures": []}

    handler = Recorder(answer)
    drain(stream_poller(aws, table, handler, stream_source(report=True)))

    assert [ids_of(e) for e in handler.events] == [
        ["r0", "r1", "r2", "r3", "r4"],
        ["r2", "r3", "r4"],
        ["r3", "r4"],
    ]
    assert succeeded == ["r0", "r1", "r2", "r3", "r4"]  # once each, in order


def test_stream_invalid_failure_report_retries_the_whole_batch(aws: dict[str, Any], table: dict[str, str]) -> None:
    put(aws, table, "a", "b")
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "42"}]}, None])
    handler = Recorder(lambda e: next(answers))
    drain(stream_poller(aws, table, handler, stream_source(report=True)))
    assert [ids_of(e) for e in handler.events] == [["a", "b"], ["a", "b"]]


def test_stream_bisect_isolates_a_poison_record_and_reports_it(aws: dict[str, Any], table: dict[str, str]) -> None:
    dest_url, dest_arn = make_queue(aws["sqs"], "stream-failures")
    put(aws, table, "p0", "p1", "poison", "p3")
    delivered_ok: list[str] = []

    def answer(event: dict[str, Any]) -> None:
        keys = ids_of(event)
        if "poison" in keys:
            raise ValueError("poison")
        delivered_ok.extend(keys)

    handler = Recorder(answer)
    source = stream_source(batch_size=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2)
    poller = stream_poller(aws, table, handler, source, on_failure=dest_arn)
    drain(poller)

    assert [ids_of(e) for e in handler.events] == [
        ["p0", "p1", "poison", "p3"],  # fails: split in two
        ["p0", "p1"],
        ["poison", "p3"],  # fails again (attempt 2): split in two
        ["poison"],  # third failure: retries exhausted
        ["p3"],
    ]
    assert delivered_ok == ["p0", "p1", "p3"]  # never twice after a success
    (body,) = queue_bodies(aws["sqs"], dest_url)
    report = json.loads(body)
    poison_seq = handler.events[3]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["requestContext"]["functionArn"].endswith(":function:StreamConsumer")
    assert report["responseContext"]["functionError"] == "Unhandled"
    assert report["version"] == "1.0"
    assert report["timestamp"].endswith("Z")
    info = report["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_seq
    assert info["streamArn"] == table["stream_arn"]
    assert info["shardId"]

    # The shard moves on: nothing is redelivered, new records flow.
    put(aws, table, "after")
    drain(poller)
    assert ids_of(handler.events[-1]) == ["after"]
    assert delivered_ok == ["p0", "p1", "p3", "after"]


def test_stream_retries_exhausted_without_bisect_discards_the_batch(aws: dict[str, Any], table: dict[str, str]) -> None:
    dest_url, dest_arn = make_queue(aws["sqs"], "stream-failures-2")
    put(aws, table, "x", "y", "z")

    def boom(event: dict[str, Any]) -> None:
        raise RuntimeError("down")

    handler = Recorder(boom)
    poller = stream_poller(aws, table, handler, stream_source(MaximumRetryAttempts=1), on_failure=dest_arn)
    drain(poller)

    assert [ids_of(e) for e in handler.events] == [["x", "y", "z"], ["x", "y", "z"]]  # 1 try + 1 retry
    (body,) = queue_bodies(aws["sqs"], dest_url)
    info = json.loads(body)["DDBStreamBatchInfo"]
    assert info["batchSize"] == 3
    assert info["startSequenceNumber"] == handler.events[0]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == handler.events[0]["Records"][-1]["dynamodb"]["SequenceNumber"]


# ------------------------------------------------------------------------------ wiring and threads
def test_build_pollers_resolves_sources_of_a_provisioned_stack(aws: dict[str, Any]) -> None:
    stack = provision(boto3.session.Session(), region=REGION)
    calls: list[tuple[str, dict[str, Any]]] = []
    sources = [
        tpl.EventSource("CreateDealConsumer", "SQS", "DealQueue", 5, True, {}),
        tpl.EventSource(
            "PaymentsStreamConsumer",
            "DynamoDB",
            "PaymentsTable",
            50,
            True,
            {
                "StartingPosition": "TRIM_HORIZON",
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["DealDeadLetterQueue", "Arn"]}}},
            },
        ),
    ]

    sqs_poller, stream = build_pollers(stack, lambda fn, ev: calls.append((fn, ev)), sources)

    assert isinstance(sqs_poller, SqsPoller)
    assert isinstance(stream, StreamPoller)
    assert sqs_poller.queue_url == stack.physical["DealQueue"]
    assert sqs_poller.queue_arn == stack.attributes[("DealQueue", "Arn")]
    assert stream.stream_arn == stack.attributes[("PaymentsTable", "StreamArn")]
    assert stream.on_failure_arn == stack.attributes[("DealDeadLetterQueue", "Arn")]
    sqs_poller.call({"Records": []})
    stream.call({"Records": []})
    assert [fn for fn, _ in calls] == ["CreateDealConsumer", "PaymentsStreamConsumer"]
    # The template's own event sources (queues, the stream, the schedule) are built the same way.
    assert len(build_pollers(stack, lambda fn, ev: None)) == len(tpl.event_sources())


def test_poller_threads_deliver_and_stop_cleanly(aws: dict[str, Any], table: dict[str, str]) -> None:
    sqs = aws["sqs"]
    url, arn = make_queue(sqs, "threaded")
    queue_handler, stream_handler = Recorder(), Recorder()
    threads = PollerThreads(
        [
            SqsPoller(sqs_source(), sqs, url, arn, queue_handler, region=REGION, wait_seconds=0),
            stream_poller(aws, table, stream_handler, stream_source()),
        ],
        idle_seconds=0.05,
    )
    threads.start()
    try:
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        put(aws, table, "t1")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not (queue_handler.events and stream_handler.events):
            assert time.monotonic() < deadline, "the threads delivered nothing"
            time.sleep(0.05)
    finally:
        started = time.monotonic()
        threads.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert not any(t.is_alive() for t in threads._threads)
    assert queue_handler.bodies() == [["hello"]]
    assert ids_of(stream_handler.events[0]) == ["t1"]


def test_function_invoker_applies_each_functions_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the gateway and the pollers invoke through: the function's own environment in force."""
    seen: list[tuple[str, str | None, str | None]] = []

    def fake_invoke(function: str, event: dict[str, Any]) -> str:
        seen.append((function, os.environ.get("DEVSTACK_TEST_A"), os.environ.get("DEVSTACK_TEST_B")))
        return function

    monkeypatch.setattr(lambdas, "invoke", fake_invoke)
    saved = dict(os.environ)
    try:
        differing = FunctionInvoker(
            {"F": {"DEVSTACK_TEST_A": "a"}, "G": {"DEVSTACK_TEST_A": "g", "DEVSTACK_TEST_B": "b"}}
        )
        assert not differing.shared
        assert differing("F", {}) == "F"
        differing("G", {})
        differing("F", {})
        assert seen == [("F", "a", None), ("G", "g", "b"), ("F", "a", None)]

        seen.clear()
        # Each function its own variables, none with two values (the template's case): the union, once.
        shared = FunctionInvoker({"F": {"DEVSTACK_TEST_A": "s"}, "G": {"DEVSTACK_TEST_A": "s", "DEVSTACK_TEST_B": "t"}})
        assert shared.shared
        shared.activate()
        shared("F", {})
        shared("G", {})
        assert seen == [("F", "s", "t"), ("G", "s", "t")]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset_process_caches()
