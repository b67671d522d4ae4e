"""An SQS source with `ScalingConfig: MaximumConcurrency` is polled by that many threads against the moto server:
two FIFO groups are worked at once, one group never twice at once, each group in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack import template as tpl
from devstack.pollers import PollerThreads, SqsPoller, concurrency_of
from devstack.server import MotoServer

HOLD_S = 0.15  # how long an invocation works its batch


@pytest.fixture
def moto_url() -> Iterator[str]:
    server = MotoServer(port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _source(concurrency: int | None, batch_size: int = 1) -> tpl.EventSource:
    properties: dict[str, Any] = {"BatchSize": batch_size}
    if concurrency is not None:
        properties["ScalingConfig"] = {"MaximumConcurrency": concurrency}
    return tpl.EventSource("Fn", "SQS", "Queue", batch_size, False, properties)


def test_the_deal_worker_declares_its_concurrency_and_other_sources_keep_one() -> None:
    sources = {(s.function, s.source): s for s in tpl.event_sources()}
    assert sources[("DealWorkerFunction", "DealQueue")].maximum_concurrency == 10
    assert _source(None).maximum_concurrency == 1
    assert all(s.maximum_concurrency == 1 for s in sources.values() if s.kind != "SQS")


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.max_running_per_group: dict[str, int] = {}
        self.max_running = 0
        self.order: dict[str, list[int]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        groups = {r["attributes"]["MessageGroupId"] for r in event["Records"]}
        with self.lock:
            for g in groups:
                self.running[g] = self.running.get(g, 0) + 1
                self.max_running_per_group[g] = max(self.max_running_per_group.get(g, 0), self.running[g])
            self.max_running = max(self.max_running, sum(self.running.values()))
            for r in event["Records"]:
                g, n = r["body"].split(":")
                self.order.setdefault(g, []).append(int(n))
        time.sleep(HOLD_S)
        with self.lock:
            for g in groups:
                self.running[g] -= 1

    def done(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.order.values())


def _run(moto_url: str, concurrency: int | None, groups: int, per_group: int) -> _Recorder:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    url = sqs.create_queue(
        QueueName=f"lanes-{concurrency}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "30", "DeduplicationScope": "messageGroup"},
    )["QueueUrl"]
    for n in range(per_group):
        for g in range(groups):
            sqs.send_message(
                QueueUrl=url, MessageBody=f"g{g}:{n}", MessageGroupId=f"g{g}", MessageDeduplicationId=f"g{g}-{n}"
            )
    recorder = _Recorder()
    poller = SqsPoller(_source(concurrency), sqs, url, "arn:aws:sqs:us-east-1:123456789012:lanes", recorder)
    threads = PollerThreads([poller])
    assert concurrency_of(poller) == (concurrency or 1)
    threads.start()
    try:
        deadline = time.monotonic() + 20
        while recorder.done() < groups * per_group and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        threads.stop()
    assert recorder.done() == groups * per_group
    return recorder


def test_groups_are_worked_at_once_but_a_group_never_twice_at_once(moto_url: str) -> None:
    recorder = _run(moto_url, concurrency=6, groups=3, per_group=6)
    assert recorder.max_running >= 2  # lanes side by side
    assert recorder.max_running_per_group == {"g0": 1, "g1": 1, "g2": 1}  # 6 threads, still one batch per group
    assert recorder.order == {f"g{g}": list(range(6)) for g in range(3)}  # each lane in order, each message once


def test_without_a_scaling_config_one_batch_at_a_time(moto_url: str) -> None:
    recorder = _run(moto_url, concurrency=None, groups=2, per_group=3)
    assert recorder.max_running == 1
    assert recorder.order == {"g0": [0, 1, 2], "g1": [0, 1, 2]}


def test_two_receives_at_once_never_hand_out_one_group_twice(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto takes a snapshot of the groups in flight, then delivers: with the window between the two widened,
    a second receive at once would deliver the group's next message too, without devstack.moto_patches' lock."""
    import copy

    from moto.sqs import models

    def slow_deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, set):  # the snapshot of the groups in flight
            time.sleep(0.2)
        return copy.deepcopy(value, memo)

    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    url = sqs.create_queue(QueueName="race.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=str(n), MessageGroupId="g", MessageDeduplicationId=str(n))
    monkeypatch.setattr(models, "deepcopy", slow_deepcopy)
    got: list[str] = []

    def receive() -> None:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
        got.extend(m["Body"] for m in messages)

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert got == ["0"]  # the first message only: its group is in flight for the other receive


def test_the_signing_pool_keys_are_anvils_accounts_2_to_9() -> None:
    from eth_account import Account

    from devstack import chain

    Account.enable_unaudited_hdwallet_features()
    mnemonic = "test test test test test test test test test test test junk"
    derived = [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex() for i in range(2, 10)]
    assert [key.removeprefix("0x") for key in chain.POOL_KEYS] == [key.removeprefix("0x") for key in derived]
    assert chain.address_of(chain.POOL_KEYS[0]) == "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_a_fifo_receive_returns_as_many_messages_of_one_group_as_it_can(moto_url: str) -> None:
    """SQS's FIFO delivery logic: interleaved lanes, a receive of 10 takes the first group's messages first."""
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    url = sqs.create_queue(QueueName="groups.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    for n in range(4):
        for g in ("a", "b", "c"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{g}{n}", MessageGroupId=g, MessageDeduplicationId=f"{g}{n}")

    def receive(count: int) -> list[str]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count).get("Messages", [])
        return [m["Body"] for m in messages]

    assert receive(6) == ["a0", "a1", "a2", "a3", "b0", "c0"]  # group a whole, then the queue's order
    assert receive(10) == []  # every group in flight
