"""template.yaml's logs and alarms (docs/operations.md): every queue, function and custom metric the
alarms rely on is covered, every alarm notifies the topic. cfn-lint checks the syntax, not the coverage."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack import template as tpl
from payments_core import metrics

T = tpl.load()
RESOURCES: dict[str, dict[str, Any]] = T["Resources"]
FUNCTIONS = tpl.resources("AWS::Serverless::Function")
QUEUES = tpl.resources("AWS::SQS::Queue")
ALARMS = tpl.resources("AWS::CloudWatch::Alarm")
LOG_GROUPS = tpl.resources("AWS::Logs::LogGroup")
TOPIC = {"Ref": "AlarmTopic"}


def _metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own (Namespace, MetricName, Dimensions) or its metric math's inputs."""
    p = alarm["Properties"]
    if "MetricName" in p:
        return [{"Namespace": p["Namespace"], "MetricName": p["MetricName"], "Dimensions": p.get("Dimensions", [])}]
    return [m["MetricStat"]["Metric"] for m in p["Metrics"] if "MetricStat" in m]


def _ref(value: Any) -> str:
    """The logical id a !Ref or !GetAtt names."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"not a reference: {value!r}")


def _dims(metric: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def _alarms_on(namespace: str, name: str, **dims: Any) -> list[str]:
    """The alarms reading `name` with (at least) these dimension values."""
    return [
        alarm_id
        for alarm_id, alarm in ALARMS.items()
        for m in _metrics(alarm)
        if m["Namespace"] == namespace
        and m["MetricName"] == name
        and all(_dims(m).get(k) == v for k, v in dims.items())
    ]


def _is_terminal(queue: str) -> bool:
    """A dead-letter queue or a stream consumer's on-failure destination: a message there is a failure."""
    targets = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in QUEUES.values()
        if "RedrivePolicy" in q["Properties"]
    }
    for source in tpl.event_sources():
        destination = source.properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            targets.add(destination["Fn::GetAtt"][0])
    return queue in targets


def test_the_template_has_terminal_and_work_queues() -> None:
    terminal = [q for q in QUEUES if _is_terminal(q)]
    assert terminal
    assert set(QUEUES) - set(terminal)


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_every_queue_has_an_alarm(queue: str) -> None:
    name = {"Fn::GetAtt": [queue, "QueueName"]}
    if _is_terminal(queue):
        # One message is already a failure: alarmed at the first.
        found = _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=name)
        assert found, f"{queue} (a dead-letter or failure queue) has no alarm on a message in it"
        for alarm_id in found:
            p = ALARMS[alarm_id]["Properties"]
            assert p["Statistic"] == "Maximum", alarm_id
            assert p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", alarm_id
            assert float(p["Threshold"]) <= 1, alarm_id
    else:
        # A work queue: its oldest message older than its consumer should ever leave it.
        assert _alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage", QueueName=name), f"{queue} has no age alarm"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_has_its_own_log_group_with_a_retention(function: str) -> None:
    own = FUNCTIONS[function]["Properties"].get("LoggingConfig", {})
    assert "LogGroup" in own, f"{function} writes to Lambda's default log group (never expires)"
    group = _ref(own["LogGroup"])
    assert group in LOG_GROUPS, f"{function}: {group} is not a log group of the template"
    assert LOG_GROUPS[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    others = [f for f, fn in FUNCTIONS.items() if f != function and fn["Properties"].get("LoggingConfig") == own]
    assert others == [], f"{function} shares its log group with {others}"


def test_log_groups_are_json_and_named_apart_from_lambdas_default() -> None:
    assert T["Globals"]["Function"]["LoggingConfig"]["LogFormat"] == "JSON"
    for group_id, group in LOG_GROUPS.items():
        name = group["Properties"]["LogGroupName"]["Fn::Sub"]
        # Lambda's own /aws/lambda/<function name> may exist already on a deployed stack (created at the first
        # invocation): a group of that name would fail the update. Function names cannot contain "/".
        assert name.startswith(("/aws/lambda/${AWS::StackName}/", "/aws/apigateway/${AWS::StackName}")), group_id


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_errors_and_a_throttles_alarm(function: str, metric: str) -> None:
    assert _alarms_on("AWS/Lambda", metric, FunctionName={"Ref": function}), f"no {metric} alarm on {function}"


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_the_topic_and_says_what_it_means(alarm: str) -> None:
    p = ALARMS[alarm]["Properties"]
    assert p["AlarmActions"] == [TOPIC]
    assert p["OKActions"] == [TOPIC]
    assert p["TreatMissingData"] == "notBreaching", "no data (a quiet hour) is no failure"
    assert len(p["AlarmDescription"]) > 20
    if "Metrics" in p:
        assert sum(1 for m in p["Metrics"] if m.get("ReturnData", True)) == 1, "one series is alarmed"


def test_the_alarm_email_subscribes_to_the_topic_only_when_given() -> None:
    assert RESOURCES["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    (sub,) = tpl.resources("AWS::SNS::Subscription").values()
    assert sub["Condition"] == "HasAlarmEmail"
    assert sub["Properties"] == {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert T["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_the_5xx_rate_alarm_reads_this_api_and_stage() -> None:
    (api,) = tpl.resources("AWS::Serverless::Api").values()
    this_api = {"ApiName": api["Properties"]["Name"], "Stage": api["Properties"]["StageName"]}
    found = _alarms_on("AWS/ApiGateway", "5XXError", **this_api)
    assert found
    counted = _alarms_on("AWS/ApiGateway", "Count", **this_api)
    assert set(found) == set(counted), "the rate divides this API's 5xx by this API's requests"
    for alarm_id in found:
        assert ALARMS[alarm_id]["Properties"]["Threshold"] == {"Ref": "Api5xxAlarmPercent"}


def test_api_access_logs_go_to_a_log_group_without_headers_or_bodies() -> None:
    (api,) = tpl.resources("AWS::Serverless::Api").values()
    setting = api["Properties"]["AccessLogSetting"]
    group = _ref(setting["DestinationArn"])
    assert LOG_GROUPS[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = set(re.findall(r"\$context\.([\w.]+)", setting["Format"]))
    assert {"requestId", "status", "resourcePath", "httpMethod"} <= fields
    leaky = {f for f in fields if f.startswith(("requestOverride", "responseOverride")) or "header" in f.lower()}
    assert leaky == set()
    assert "identity.apiKey" not in fields
    assert "authorizer.principalId" not in fields


def _recordings() -> dict[str, list[str]]:
    """Metric name -> the rest of the line of each `metrics.count("Name"...` / `metrics.gauge("Name"...` call."""
    calls: dict[str, list[str]] = {}
    for root in ("functions", "layers"):
        for path in (tpl.ROOT / root).rglob("*.py"):
            for name, rest in re.findall(r'metrics\.(?:count|gauge)\(\s*"(\w+)"(.*)', path.read_text()):
                calls.setdefault(name, []).append(rest)
    return calls


def test_custom_metric_alarms_read_what_the_code_emits_with_its_dimensions() -> None:
    recorded = _recordings()
    services = {
        fn.environment.get("POWERTOOLS_SERVICE_NAME", metrics.DEFAULT_SERVICE) for fn in tpl.functions().values()
    }
    custom = [(a, m) for a, alarm in ALARMS.items() for m in _metrics(alarm) if m["Namespace"] == metrics.NAMESPACE]
    assert custom, "the watcher's lag, the wallets' balance, the refused tokens"
    for alarm_id, m in custom:
        calls = recorded.get(m["MetricName"])
        assert calls, f"{alarm_id}: the code records no {m['MetricName']}"
        # Every line carries the service dimension; the alarms read the service-only set, which a metric has
        # when recorded with no dimension of its own or with rollup=True.
        assert _dims(m) == {"service": next(iter(services))}, alarm_id
        for rest in calls:
            own_dims = set(re.findall(r"(\w+)=", rest)) - {"unit", "metadata", "rollup"}
            assert not own_dims or "rollup=True" in rest, f"{m['MetricName']} {rest}: not in the service-only set"
    assert len(services) == 1, "one service name, the alarms' dimension"


@pytest.mark.parametrize("metric", ["StuckSendsFailed", "CancelsFailed"])
def test_work_that_ended_without_success_is_alarmed_at_the_first(metric: str) -> None:
    """A payment the watcher gave up on in `sending`, a cancel that can never succeed: one is already an incident
    (issue 11: no status is a dead end, and none ends unseen)."""
    found = _alarms_on(metrics.NAMESPACE, metric)
    assert found, f"no alarm on {metric}"
    for alarm_id in found:
        p = ALARMS[alarm_id]["Properties"]
        assert (p["Statistic"], p["ComparisonOperator"]) == ("Sum", "GreaterThanOrEqualToThreshold"), alarm_id
        assert float(p["Threshold"]) <= 1, alarm_id
    assert _recordings().get(metric), f"the code records no {metric}"
