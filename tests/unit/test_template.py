"""Checks of template.yaml that cfn-lint does not make inside SAM resources."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from devstack import template as tpl

FUNCTIONS = tpl.resources("AWS::Serverless::Function")
QUEUES = tpl.resources("AWS::SQS::Queue")


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref":
                if not str(v).startswith("AWS::"):
                    found.add(str(v))
            elif k == "Fn::GetAtt":
                found.add(v[0] if isinstance(v, list) else str(v).split(".")[0])
            elif k == "Fn::Sub":
                text = v if isinstance(v, str) else v[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text) if not m.startswith("AWS::")}
            else:
                found |= _refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= _refs(v)
    return found


def _logical(ref: Any) -> str:
    (found,) = _refs(ref)
    return found


def test_globals_pin_the_runtime_and_architecture() -> None:
    glob = tpl.load()["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    for name, fn in FUNCTIONS.items():
        assert fn["Properties"].get("Runtime", "python3.13") == "python3.13", name
        assert fn["Properties"].get("Architectures", ["arm64"]) == ["arm64"], name


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_handler_exists(name: str) -> None:
    fn = tpl.functions()[name]
    module, attr = fn.handler.rsplit(".", 1)
    path = tpl.ROOT / fn.code_uri / f"{module}.py"
    assert path.is_file(), path
    tree = ast.parse(path.read_text())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    assert attr in defined, f"{path} defines no {attr}"


def test_every_reference_names_a_resource_or_parameter() -> None:
    t = tpl.load()
    known = set(t["Resources"]) | set(t.get("Parameters", {}))
    missing = _refs(t["Resources"]) | _refs(t["Globals"]) | _refs(t.get("Outputs", {}))
    assert missing - known == set()


def test_every_work_queue_has_a_dead_letter_queue() -> None:
    dead_letter_targets = set()
    for name, q in QUEUES.items():
        redrive = q["Properties"].get("RedrivePolicy")
        if redrive:
            target = _refs(redrive["deadLetterTargetArn"])
            assert target <= set(QUEUES), name
            assert int(redrive["maxReceiveCount"]) >= 3, name
            dead_letter_targets |= target
    # On-failure destinations of stream consumers are terminal stores, like dead-letter queues.
    destinations = {
        _logical(s.properties["DestinationConfig"]["OnFailure"]["Destination"])
        for s in tpl.event_sources()
        if s.properties.get("DestinationConfig")
    }
    work_queues = set(QUEUES) - dead_letter_targets - destinations
    assert work_queues, "the template has work queues"
    for name in work_queues:
        assert "RedrivePolicy" in QUEUES[name]["Properties"], f"{name} has no dead-letter queue"
        fifo = QUEUES[name]["Properties"].get("FifoQueue", False)
        for dlq in _refs(QUEUES[name]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]):
            assert QUEUES[dlq]["Properties"].get("FifoQueue", False) == fifo


def test_event_sources_report_partial_failures_and_keep_poison_records() -> None:
    for source in tpl.event_sources():
        if source.kind == "Schedule":
            continue  # no batch, no records: a failed tick is retried by the next one
        assert source.report_batch_item_failures, source.function
        if source.kind == "DynamoDB":
            table = tpl.load()["Resources"][source.source]
            assert "StreamSpecification" in table["Properties"]
            assert source.properties.get("BisectBatchOnFunctionError") is True
            assert source.properties.get("DestinationConfig", {}).get("OnFailure"), source.function


def test_routes_are_unique_and_authorized_unless_public() -> None:
    routes = tpl.routes()
    keys = [(r.method, r.path) for r in routes]
    assert len(keys) == len(set(keys))
    public = {(r.method, r.path) for r in routes if r.authorizer is None}
    assert public == {("POST", "/api/v1/auth/token"), ("GET", "/.well-known/jwks.json")}


def test_layer_requirements_are_pinned() -> None:
    lines = [
        line.split(";")[0].strip()
        for line in (tpl.ROOT / "layers/core/requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line) for line in lines), lines


def test_the_create_deal_worker_knows_its_queues_max_receives() -> None:
    glob = tpl.load()["Globals"]["Function"]["Environment"]["Variables"]
    redrive = QUEUES["CreateDealQueue"]["Properties"]["RedrivePolicy"]
    assert int(glob["CREATE_DEAL_MAX_RECEIVES"]) == int(redrive["maxReceiveCount"])


def test_only_chain_functions_attach_the_chain_layer() -> None:
    for name, fn in FUNCTIONS.items():
        layers = fn["Properties"].get("Layers", [])
        uses_chain = "import payments_chain" in (tpl.ROOT / fn["Properties"]["CodeUri"] / "app.py").read_text() or (
            "from payments_chain" in (tpl.ROOT / fn["Properties"]["CodeUri"] / "app.py").read_text()
        )
        assert ({"Ref": "ChainLayer"} in layers) == uses_chain, name


def test_every_gateway_made_answer_is_in_the_error_shape() -> None:
    """API Gateway's own answers (refused token, unknown route, throttling, too large, any other 4xx/5xx)
    use the API's one error shape; DEFAULT_4XX and DEFAULT_5XX cover the kinds not listed."""
    api = next(iter(tpl.resources("AWS::Serverless::Api").values()))
    responses = api["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "THROTTLED", "REQUEST_TOO_LARGE"} <= set(responses)
    for kind, spec in responses.items():
        template = spec["ResponseTemplates"]["application/json"]
        # $context.error.messageString is API Gateway's message as a JSON string, quotes included.
        body = json.loads(template.replace("$context.error.messageString", json.dumps('Say "hi"')))
        assert set(body) == {"error"}, kind
        assert set(body["error"]) == {"code", "message", "details"}, kind
        assert re.fullmatch(r"[a-z_]+", body["error"]["code"]), kind
        assert isinstance(body["error"]["message"], str), kind
        assert body["error"]["details"] == [], kind
