"""Schedules of the local stack (devstack.pollers.SchedulePoller): Schedule / ScheduleV2 events of template.yaml
invoke their function with EventBridge's scheduled event, every DEVSTACK_SCHEDULE_SECONDS locally.

Hand-made EventSource objects and templates, a fake clock where timing matters, and one run in threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import template as tpl
from devstack.pollers import (
    BatchOutcome,
    PollerThreads,
    SchedulePoller,
    build_pollers,
    schedule_seconds_override,
)
from devstack.provision import Stack, provision

REGION = "us-east-1"
DEADLINE_SECONDS = 20.0


def schedule_source(function: str = "Watcher", rate: float | None = 60.0, **props: Any) -> tpl.EventSource:
    return tpl.EventSource(function, "Schedule", f"{function}Tick", 1, False, props, rate)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(event)))
        if self.fail:
            raise RuntimeError("watcher down")


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield provision(boto3.session.Session(), region=REGION)


# ----------------------------------------------------------------------------------------- template
def _template(events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "WatcherFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "functions/x/", "Handler": "app.handler", "Events": events},
            }
        }
    }


def test_event_sources_yield_schedules_with_their_rate() -> None:
    template = _template(
        {
            "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
            "Hourly": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(2 hours)"}},
            "Nightly": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 3 * * ? *)"}},
            "Off": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)", "Enabled": False}},
            "OffV2": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 day)", "State": "DISABLED"}},
            "Api": {"Type": "Api", "Properties": {"Path": "/x", "Method": "get"}},
        }
    )
    sources = tpl.event_sources(template)
    assert [(s.function, s.kind, s.source, s.rate_seconds) for s in sources] == [
        ("WatcherFunction", "Schedule", "WatcherFunctionTick", 60.0),
        ("WatcherFunction", "Schedule", "WatcherFunctionHourly", 7200.0),
        ("WatcherFunction", "Schedule", "WatcherFunctionNightly", None),
    ]
    assert sources[1].properties["Type"] == "ScheduleV2"
    assert all(s.batch_size == 1 and not s.report_batch_item_failures for s in sources)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60.0), ("rate(5 minutes)", 300.0), ("rate(1 hour)", 3600.0), ("rate(3 days)", 259200.0)],
)
def test_parse_rate(expression: str, seconds: float) -> None:
    assert tpl.parse_rate(expression) == seconds


def test_parse_rate_refuses_nonsense() -> None:
    assert tpl.parse_rate("cron(0/5 * * * ? *)") is None
    for bad in ("rate(0 minutes)", "rate(1 second)", "every minute", "rate(1.5 minutes)"):
        with pytest.raises(ValueError, match="invalid schedule expression"):
            tpl.parse_rate(bad)


def test_the_template_schedules_parse() -> None:
    """Whatever the template declares (the chain watcher, ...), it parses and would be polled."""
    for source in tpl.event_sources():
        if source.kind == "Schedule":
            assert source.rate_seconds is None or source.rate_seconds > 0


# ------------------------------------------------------------------------------------- the poller
def test_scheduled_event_is_eventbridges(stack: Stack) -> None:
    handler = Recorder()
    (poller,) = build_pollers(stack, lambda fn, ev: handler(ev), [schedule_source()], schedule_seconds=2.0)
    assert isinstance(poller, SchedulePoller)

    assert poller.poll_once(force=True) == BatchOutcome(received=1, succeeded=1)

    (event,) = handler.events
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == REGION
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/payments-local-WatcherTick"]
    assert event["detail"] == {}
    assert event["time"].endswith("Z")
    assert len(event["time"]) == len("2026-01-01T00:00:00Z")
    poller.poll_once(force=True)
    assert handler.events[1]["id"] != event["id"]


def test_input_replaces_the_event_and_name_the_rule(stack: Stack) -> None:
    handler = Recorder()
    sources = [
        schedule_source(Input='{"mode": "scan"}'),
        schedule_source("Janitor", Type="ScheduleV2", Name="janitor-schedule"),
    ]
    with_input, v2 = build_pollers(stack, lambda fn, ev: handler(ev), sources, schedule_seconds=2.0)
    assert isinstance(with_input, SchedulePoller)
    assert isinstance(v2, SchedulePoller)
    with_input.poll_once(force=True)
    v2.poll_once(force=True)
    assert handler.events[0] == {"mode": "scan"}
    assert handler.events[1]["resources"] == [
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/janitor-schedule"
    ]


def test_runs_once_a_period_first_one_period_after_the_start() -> None:
    clock, handler = Clock(), Recorder()
    poller = SchedulePoller(schedule_source(), handler, period=2.0, rule_name="r", clock=clock)

    assert poller.seconds_until_due() == 2.0
    assert poller.poll_once() == BatchOutcome()
    clock.now += 1.5
    assert poller.poll_once() == BatchOutcome()
    assert poller.seconds_until_due() == pytest.approx(0.5)
    clock.now += 0.5
    assert poller.poll_once() == BatchOutcome(received=1, succeeded=1)
    assert poller.poll_once() == BatchOutcome()  # not twice for one tick
    assert poller.seconds_until_due() == 2.0
    # A run far behind schedule (a long invocation, a suspended laptop) runs once, not once per missed tick.
    clock.now += 11.0
    assert poller.poll_once() == BatchOutcome(received=1, succeeded=1)
    assert poller.poll_once() == BatchOutcome()
    assert poller.seconds_until_due() == 2.0
    assert len(handler.events) == 2


def test_a_failed_run_is_logged_and_the_next_tick_comes(caplog: pytest.LogCaptureFixture) -> None:
    clock, handler = Clock(), Recorder(fail=True)
    poller = SchedulePoller(schedule_source(), handler, period=2.0, rule_name="r", clock=clock)
    clock.now += 2.0
    assert poller.poll_once() == BatchOutcome(received=1, failed=1)
    assert "the scheduled invocation failed" in caplog.text
    clock.now += 2.0
    assert poller.poll_once() == BatchOutcome(received=1, failed=1)
    assert len(handler.events) == 2


def test_period_comes_from_the_environment_or_the_rate(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    source = schedule_source(rate=60.0)
    cron = schedule_source("Nightly", rate=None)

    monkeypatch.delenv("DEVSTACK_SCHEDULE_SECONDS", raising=False)
    assert schedule_seconds_override() == 2.0
    periods = [p.period for p in build_pollers(stack, lambda fn, ev: None, [source, cron])]  # type: ignore[union-attr]
    assert periods == [2.0, 2.0]

    monkeypatch.setenv("DEVSTACK_SCHEDULE_SECONDS", "0.25")
    periods = [p.period for p in build_pollers(stack, lambda fn, ev: None, [source, cron])]  # type: ignore[union-attr]
    assert periods == [0.25, 0.25]

    monkeypatch.setenv("DEVSTACK_SCHEDULE_SECONDS", "rate")
    periods = [p.period for p in build_pollers(stack, lambda fn, ev: None, [source, cron])]  # type: ignore[union-attr]
    assert periods == [60.0, 60.0]  # a cron schedule: every minute

    assert [
        p.period  # type: ignore[union-attr]
        for p in build_pollers(stack, lambda fn, ev: None, [source], schedule_seconds=None)
    ] == [60.0]
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv("DEVSTACK_SCHEDULE_SECONDS", bad)
        with pytest.raises(ValueError, match="DEVSTACK_SCHEDULE_SECONDS"):
            schedule_seconds_override()


def test_build_pollers_invokes_the_sources_function(stack: Stack) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    (poller,) = build_pollers(
        stack, lambda fn, ev: calls.append((fn, ev)), [schedule_source("ChainWatcherFunction")], schedule_seconds=1.0
    )
    poller.poll_once(force=True)  # type: ignore[call-arg]
    assert [fn for fn, _ in calls] == ["ChainWatcherFunction"]


def test_threads_run_it_every_period_and_stop_at_once() -> None:
    handler = Recorder()
    poller = SchedulePoller(schedule_source(rate=3600.0), handler, period=0.1, rule_name="r")
    threads = PollerThreads([poller], idle_seconds=0.05)
    started = time.monotonic()
    threads.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(handler.events) < 3:
            assert time.monotonic() < deadline, "the schedule did not run three times"
            time.sleep(0.02)
    finally:
        stopping = time.monotonic()
        threads.stop(timeout=5)
    assert time.monotonic() - stopping < 1.0
    assert not any(t.is_alive() for t in threads._threads)
    assert time.monotonic() - started >= 0.3  # three periods at least

    # A long period does not hold the stop up: the thread waits on the stop event.
    slow = PollerThreads([SchedulePoller(schedule_source(), Recorder(), period=3600.0, rule_name="r")])
    slow.start()
    time.sleep(0.05)
    stopping = time.monotonic()
    slow.stop(timeout=5)
    assert time.monotonic() - stopping < 1.0
