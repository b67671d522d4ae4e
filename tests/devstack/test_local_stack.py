"""What the local stack serves and writes besides the API: health, docs, contract, its files."""

from __future__ import annotations

import json

import httpx
import pytest

from devstack import template as tpl
from devstack.launch import LocalStackInfo
from tests.e2e.helpers import Client, assert_error

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_health(client: Client) -> None:
    r = client.http.get("/_health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_swagger_ui_is_served_offline(client: Client) -> None:
    page = client.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text
    for asset, kind in (("swagger-ui-bundle.min.js", "javascript"), ("swagger-ui.min.css", "css")):
        assert f"/docs/{asset}" in page.text
        r = client.http.get(f"/docs/{asset}")
        assert r.status_code == 200
        assert kind in r.headers["content-type"]
        assert len(r.content) > 1000
    assert "http://" not in page.text
    assert "https://" not in page.text


def test_openapi_is_the_committed_file(client: Client) -> None:
    r = client.http.get("/openapi.json")
    committed = tpl.ROOT / "openapi.json"
    if committed.exists():
        assert r.status_code == 200
        assert r.json() == json.loads(committed.read_text())
    else:
        assert_error(r, 404, "openapi_not_found")


def test_unknown_route_is_the_gateway_404(client: Client) -> None:
    assert_error(client.http.get("/api/v1/nothing-here"), 404, "route_not_found")
    assert_error(client.http.get("/api/v1/payments/x/y/z"), 404, "route_not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/payments", "GET, POST"),
        ("PUT", "/api/v1/payments/00000000-0000-4000-8000-000000000000", "GET"),
        ("GET", "/api/v1/payments/00000000-0000-4000-8000-000000000000/cancel", "POST"),
        ("PATCH", "/api/v1/payments/x/logs", "GET"),
        ("GET", "/api/v1/auth/token", "POST"),
        ("POST", "/.well-known/jwks.json", "GET"),
        ("DELETE", "/api/v1/widget/payments/x", "GET"),
        ("OPTIONS", "/api/v1/payments", "GET, POST"),  # not a CORS preflight (no Origin): a method like any
    ],
)
def test_a_method_the_route_does_not_have_is_405_with_allow(client: Client, method: str, path: str, allow: str) -> None:
    """Through the template's ANY method of the resource (MethodNotAllowedFunction), without a token."""
    r = client.http.request(method, path)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allow


def test_demo_json_shape(stack: LocalStackInfo) -> None:
    demo = json.loads((stack.data_dir / "demo.json").read_text())
    assert demo == stack.demo
    assert set(demo) == {
        "api_url",
        "nodes",
        "integrations",
        "network_id",
        "chain_id",
        "currency_id",
        "wallet_id",
        # the local chain (tests/e2e/test_chain_devstack.py)
        "rpc_url",
        "evm_chain_id",
        "diamond_address",
        "token_address",
        "payer_address",
        "payer_private_key",
        # NoRamp's demo app (tests/e2e/test_noramp_checkout.py)
        "app_id",
        "app_api_key",
        "app_key_id",
        "trigger_id",
        "price_id",
    }
    assert demo["app_api_key"].startswith("nrk_")
    assert demo["api_url"] == stack.api_url
    assert set(demo["nodes"]) == {"root", "child", "other"}
    assert set(demo["integrations"]) == {"root", "child", "other"}
    for creds in demo["integrations"].values():
        assert set(creds) == {"client_id", "client_secret"}


def test_stack_json_and_env_json(stack: LocalStackInfo) -> None:
    saved = json.loads((stack.data_dir / "stack.json").read_text())
    assert set(saved) == {"moto_url", "rpc_url", "environment"}
    env = saved["environment"]
    assert env["AWS_ENDPOINT_URL"] == stack.moto_url
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "CATALOG_TABLE", "PAYMENTS_TABLE"):
        assert env[name]
    # moto answers at moto_url.
    assert httpx.get(f"{stack.moto_url}/moto-api/", timeout=10).status_code == 200

    sam_env = json.loads((stack.data_dir / "env.json").read_text())
    assert set(sam_env) == set(tpl.functions())
    port = stack.moto_url.rsplit(":", 1)[1]
    for name, variables in sam_env.items():
        assert variables["AWS_ENDPOINT_URL"] == f"http://host.docker.internal:{port}"
        # sam local only overrides variables the template declares: the endpoint goes through one that is.
        assert variables["LOCAL_ENDPOINT_URL"] == f"http://host.docker.internal:{port}"
        assert variables["AWS_ACCOUNT_ID_ENDPOINT_MODE"] == "disabled"
        assert {"LOCAL_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE"} <= set(tpl.functions()[name].environment)
        # Each function its own variables; none has two values across functions (stack.json holds their union),
        # so the local stack applies the union once and runs invocations concurrently (FunctionInvoker.shared).
        own = {k: v for k, v in variables.items() if k not in ("LOCAL_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE")}
        assert own == {k: env[k].replace(stack.moto_url, f"http://host.docker.internal:{port}") for k in own}
        assert set(tpl.functions()[name].environment) <= set(variables)
        assert all(isinstance(v, str) for v in variables.values())


def test_the_functions_emf_lines_go_to_metrics_jsonl(stack: LocalStackInfo, client: Client) -> None:
    created = client.create()
    assert created.status_code == 201, created.text
    payment = created.json()
    # Flushed when the handler returns, before the answer is sent.
    lines = [json.loads(line) for line in (stack.data_dir / "metrics.jsonl").read_text().splitlines()]
    (line,) = [x for x in lines if "PaymentsCreated" in x and x.get("payment_id") == payment["id"]]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "RudiqPay"
    assert directive["Dimensions"] == [["service", "method"]]
    assert line["method"] == payment["payment_method"]
    assert line["PaymentsCreated"] == [1.0]  # powertools writes a metric's values as a list
