"""The local stack's HTTP front (devstack.server.ApiApp) in-process: CORS for its own docs page, the 405 of a
method a resource lacks, the request log. The functions are replaced by a recorder: no AWS, no stack."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx
import pytest
from werkzeug.test import Client

from devstack import server
from devstack.gateway import Gateway
from devstack.server import ApiApp, local_origins

PORT = 3000
ORIGINS = ("http://127.0.0.1:3000", "http://localhost:3000")
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((function, event))
        if function == "MethodNotAllowedFunction":
            return {"statusCode": 405, "headers": {"Allow": "GET, POST", "Content-Type": "application/json"}}
        if function.endswith("AuthorizerFunction"):
            raise RuntimeError("Unauthorized")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def http(recorder: Recorder) -> Client:
    return Client(ApiApp(Gateway(invoker=recorder), origins=local_origins(PORT)))


def test_the_local_origins_are_both_names_on_the_port_only() -> None:
    assert local_origins(PORT) == frozenset(ORIGINS)


@pytest.mark.parametrize("origin", ORIGINS)
def test_a_preflight_from_the_docs_page_on_either_name_is_answered(
    http: Client, recorder: Recorder, origin: str
) -> None:
    r = http.options("/api/v1/payments", headers={"Origin": origin, **PREFLIGHT})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")} >= {
        "authorization",
        "content-type",
    }
    assert "Origin" in r.headers["Vary"]
    assert recorder.calls == []  # answered by the front, as a browser's preflight carries no token


@pytest.mark.parametrize("origin", ORIGINS)
def test_answers_to_the_docs_page_carry_its_origin(http: Client, origin: str) -> None:
    r = http.post("/api/v1/auth/token", headers={"Origin": origin, "Content-Type": "application/json"}, data="{}")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert "Retry-After" in r.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://localhost:3001", "https://localhost:3000", "null", "*"]
)
def test_no_other_origin_gets_cors(http: Client, recorder: Recorder, origin: str) -> None:
    preflight = http.options("/api/v1/payments", headers={"Origin": origin, **PREFLIGHT})
    assert preflight.status_code == 405  # a plain OPTIONS: the resource's ANY method
    assert [function for function, _ in recorder.calls] == ["MethodNotAllowedFunction"]
    answer = http.post("/api/v1/auth/token", headers={"Origin": origin, "Content-Type": "application/json"}, data="{}")
    for r in (preflight, answer):
        assert not [h for h, _ in r.headers.items() if h.lower().startswith("access-control-")], r.headers


def test_a_preflight_of_an_unknown_path_is_the_gateway_404(http: Client) -> None:
    r = http.options("/api/v1/nothing", headers={"Origin": ORIGINS[0], **PREFLIGHT})
    assert r.status_code == 404
    assert json.loads(r.data)["error"]["code"] == "route_not_found"


@pytest.mark.parametrize(
    ("method", "path", "resource"),
    [
        ("DELETE", "/api/v1/payments", "/api/v1/payments"),
        ("PUT", "/api/v1/payments/abc/cancel", "/api/v1/payments/{id}/cancel"),
        ("GET", "/api/v1/auth/token", "/api/v1/auth/token"),
    ],
)
def test_a_method_a_resource_lacks_goes_to_its_any_method_without_authorizer(
    http: Client, recorder: Recorder, method: str, path: str, resource: str
) -> None:
    r = http.open(path, method=method)
    assert r.status_code == 405
    ((function, event),) = recorder.calls
    assert function == "MethodNotAllowedFunction"
    assert (event["httpMethod"], event["resource"], event["path"]) == (method, resource, path)
    assert event["requestContext"].get("authorizer") is None


def test_a_resource_method_wins_over_its_any_method(http: Client, recorder: Recorder) -> None:
    http.post("/api/v1/auth/token", headers={"Content-Type": "application/json"}, data="{}")
    assert [function for function, _ in recorder.calls] == ["IssueTokenFunction"]


def test_the_throttled_gateway_response_says_retry_after(recorder: Recorder) -> None:
    answer = Gateway(invoker=recorder)._gateway_response("THROTTLED", 429)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "throttled"


def test_each_request_is_one_plain_line_on_the_http_logger_without_its_query(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    app = ApiApp(Gateway(invoker=recorder), origins=local_origins(0))
    httpd = server.serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="devstack.http"):
            port = httpd.server_address[1]
            httpx.delete(f"http://127.0.0.1:{port}/api/v1/payments?node_id=secret-ish", timeout=10)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "devstack.http"]
    assert lines == ["DELETE /api/v1/payments 405"]
