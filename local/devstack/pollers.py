"""Event source mappings, as Lambda's pollers run them: SQS queues and DynamoDB streams.

Driven by `devstack.template.event_sources()`: every SQS or DynamoDB event declared on a function in
template.yaml gets a poller that reads its source, builds the event Lambda would send, invokes the
function and acts on the answer as the event source mapping does.

SQS (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
- ReceiveMessage up to BatchSize (all system and message attributes), one invocation per batch;
- success: the batch is deleted; a raised error: nothing is deleted, so the messages come back
  after the queue's visibility timeout, and the queue's redrive policy moves them to its DLQ
  after maxReceiveCount receives (SQS's own doing, moto's here);
- ReportBatchItemFailures: only the messages named in `batchItemFailures` stay; an invalid answer
  (an empty, missing or unknown itemIdentifier, a non-object answer) fails the whole batch.
- `ScalingConfig: MaximumConcurrency` N: N batches at once (N threads polling the queue); without it,
  one batch at a time. On a FIFO queue a message group with a message in flight is not delivered (SQS's
  rule, moto's here, made safe under concurrent receives by devstack.moto_patches), so each group is
  still worked in order, one batch at a time, while up to N groups are worked beside each other.

DynamoDB streams (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html), per shard, in order:
- records are read from TRIM_HORIZON (the mapping exists from the stack's creation on) and a batch
  of at most BatchSize is sent; the next batch is only sent once this one is done (checkpoint);
- ReportBatchItemFailures: the records before the lowest failed SequenceNumber are checkpointed and
  the batch is retried from that record; an invalid answer fails the whole batch;
- a raised error retries the whole batch; with BisectBatchOnFunctionError it is split in two halves,
  retried in order (a partial failure is not split: the rest from the failed record is retried);
- MaximumRetryAttempts (-1: forever) and MaximumRecordAgeInSeconds (-1: forever) bound the retries:
  the batch is then discarded and, with DestinationConfig.OnFailure, a record of it (requestContext,
  responseContext, DDBStreamBatchInfo) is sent to the SQS destination.

Each retry of a batch, or of a half of it, counts one attempt for its records (halves inherit the
attempts of their batch). A record whose invocation succeeded is never sent again.

Schedules (Schedule and ScheduleV2 events, https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html):
- the function gets EventBridge's "Scheduled Event" (or the event's `Input`, parsed, when it sets one) once a
  period; the first one period after the start, as a new rule fires;
- locally the period is DEVSTACK_SCHEDULE_SECONDS (default 2 s), whatever the template's rate, so that what runs
  once a minute on AWS (the chain watcher) keeps up with a local stack; set it to `rate` to keep the template's
  rate (a cron(...) schedule then runs every 60 s);
- one invocation at a time: a run longer than the period delays the next one (no catch-up burst); a failed run
  is logged, and the next tick is its retry (EventBridge's async retries are not emulated).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from devstack import template as tpl

log = logging.getLogger("devstack.pollers")

ACCOUNT_ID = "123456789012"
SQS_MAX_RECEIVE = 10

# A function as an event source mapping calls it: the event in, the function's answer out.
FunctionCall = Callable[[dict[str, Any]], Any]
# Invoke a function of the template by its logical id.
Invoker = Callable[[str, dict[str, Any]], Any]


def function_arn(function: str, region: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


# --------------------------------------------------------------------------------------------- SQS
def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape (StringValue, BinaryValue, DataType) -> the Lambda event's shape."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else str(raw)
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [
        base64.b64encode(v).decode() if isinstance(v, bytes) else str(v) for v in value.get("BinaryListValues", [])
    ]
    out["dataType"] = value["DataType"]
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event, as Lambda builds it from a ReceiveMessage answer."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp and, on a
        # FIFO queue, SequenceNumber, MessageGroupId, MessageDeduplicationId.
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_item_ids(response: Any, batch_ids: Sequence[str]) -> set[str] | None:
    """The identifiers a ReportBatchItemFailures answer names; None when the whole batch failed.

    A complete success: no answer, an empty answer, a missing, null or empty `batchItemFailures`.
    A complete failure: anything else that is not a well-formed list of known identifiers.
    """
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(batch_ids)
    out: set[str] = set()
    for failure in failures:
        if not isinstance(failure, dict):
            return None
        ident = failure.get("itemIdentifier")
        if not isinstance(ident, str) or not ident or ident not in known:
            return None
        out.add(ident)
    return out


@dataclass
class BatchOutcome:
    """What one poll did (for logs and tests)."""

    received: int = 0
    succeeded: int = 0
    failed: int = 0
    discarded: int = 0


@dataclass
class SqsPoller:
    source: tpl.EventSource
    sqs: Any  # SQSClient
    queue_url: str
    queue_arn: str
    call: FunctionCall
    region: str = "us-east-1"
    wait_seconds: int = 1  # long polling, bounded

    @property
    def name(self) -> str:
        return f"{self.source.function}<-{self.source.source}"

    def _receive(self, wait: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size:
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_RECEIVE, self.source.batch_size - len(messages)),
                WaitTimeSeconds=wait if not messages else 0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = resp.get("Messages", [])
            if not got:
                break
            messages.extend(got)
        return messages

    def poll_once(self, wait: int | None = None) -> BatchOutcome:
        messages = self._receive(self.wait_seconds if wait is None else wait)
        if not messages:
            return BatchOutcome()
        event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            response = self.call(event)
        except Exception:
            log.exception("%s: the function failed; the batch of %d stays in the queue", self.name, len(ids))
            return BatchOutcome(received=len(ids), failed=len(ids))
        failed: set[str] = set()
        if self.source.report_batch_item_failures:
            reported = failed_item_ids(response, ids)
            if reported is None:
                log.error("%s: invalid batchItemFailures answer %r; the whole batch stays", self.name, response)
                return BatchOutcome(received=len(ids), failed=len(ids))
            failed = reported
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            resp = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for err in resp.get("Failed", []):
                log.warning("%s: could not delete a message: %s", self.name, err)
        return BatchOutcome(received=len(ids), succeeded=len(done), failed=len(ids) - len(done))


# ------------------------------------------------------------------------------- DynamoDB streams
def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One record of the DynamoDB stream event, as Lambda builds it from a GetRecords answer."""
    ddb = dict(raw["dynamodb"])
    if "ApproximateCreationDateTime" in ddb:
        ddb["ApproximateCreationDateTime"] = int(_epoch(ddb["ApproximateCreationDateTime"]))
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        record["userIdentity"] = raw["userIdentity"]
    return record


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _arrival(record: dict[str, Any]) -> float:
    value = record["dynamodb"].get("ApproximateCreationDateTime")
    return time.time() if value is None else float(value)


@dataclass
class _Work:
    records: list[dict[str, Any]]
    attempts: int = 0  # failed invocations so far


@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    iterator: str | None = None
    started: bool = False
    closed: bool = False  # the shard ended and every record of it was read
    buffer: list[dict[str, Any]] = field(default_factory=list)  # read, not yet checkpointed
    work: list[_Work] = field(default_factory=list)  # the current batch (or its halves), in order

    @property
    def finished(self) -> bool:
        return self.closed and not self.buffer


@dataclass
class StreamPoller:
    source: tpl.EventSource
    streams: Any  # DynamoDBStreamsClient
    stream_arn: str
    call: FunctionCall
    sqs: Any = None  # SQSClient, for the on-failure destination
    on_failure_arn: str | None = None
    region: str = "us-east-1"
    _shards: dict[str, _Shard] = field(default_factory=dict)
    _destination_url: str | None = None

    @property
    def name(self) -> str:
        return f"{self.source.function}<-{self.source.source}"

    @property
    def _max_retries(self) -> int:
        return int(self.source.properties.get("MaximumRetryAttempts", -1))

    @property
    def _max_age(self) -> int:
        return int(self.source.properties.get("MaximumRecordAgeInSeconds", -1))

    @property
    def _bisect(self) -> bool:
        return bool(self.source.properties.get("BisectBatchOnFunctionError", False))

    # ---- reading
    def _refresh_shards(self) -> None:
        desc = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in desc.get("Shards", []):
            sid = shard["ShardId"]
            if sid not in self._shards:
                self._shards[sid] = _Shard(sid, shard.get("ParentShardId"))

    def _ready(self, shard: _Shard) -> bool:
        """A child shard is read only once its parent is done (per-key order across a split)."""
        parent = self._shards.get(shard.parent) if shard.parent else None
        return parent is None or parent.finished

    def _fill(self, shard: _Shard) -> None:
        if shard.closed or len(shard.buffer) >= self.source.batch_size:
            return
        if not shard.started:
            shard.iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            shard.started = True
        while shard.iterator and len(shard.buffer) < self.source.batch_size:
            resp = self.streams.get_records(
                ShardIterator=shard.iterator, Limit=self.source.batch_size - len(shard.buffer)
            )
            shard.iterator = resp.get("NextShardIterator")
            got = resp.get("Records", [])
            shard.buffer.extend(stream_record(r, self.stream_arn, self.region) for r in got)
            if not got:
                break
        if shard.iterator is None:
            shard.closed = True

    # ---- processing
    def poll_once(self) -> BatchOutcome:
        """One invocation at most per shard: a new batch, or the retry of the current one."""
        self._refresh_shards()
        total = BatchOutcome()
        for shard in list(self._shards.values()):
            if shard.finished or not self._ready(shard):
                continue
            if not shard.work:
                self._fill(shard)
                if not shard.buffer:
                    continue
                shard.work = [_Work(shard.buffer[: self.source.batch_size])]
            outcome = self._step(shard)
            total.received += outcome.received
            total.succeeded += outcome.succeeded
            total.failed += outcome.failed
            total.discarded += outcome.discarded
        return total

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        del shard.buffer[:count]

    def _step(self, shard: _Shard) -> BatchOutcome:
        work = shard.work[0]
        if self._max_age >= 0:
            now = time.time()
            expired = 0
            while expired < len(work.records) and now - _arrival(work.records[expired]) > self._max_age:
                expired += 1
            if expired:
                self._discard(shard, work.records[:expired], work.attempts, "RecordAgeExceeded", None)
                self._checkpoint(shard, expired)
                work.records = work.records[expired:]
                if not work.records:
                    shard.work.pop(0)
                    return BatchOutcome(discarded=expired)
        records = work.records
        outcome = BatchOutcome(received=len(records))
        function_error: str | None = None
        failed_from: int | None  # index of the first record to retry; None: all done
        try:
            response = self.call({"Records": records})
        except Exception:
            log.exception("%s: the function failed on a batch of %d", self.name, len(records))
            failed_from, function_error = 0, "Unhandled"
        else:
            failed_from = None
            if self.source.report_batch_item_failures:
                failed = failed_item_ids(response, [_seq(r) for r in records])
                if failed is None:
                    log.error("%s: invalid batchItemFailures answer %r; the whole batch failed", self.name, response)
                    failed_from, function_error = 0, "Unhandled"
                elif failed:
                    failed_from = min(i for i, r in enumerate(records) if _seq(r) in failed)
        if failed_from is None:
            self._checkpoint(shard, len(records))
            shard.work.pop(0)
            outcome.succeeded = len(records)
            return outcome
        # The records before the first failure are done: checkpoint them.
        self._checkpoint(shard, failed_from)
        outcome.succeeded = failed_from
        remaining = records[failed_from:]
        attempts = work.attempts + 1
        if 0 <= self._max_retries < attempts:
            self._discard(shard, remaining, attempts, "RetryAttemptsExhausted", function_error)
            self._checkpoint(shard, len(remaining))
            shard.work.pop(0)
            outcome.discarded = len(remaining)
            return outcome
        outcome.failed = len(remaining)
        if function_error and self._bisect and len(remaining) > 1:
            half = len(remaining) // 2
            shard.work[0:1] = [_Work(remaining[:half], attempts), _Work(remaining[half:], attempts)]
        else:
            shard.work[0] = _Work(remaining, attempts)
        return outcome

    def _discard(
        self,
        shard: _Shard,
        records: list[dict[str, Any]],
        attempts: int,
        condition: str,
        function_error: str | None,
    ) -> None:
        log.warning(
            "%s: discarding %d record(s) %s..%s (%s)",
            self.name,
            len(records),
            _seq(records[0]),
            _seq(records[-1]),
            condition,
        )
        if not self.on_failure_arn:
            return
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response_context["functionError"] = function_error
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function_arn(self.source.function, self.region),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": _seq(records[0]),
                "endSequenceNumber": _seq(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(_arrival(records[0])),
                "approximateArrivalOfLastRecord": _iso(_arrival(records[-1])),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        send_to_destination(self.sqs, self.on_failure_arn, message)


def queue_url_of(sqs: Any, queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


def send_to_destination(sqs: Any, destination_arn: str, message: dict[str, Any]) -> None:
    if not destination_arn.startswith("arn:aws:sqs:"):
        log.error("on-failure destination %s is not an SQS queue: not supported locally", destination_arn)
        return
    url = queue_url_of(sqs, destination_arn)
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": json.dumps(message)}
    if url.endswith(".fifo"):  # Lambda only takes standard queues; be lenient locally
        kwargs.update(MessageGroupId="lambda-on-failure", MessageDeduplicationId=str(uuid.uuid4()))
    sqs.send_message(**kwargs)


# --------------------------------------------------------------------------------------- schedules
SCHEDULE_SECONDS_ENV = "DEVSTACK_SCHEDULE_SECONDS"
DEFAULT_SCHEDULE_SECONDS = 2.0
CRON_FALLBACK_SECONDS = 60.0


def schedule_seconds_override(environ: Mapping[str, str] | None = None) -> float | None:
    """The local period of every schedule: DEVSTACK_SCHEDULE_SECONDS (default 2); None for `rate` (the template's)."""
    raw = (os.environ if environ is None else environ).get(SCHEDULE_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_SCHEDULE_SECONDS
    if raw.lower() == "rate":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{SCHEDULE_SECONDS_ENV}={raw!r}: seconds (> 0) or `rate`") from None
    if value <= 0:
        raise ValueError(f"{SCHEDULE_SECONDS_ENV}={raw!r}: seconds (> 0) or `rate`")
    return value


def rule_arn(rule_name: str, region: str, *, scheduler: bool = False) -> str:
    if scheduler:
        return f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{rule_name}"
    return f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"


def scheduled_event(resource_arn: str, region: str, now: float | None = None) -> dict[str, Any]:
    """EventBridge's "Scheduled Event", as a rule's Lambda target receives it."""
    ts = time.time() if now is None else now
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource_arn],
        "detail": {},
    }


@dataclass
class SchedulePoller:
    """Invokes the function once every `period` seconds (see the module docstring)."""

    source: tpl.EventSource
    call: FunctionCall
    period: float
    rule_name: str
    region: str = "us-east-1"
    clock: Callable[[], float] = time.monotonic
    _next: float | None = None

    def __post_init__(self) -> None:
        if self.period <= 0:
            raise ValueError(f"{self.name}: the period must be positive")
        if self._next is None:
            self._next = self.clock() + self.period  # the first tick: one period after the start

    @property
    def name(self) -> str:
        return f"{self.source.function}<-{self.source.source}"

    @property
    def arn(self) -> str:
        return rule_arn(self.rule_name, self.region, scheduler=self.source.properties.get("Type") == "ScheduleV2")

    def event(self) -> dict[str, Any]:
        raw = self.source.properties.get("Input")
        if isinstance(raw, str):
            parsed: dict[str, Any] = json.loads(raw)
            return parsed
        return scheduled_event(self.arn, self.region)

    def seconds_until_due(self) -> float:
        now = self.clock()
        if self._next is None:
            self._next = now + self.period
        return max(0.0, self._next - now)

    def restart(self) -> None:
        """The first tick one period from now (a rule that starts now)."""
        self._next = self.clock() + self.period

    def poll_once(self, *, force: bool = False) -> BatchOutcome:
        """Invoke the function when a tick is due (or `force`); otherwise do nothing."""
        if not force and self.seconds_until_due() > 0:
            return BatchOutcome()
        try:
            self.call(self.event())
        except Exception:
            log.exception("%s: the scheduled invocation failed", self.name)
            outcome = BatchOutcome(received=1, failed=1)
        else:
            outcome = BatchOutcome(received=1, succeeded=1)
        now = self.clock()
        following = (self._next if self._next is not None else now) + self.period
        self._next = following if following > now else now + self.period  # behind: no catch-up burst
        return outcome


# ------------------------------------------------------------------------------------ running them
Poller = SqsPoller | StreamPoller | SchedulePoller


def build_pollers(
    stack: Any,
    invoke: Invoker,
    sources: Iterable[tpl.EventSource] | None = None,
    *,
    wait_seconds: int = 1,
    schedule_seconds: float | Literal["env"] | None = "env",
) -> list[Poller]:
    """A poller per event source of the template (or of `sources`), on the provisioned `stack`.

    `schedule_seconds`: the period of every schedule; "env" (default): DEVSTACK_SCHEDULE_SECONDS (default 2 s);
    None: each schedule's own rate."""
    override = schedule_seconds_override() if schedule_seconds == "env" else schedule_seconds
    pollers: list[Poller] = []
    for source in tpl.event_sources() if sources is None else sources:

        def call(event: dict[str, Any], function: str = source.function) -> Any:
            return invoke(function, event)

        if source.kind == "SQS":
            pollers.append(
                SqsPoller(
                    source,
                    stack.client("sqs"),
                    queue_url=stack.physical[source.source],
                    queue_arn=stack.attributes[(source.source, "Arn")],
                    call=call,
                    region=stack.region,
                    wait_seconds=wait_seconds,
                )
            )
        elif source.kind == "DynamoDB":
            destination = source.properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            pollers.append(
                StreamPoller(
                    source,
                    stack.client("dynamodbstreams"),
                    stream_arn=stack.attributes[(source.source, "StreamArn")],
                    call=call,
                    sqs=stack.client("sqs"),
                    on_failure_arn=stack.resolve(destination) if destination else None,
                    region=stack.region,
                )
            )
        elif source.kind == "Schedule":
            rate = source.rate_seconds if source.rate_seconds is not None else CRON_FALLBACK_SECONDS
            name = source.properties.get("Name")
            pollers.append(
                SchedulePoller(
                    source,
                    call=call,
                    period=override if override is not None else rate,
                    rule_name=str(stack.resolve(name)) if name else f"{stack.name}-{source.source}",
                    region=stack.region,
                )
            )
        else:  # pragma: no cover - template.event_sources() only yields these three
            raise ValueError(f"unsupported event source {source.kind}")
    return pollers


def concurrency_of(poller: Poller) -> int:
    """How many threads work a poller at once: an SQS source's `ScalingConfig: MaximumConcurrency` (Lambda runs
    that many batches of it at once; on a FIFO queue SQS never hands out a message group that has a message in
    flight, so a group is still worked one batch at a time while other groups are worked beside it); one
    otherwise (a stream shard is worked in order, a schedule runs one invocation at a time)."""
    return poller.source.maximum_concurrency if isinstance(poller, SqsPoller) else 1


@dataclass
class PollerThreads:
    """Runs each poller in a daemon thread (an SQS poller in `concurrency_of` threads) until stop(); every wait
    is bounded."""

    pollers: list[Poller]
    idle_seconds: float = 0.5  # pause of a stream poller with nothing to do, and after an error
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _run(self, poller: Poller) -> None:
        while not self._stop.is_set():
            try:
                outcome = poller.poll_once()
            except Exception:
                log.exception("%s: poll failed", poller.name)
                self._stop.wait(self.idle_seconds)
                continue
            if isinstance(poller, SchedulePoller):
                self._stop.wait(poller.seconds_until_due())
            elif isinstance(poller, StreamPoller) and outcome.received == 0 and outcome.discarded == 0:
                self._stop.wait(self.idle_seconds)
            elif outcome.failed:
                self._stop.wait(self.idle_seconds)  # back off before a retry

    def start(self) -> None:
        for poller in self.pollers:
            if isinstance(poller, SchedulePoller):
                poller.restart()
            count = concurrency_of(poller)
            for n in range(count):
                name = f"poller:{poller.name}" + (f"#{n}" if count > 1 else "")
                thread = threading.Thread(target=self._run, args=(poller,), name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
