"""Checks of template.yaml that cfn-lint does not make inside SAM resources."""

from __future__ import annotations

import ast
import json
import re
import subprocess
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
    public = {(r.method, r.path) for r in routes if r.authorizer is None and r.method != "ANY"}
    assert public == {
        ("POST", "/api/v1/auth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/checkout/{price_id}"),  # NoRamp's checkout: a merchant's page holds the price id alone
    }


def _allowed_of_the_405_function() -> dict[str, list[str]]:
    """functions/method_not_allowed/app.py's ALLOWED, read without importing it."""
    fn = tpl.functions()["MethodNotAllowedFunction"]
    tree = ast.parse((tpl.ROOT / fn.code_uri / "app.py").read_text())
    (value,) = [
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["ALLOWED"]
    ]
    return {path: sorted(methods) for path, methods in ast.literal_eval(value).items()}


def test_every_resource_answers_other_methods_405_with_its_allow() -> None:
    """Each API resource has an ANY method, unauthenticated, on MethodNotAllowedFunction (API Gateway would
    answer an unknown method like an unknown path otherwise), and that function's Allow lists exactly the
    resource's methods in the template."""
    routes = tpl.routes()
    methods: dict[str, set[str]] = {}
    for r in routes:
        if r.method != "ANY":
            methods.setdefault(r.path, set()).add(r.method)
    fallback = {r.path: r for r in routes if r.method == "ANY"}
    assert set(fallback) == set(methods)
    assert {r.function for r in fallback.values()} == {"MethodNotAllowedFunction"}
    assert all(r.authorizer is None for r in fallback.values())
    assert _allowed_of_the_405_function() == {path: sorted(m) for path, m in methods.items()}


def test_every_429_and_503_gateway_response_says_retry_after() -> None:
    (api,) = tpl.resources("AWS::Serverless::Api").values()
    answers = api["Properties"]["GatewayResponses"]
    retried = {k: v for k, v in answers.items() if int(v.get("StatusCode", 0)) in (429, 503)}
    assert "THROTTLED" in retried
    for kind, spec in retried.items():
        assert re.fullmatch(r"'\d+'", spec["ResponseParameters"]["Headers"]["Retry-After"]), kind


SAM_PYTHON = tpl.ROOT / ".tools/sam/bin/python"
_TRANSLATE = """
import json, sys
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    for key in ("CodeUri", "ContentUri"):
        if key in resource.get("Properties", {}):
            resource["Properties"][key] = "s3://bucket/key"  # sam build's job; the API does not depend on it
out = transform(template, {}, NoManagedPolicies())
(api,) = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
print(json.dumps(api["Properties"]["Body"]))
"""


def test_sam_gives_each_resource_an_unauthenticated_any_method_on_the_405_function() -> None:
    """What API Gateway imports (SAM's own translation of template.yaml, offline): each resource has its
    methods and an `x-amazon-apigateway-any-method` proxying to MethodNotAllowedFunction with no authorizer;
    THROTTLED carries Retry-After. (Whether API Gateway then prefers the explicit methods to ANY is its
    documented behaviour, not exercised here: there is no AWS account.)"""
    if not SAM_PYTHON.exists():
        pytest.skip("the SAM CLI is not installed (make tools)")
    out = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSLATE, str(tpl.TEMPLATE)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"},
        timeout=120,
        check=True,
    )
    body = json.loads(out.stdout)
    allowed = _allowed_of_the_405_function()
    assert set(body["paths"]) == set(allowed)
    for path, item in body["paths"].items():
        assert sorted(m.upper() for m in item if m != "x-amazon-apigateway-any-method") == allowed[path]
        fallback = item["x-amazon-apigateway-any-method"]
        assert fallback["security"] == [{"NONE": []}], path
        uri = json.dumps(fallback["x-amazon-apigateway-integration"]["uri"])
        assert "${MethodNotAllowedFunction.Arn}" in uri, path
    throttled = body["x-amazon-apigateway-gateway-responses"]["THROTTLED"]
    assert throttled["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_layer_requirements_are_pinned() -> None:
    lines = [
        line.split(";")[0].strip()
        for line in (tpl.ROOT / "layers/core/requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line) for line in lines), lines


@pytest.mark.parametrize(("function", "queue"), [("DealWorkerFunction", "DealQueue")])
def test_each_chain_worker_knows_its_queues_max_receives(function: str, queue: str) -> None:
    env = tpl.functions()[function].environment
    redrive = QUEUES[queue]["Properties"]["RedrivePolicy"]
    # The worker gives up on a message (send-failed) at its own count; the queue keeps a message twice as many
    # receives, since one behind a failing message of its lane is received untried on each of its attempts.
    assert 2 * int(env["CREATE_DEAL_MAX_RECEIVES"]) <= int(redrive["maxReceiveCount"])


def test_globals_hold_no_resource_a_function_may_not_use() -> None:
    """Tables, queues, secrets and token settings are in each function's own Environment, not in Globals."""
    template = tpl.load()
    glob = template["Globals"]["Function"]["Environment"]["Variables"]
    resources = set(template["Resources"])
    named = [name for name, value in glob.items() if resources & set(re.findall(r"\w+", json.dumps(value)))]
    assert not named
    assert not [name for name in glob if name.endswith(("_TABLE", "_QUEUE_URL", "_SECRET_ID", "_PREFIX"))]
    for name, fn in FUNCTIONS.items():
        own = fn["Properties"].get("Environment", {}).get("Variables", {})
        assert not set(own) & set(glob), name


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


def _statements(function: str) -> list[dict[str, Any]]:
    policies = tpl.load()["Resources"][function]["Properties"].get("Policies", [])
    return [s for p in policies for s in p.get("Statement", [])]


@pytest.mark.parametrize("name", sorted(tpl.functions()))
def test_each_function_is_granted_named_actions_on_named_resources(name: str) -> None:
    """Inline statements only (no SAM policy template grants more than a function calls); no wildcard action;
    tests/integration/iam.py checks each one against the calls the function makes."""
    policies = tpl.load()["Resources"][name]["Properties"].get("Policies", [])
    assert all(set(p) == {"Statement"} for p in policies), policies
    for statement in _statements(name):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in a for a in actions), actions
        assert statement["Resource"] != "*"


def test_only_the_token_endpoint_reads_secret_hashes_and_only_chain_functions_rpc_urls() -> None:
    def reads(name: str, needle: str) -> bool:
        return needle in json.dumps(_statements(name))

    secrets = {n for n in tpl.functions() if reads(n, "IntegrationSecretsTable")}
    assert secrets == {"IssueTokenFunction"}
    rpc = {n for n in tpl.functions() if reads(n, "-rpc-*")}
    assert rpc == {"DealWorkerFunction", "ChainWatcherFunction"}
    assert rpc == {n for n in tpl.functions() if "ChainLayer" in tpl.layers_of(n)}


def test_every_catalog_read_is_narrowed_to_the_kinds_it_needs() -> None:
    """A statement on the catalog table carries LeadingKeys (only the by_kind index, keyed by kind, has none)."""
    for name in tpl.functions():
        for statement in _statements(name):
            if json.dumps(statement["Resource"]) == json.dumps({"Fn::GetAtt": ["CatalogTable", "Arn"]}):
                keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert keys
                assert all(re.fullmatch(r"[a-z_]+#\*", k) for k in keys), keys


def test_a_missing_setting_names_its_variable_at_first_use() -> None:
    from payments_core.settings import MissingSetting, Settings

    settings = Settings.from_env({"PAYMENTS_TABLE": "payments", "TOKEN_TTL_SECONDS": "soon"})
    assert settings.payments_table == "payments"
    with pytest.raises(MissingSetting, match="CATALOG_TABLE is not set") as missing:
        _ = settings.catalog_table
    assert missing.value.variable == "CATALOG_TABLE"
    with pytest.raises(MissingSetting, match="TOKEN_TTL_SECONDS"):
        _ = settings.token_ttl_seconds
    assert Settings.from_env({"DEAL_QUEUE_URL": ""}).region == "us-east-1"
    with pytest.raises(MissingSetting, match="DEAL_QUEUE_URL"):  # an empty value is no value
        _ = Settings.from_env({"DEAL_QUEUE_URL": ""}).deal_queue_url
