"""The AWS operations each function makes, recorded from botocore's `before-parameter-build` events (the
call's own parameters; `before-call` sees them serialized), and the IAM statements template.yaml grants
each function, evaluated against them (docs/decisions/0035-least-privilege-recorded-calls.md).

A call is attributed to the function whose invocation (`devstack.lambdas.invoke`) runs on its thread; a
thread started during an invocation (the token endpoint's key load) gets it while it is the one running.
Calls outside an invocation (a test's own setup) are not recorded. A call becomes what IAM authorizes: its
action(s), the resource ARN and, on the catalog, the partition keys it touches (`dynamodb:LeadingKeys`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack import lambdas
from devstack import template as tpl
from devstack.provision import ACCOUNT_ID, Stack

# A TransactWriteItems / TransactGetItems item is authorized as the action of its kind (IAM has no
# TransactWriteItems action of its own).
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass(frozen=True)
class Call:
    action: str  # dynamodb:GetItem
    resource: str  # an ARN
    leading_keys: tuple[str, ...] = ()  # the partition key values, for the tables that are keyed by kind


@dataclass
class Recorder:
    stack: Stack
    calls: dict[str, set[Call]] = field(default_factory=dict)
    _active: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    _invokers: set[int] = field(default_factory=set)
    _threads: dict[int, set[int]] = field(default_factory=dict)  # invoker -> the threads alive when it began

    def _function(self) -> str | None:
        ident = threading.get_ident()
        with self._lock:
            own = self._active.get(ident)
            if own is not None:
                return own
            if ident in self._invokers or threading.current_thread() is threading.main_thread():
                return None  # a test's own call between invocations
            # A thread that did not exist when the one running invocation began was started by it.
            running = [(invoker, fn) for invoker, fn in self._active.items() if ident not in self._threads[invoker]]
        return running[0][1] if len(running) == 1 and len(self._active) == 1 else None

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        function = self._function()
        if function is None:
            return
        found = set(_calls(self.stack, model.service_model.signing_name, model.name, params))
        with self._lock:
            self.calls.setdefault(function, set()).update(found)

    def wrap(self, invoke: Callable[[str, dict[str, Any]], Any]) -> Callable[[str, dict[str, Any]], Any]:
        def recorded(function: str, event: dict[str, Any]) -> Any:
            ident = threading.get_ident()
            with self._lock:
                outer = self._active.get(ident)
                self._active[ident] = function
                self.calls.setdefault(function, set())  # invoked, even if it calls nothing (the 405 fallback)
                self._invokers.add(ident)
                self._threads[ident] = {t.ident for t in threading.enumerate() if t.ident is not None}
            try:
                return invoke(function, event)
            finally:
                with self._lock:
                    if outer is None:
                        del self._active[ident]
                    else:
                        self._active[ident] = outer

        return recorded


@contextmanager
def recording(stack: Stack) -> Iterator[Recorder]:
    """Record while the block runs: every function's clients come from a session that reports each call.
    The calls are added to the run's (RUN) when the block ends."""
    from payments_core.store import aws

    recorder = Recorder(stack)
    session = boto3.session.Session()
    session.events.register("before-parameter-build", recorder.before_call)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "_session", lambda: session)
        for name in ("dynamodb", "sqs", "secretsmanager", "ssm"):
            getattr(aws, name).cache_clear()
        patch.setattr(lambdas, "invoke", recorder.wrap(lambdas.invoke))
        try:
            yield recorder
        finally:
            merge(RUN, recorder.calls)
            for name in ("dynamodb", "sqs", "secretsmanager", "ssm"):
                getattr(aws, name).cache_clear()


def _arn(stack: Stack, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{stack.region}:{ACCOUNT_ID}:{resource}"


def _table(stack: Stack, name: str, index: str | None = None) -> str:
    return _arn(stack, "dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))


def _pk(key: dict[str, Any] | None) -> tuple[str, ...]:
    value = (key or {}).get("pk", {}).get("S")
    return (value,) if isinstance(value, str) else ()


def _calls(stack: Stack, service: str, operation: str, params: dict[str, Any]) -> Iterator[Call]:
    if service == "dynamodb":
        if operation == "BatchGetItem":
            for table, read in params["RequestItems"].items():
                keys = tuple(k for key in read["Keys"] for k in _pk(key))
                yield Call("dynamodb:BatchGetItem", _table(stack, table), keys)
        elif operation == "BatchWriteItem":
            for table, writes in params["RequestItems"].items():
                keys = tuple(
                    k for w in writes for k in _pk((w.get("PutRequest") or {}).get("Item") or w["DeleteRequest"]["Key"])
                )
                yield Call("dynamodb:BatchWriteItem", _table(stack, table), keys)
        elif operation in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                yield Call(
                    f"dynamodb:{_TRANSACT_ACTIONS[kind]}",
                    _table(stack, body["TableName"]),
                    _pk(body.get("Key") or body.get("Item")),
                )
        elif operation == "Query":
            values = params.get("ExpressionAttributeValues", {})
            # The partition key's value: the table's `pk`, the by_kind index's `kind`, the by_app index's `app_id`.
            keys = tuple(v["S"] for k, v in values.items() if k in (":pk", ":kind", ":a") and "S" in v)
            yield Call("dynamodb:Query", _table(stack, params["TableName"], params.get("IndexName")), keys)
        else:
            key = params.get("Key") or params.get("Item")
            yield Call(f"dynamodb:{operation}", _table(stack, params["TableName"]), _pk(key))
    elif service == "sqs":
        name = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        yield Call(f"sqs:{operation}", _arn(stack, "sqs", name))
    elif service == "secretsmanager":
        secret = str(params["SecretId"])
        arn = _suffixless(secret) if secret.startswith("arn:") else _secret_arn(stack, secret)
        yield Call(f"secretsmanager:{operation}", arn)
    elif service == "ssm":
        yield Call(f"ssm:{operation}", _arn(stack, "ssm", f"parameter{params['Name']}"))
    else:
        yield Call(f"{service}:{operation}", "*")


def _secret_arn(stack: Stack, name: str) -> str:
    """A secret's ARN ends in `-` and six random characters; a secret named by its name is matched as such."""
    return _arn(stack, "secretsmanager", f"secret:{name}-??????")


def _suffixless(arn: str) -> str:
    """Each test's stack has its own secrets: their random suffix is left out of the comparison."""
    return re.sub(r"^(arn:aws:secretsmanager:.*:secret:.+)-[A-Za-z0-9]{6}$", r"\1-??????", arn)


# ---------------------------------------------------------------- the template's side


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] | None  # ForAllValues:StringLike dynamodb:LeadingKeys, when conditioned

    def allows(self, call: Call) -> bool:
        if call.action not in self.actions:
            return False
        if not any(fnmatch.fnmatchcase(call.resource, pattern) for pattern in self.resources):
            return False
        if self.leading_keys is None:
            return True
        return all(any(fnmatch.fnmatchcase(k, p) for p in self.leading_keys) for k in call.leading_keys)


def grants(stack: Stack, function: str) -> list[Grant]:
    """The function's policies, each an inline statement (a SAM policy template is refused: it grants more
    than a function calls)."""
    out = []
    for policy in tpl.load()["Resources"][function]["Properties"].get("Policies", []):
        if set(policy) != {"Statement"}:
            raise AssertionError(f"{function}: a SAM policy template ({', '.join(policy)}); write the statement")
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            condition = statement.get("Condition")
            leading: tuple[str, ...] | None = None
            if condition is not None:
                (values,) = condition.values()
                assert list(condition) == ["ForAllValues:StringLike"], condition
                assert list(values) == ["dynamodb:LeadingKeys"], condition
                raw = values["dynamodb:LeadingKeys"]
                leading = tuple(raw if isinstance(raw, list) else [raw])
            resolved = tuple(_suffixless(str(stack.resolve(r))) for r in resources)
            out.append(Grant(tuple(actions), resolved, leading))
    return out


def compare(stack: Stack, function: str, calls: set[Call]) -> list[str]:
    """What is wrong with the function's grants: a call no statement allows, an action or resource a
    statement grants that no call uses, a leading key pattern no call needs."""
    problems = []
    granted = grants(stack, function)
    exempt = set(_event_source_grants(stack, function))
    for call in sorted(calls, key=str):
        if not any(g.allows(call) for g in granted):
            problems.append(f"{function}: {call.action} on {call.resource} {list(call.leading_keys)} is not granted")
    for g in granted:
        for action in g.actions:
            for resource in g.resources:
                used = [c for c in calls if c.action == action and fnmatch.fnmatchcase(c.resource, resource)]
                if not used and (action, resource) not in exempt:
                    problems.append(f"{function}: {action} on {resource} is granted but never called")
                for pattern in g.leading_keys or ():
                    if used and not any(fnmatch.fnmatchcase(k, pattern) for c in used for k in c.leading_keys):
                        problems.append(f"{function}: {action} on {resource} for keys {pattern} is never needed")
    return problems


def _event_source_grants(stack: Stack, function: str) -> Iterator[tuple[str, str]]:
    """What Lambda itself does with the function's role: send a failed batch to an on-failure destination."""
    events = tpl.load()["Resources"][function]["Properties"].get("Events", {})
    for event in events.values():
        destination = event.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure", {})
        if destination.get("Type") == "SQS":
            yield "sqs:SendMessage", str(stack.resolve(destination["Destination"]))


# ---------------------------------------------------------------- across the integration run

RUN: dict[str, set[Call]] = {}  # this process's recordings (an xdist worker's, or the whole run's)
_OUTPUT_KEY = "iam_operations"


def to_json(calls: dict[str, set[Call]]) -> dict[str, list[list[Any]]]:
    return {fn: sorted([c.action, c.resource, list(c.leading_keys)] for c in cs) for fn, cs in calls.items()}


def from_json(data: dict[str, list[list[Any]]]) -> dict[str, set[Call]]:
    return {fn: {Call(a, r, tuple(k)) for a, r, k in cs} for fn, cs in data.items()}


def merge(into: dict[str, set[Call]], more: dict[str, set[Call]]) -> None:
    for fn, cs in more.items():
        into.setdefault(fn, set()).update(cs)


def report(stack: Stack, calls: dict[str, set[Call]]) -> list[str]:
    """Every function's problems; a function none of the tests invoked is one too."""
    problems = []
    for function in sorted(tpl.functions()):
        if function not in calls:
            problems.append(f"{function}: no integration test invoked it (its grants cannot be checked)")
            continue
        problems.extend(compare(stack, function, calls[function]))
    return problems


def _whole_integration_run(session: pytest.Session) -> bool:
    """Judged only on a run of every integration test that passed: a subset would not call everything."""
    config = session.config
    option = config.option
    if option.keyword or option.markexpr or getattr(option, "lf", False) or getattr(option, "deselect", None):
        return False
    if session.testsfailed or not RUN:
        return False
    root = Path(str(config.rootpath))
    integration = root / "tests" / "integration"
    for arg in config.args:
        if "::" in arg:
            return False
        path = (Path(str(config.invocation_params.dir)) / arg).resolve()
        if path in (root / "tests", integration, root):
            return True
    return False


def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: a worker's recordings reach the controller in its workeroutput."""
    raw = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if raw:
        merge(RUN, from_json(json.loads(raw)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    dump = os.environ.get("IAM_RECORD_FILE")  # what each function called, for a developer (any run)
    if dump and RUN and not hasattr(config, "workeroutput"):
        Path(dump).write_text(json.dumps(to_json(RUN), indent=1))
    if hasattr(config, "workeroutput"):  # an xdist worker: hand the recordings over
        config.workeroutput[_OUTPUT_KEY] = json.dumps(to_json(RUN))
        return
    if not _whole_integration_run(session):
        return
    from moto import mock_aws

    from devstack.provision import provision

    with mock_aws():
        problems = report(provision(boto3.session.Session()), RUN)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if problems:
        if terminal is not None:
            terminal.write_sep("=", "least privilege: template.yaml grants vs the calls the functions made", red=True)
            for line in problems:
                terminal.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif terminal is not None:
        terminal.write_line(f"least privilege: every grant of {len(RUN)} functions is used, every call granted")
