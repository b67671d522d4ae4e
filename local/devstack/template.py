"""template.yaml, read once: the one source of truth for tables, queues, routes, authorizers,
event sources and environment, for the tests and the local stack alike."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cfn_tools import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return dict(load_yaml(path.read_text()))


def resources(kind: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    t = template or load()
    return {name: r for name, r in t["Resources"].items() if r["Type"] == kind}


@dataclass
class Route:
    function: str
    method: str
    path: str  # API Gateway form: /api/v1/payments/{id}
    authorizer: str | None


@dataclass
class EventSource:
    function: str
    kind: str  # "SQS" | "DynamoDB" | "Schedule" (Schedule and ScheduleV2 events)
    source: str  # logical id of the queue or table; of a schedule: the rule SAM generates (<function><event>)
    batch_size: int  # a schedule: 1
    report_batch_item_failures: bool  # a schedule: False
    properties: dict[str, Any] = field(default_factory=dict)
    rate_seconds: float | None = None  # a schedule's `rate(...)` in seconds; None for cron(...) and other kinds

    @property
    def maximum_concurrency(self) -> int:
        """An SQS source's `ScalingConfig: MaximumConcurrency` (how many invocations Lambda runs at once, 2..1000);
        1 when it declares none: the local stack then polls it one batch at a time, as it always did."""
        if self.kind != "SQS":
            return 1
        value = self.properties.get("ScalingConfig", {}).get("MaximumConcurrency")
        return 1 if value is None else int(value)


@dataclass
class Function:
    name: str
    code_uri: str
    handler: str
    environment: dict[str, Any]
    timeout: int


def functions(template: dict[str, Any] | None = None) -> dict[str, Function]:
    t = template or load()
    glob = t.get("Globals", {}).get("Function", {})
    genv = glob.get("Environment", {}).get("Variables", {})
    out = {}
    for name, r in resources("AWS::Serverless::Function", t).items():
        p = r["Properties"]
        env = {**genv, **p.get("Environment", {}).get("Variables", {})}
        out[name] = Function(
            name=name,
            code_uri=p["CodeUri"],
            handler=p["Handler"],
            environment=env,
            timeout=int(p.get("Timeout", glob.get("Timeout", 3))),
        )
    return out


def layers_of(function: str, template: dict[str, Any] | None = None) -> list[str]:
    """The logical ids of the function's layers (the runtime's /opt/python): SAM adds a function's own list
    to Globals' (lists in Globals are additive), so the chain workers run with CoreLayer + ChainLayer."""
    t = template or load()
    own = t["Resources"][function]["Properties"].get("Layers", [])
    refs = [*t.get("Globals", {}).get("Function", {}).get("Layers", []), *own]
    names = [ref["Ref"] if isinstance(ref, dict) else str(ref) for ref in refs]
    return list(dict.fromkeys(names))


def layer_source(layer: str, template: dict[str, Any] | None = None) -> Path:
    """A layer's source directory (its ContentUri)."""
    return ROOT / str((template or load())["Resources"][layer]["Properties"]["ContentUri"])


def _api_auth(t: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    for _, api in resources("AWS::Serverless::Api", t).items():
        auth = api["Properties"].get("Auth", {})
        return auth.get("DefaultAuthorizer"), auth.get("Authorizers", {})
    return None, {}


def authorizers(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return _api_auth(template or load())[1]


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    t = template or load()
    default, _ = _api_auth(t)
    out = []
    for name, r in resources("AWS::Serverless::Function", t).items():
        for ev in r["Properties"].get("Events", {}).values():
            if ev["Type"] != "Api":
                continue
            p = ev["Properties"]
            auth = p.get("Auth", {}).get("Authorizer", default)
            out.append(Route(name, p["Method"].upper(), p["Path"], None if auth == "NONE" else auth))
    return out


SCHEDULE_TYPES = ("Schedule", "ScheduleV2")
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_rate(expression: str) -> float | None:
    """`rate(1 minute)` -> 60.0, `rate(2 hours)` -> 7200.0; None for `cron(...)` and `at(...)`."""
    m = _RATE.match(expression.strip())
    if m is None:
        if expression.strip().startswith(("cron(", "at(")):
            return None
        raise ValueError(f"invalid schedule expression {expression!r}")
    value, unit = int(m.group(1)), m.group(2).removesuffix("s")
    if value <= 0:
        raise ValueError(f"invalid schedule expression {expression!r}")
    return float(value * _UNIT_SECONDS[unit])


def _schedule_enabled(ev_type: str, p: dict[str, Any]) -> bool:
    if ev_type == "Schedule" and p.get("Enabled") is False:
        return False
    return str(p.get("State", "ENABLED")).upper() != "DISABLED"


def event_sources(template: dict[str, Any] | None = None) -> list[EventSource]:
    """Every SQS, DynamoDB stream and (enabled) Schedule/ScheduleV2 event of the template's functions."""
    t = template or load()
    out = []
    for name, r in resources("AWS::Serverless::Function", t).items():
        for event_name, ev in r["Properties"].get("Events", {}).items():
            if ev["Type"] in SCHEDULE_TYPES:
                p = ev.get("Properties", {})
                if not _schedule_enabled(ev["Type"], p):
                    continue
                expression = p.get("Schedule") if ev["Type"] == "Schedule" else p.get("ScheduleExpression")
                out.append(
                    EventSource(
                        function=name,
                        kind="Schedule",
                        source=f"{name}{event_name}",
                        batch_size=1,
                        report_batch_item_failures=False,
                        properties={"Type": ev["Type"], **p},
                        rate_seconds=parse_rate(expression) if isinstance(expression, str) else None,
                    )
                )
                continue
            if ev["Type"] not in ("SQS", "DynamoDB"):
                continue
            p = ev["Properties"]
            ref = p.get("Queue") if ev["Type"] == "SQS" else p.get("Stream")
            source = _logical_of(ref)
            out.append(
                EventSource(
                    function=name,
                    kind=ev["Type"],
                    source=source,
                    batch_size=int(p.get("BatchSize", 10 if ev["Type"] == "SQS" else 100)),
                    report_batch_item_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                    properties=dict(p),
                )
            )
    return out


def _logical_of(ref: Any) -> str:
    """The logical id behind !GetAtt X.Arn / !GetAtt X.StreamArn / !Ref X."""
    if isinstance(ref, dict):
        if "Fn::GetAtt" in ref:
            att = ref["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else str(att).split(".")[0]
        if "Ref" in ref:
            return str(ref["Ref"])
    raise ValueError(f"cannot resolve event source {ref!r}")


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, Any]:
    t = template or load()
    return {k: v.get("Default") for k, v in t.get("Parameters", {}).items()}
