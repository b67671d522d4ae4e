"""The shared resolver (payments_core.http.api): error mapping, exact JSON, the caller's principal."""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Annotated, Any, cast

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from payments_core import deps
from payments_core.domain import payments
from payments_core.domain.entities import Currency, Network, Node
from payments_core.domain.payments import PaymentDeps
from payments_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    field_error,
)
from payments_core.http import json_codec
from payments_core.http.api import json_response, make_resolver, principal
from payments_core.models.payments import CreatePaymentRequest
from payments_core.store.payments import CreateContended
from tests.unit.fakes import FakeCatalog, FakeDealQueue, FakePaymentStore

NODE = "6f0c7c4e-4c8b-4d7e-9f0e-7a3a1b2c3d4e"
SECRET = "sk_live_hunter2_do_not_leak"
CONTEXT = cast(LambdaContext, SimpleNamespace(function_name="unit", aws_request_id="req-1"))
AUTH = {"actor_type": "integration", "actor_id": "ci_test", "node_id": NODE}


def rest_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/test{path}",
            "stage": "test",
            "requestId": "req-1",
            "accountId": "123456789012",
            "apiId": "api123",
            "identity": {"sourceIp": "203.0.113.7"},
            "authorizer": authorizer if authorizer is not None else {},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def call(app: APIGatewayRestResolver, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    result = app.resolve(rest_event(method, path, **kwargs), CONTEXT)
    assert result["multiValueHeaders"]["Content-Type"] == ["application/json"]
    return result["statusCode"], json_codec.loads(result["body"])


def payment_json(**overrides: Any) -> str:
    body: dict[str, Any] = {
        "external_id": "order-1",
        "node_id": NODE,
        "network_id": str(uuid.uuid4()),
        "currency_id": str(uuid.uuid4()),
        "price": Decimal("100.5"),
        "paid_price": Decimal("100.5"),
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "expires_at": "2099-01-31T23:59:59Z",
    }
    body.update(overrides)
    return json_codec.dumps({k: v for k, v in body.items() if v is not None})


ERRORS: dict[str, DomainError] = {
    "bad": DomainError("Generic refusal"),
    "unauthorized": Unauthorized("Missing or invalid bearer token"),
    "forbidden": Forbidden("No access", code="node_access_denied"),
    "not-found": NotFound("Payment x not found", code="payment_not_found"),
    "conflict": Conflict(
        "Duplicate",
        code="payment_already_exists",
        details=[field_error("body.external_id", "duplicate", "already used")],
        extra={"payment_id": "p-123"},
    ),
    "invalid": ValidationFailed("Inconsistent", details=[field_error("body.price", "too_many_decimals", "2 max")]),
    "unavailable": ServiceUnavailable("No key yet", code="signing_key_unavailable"),
}


@pytest.fixture
def app() -> APIGatewayRestResolver:
    app = make_resolver()

    @app.get("/errors/<name>")
    def raise_error(name: str) -> Response[Any]:
        raise ERRORS[name]

    @app.post("/payments")
    def create(body: Annotated[CreatePaymentRequest, Body()]) -> Response[Any]:
        return json_response(
            201, {"price": body.price, "paid_price": body.paid_price, "expires_at": body.expires_at.isoformat()}
        )

    @app.get("/items")
    def items(
        node_id: Annotated[uuid.UUID, Query()],
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=payments.MAX_PER_PAGE)] = 10,
    ) -> Response[Any]:
        return json_response(200, {"node_id": str(node_id), "page": page, "per_page": per_page})

    @app.get("/boom")
    def boom() -> Response[Any]:
        raise RuntimeError(f"database password is {SECRET}")

    @app.get("/key-error")
    def key_error() -> Response[Any]:
        lookup: dict[str, int] = {}
        return json_response(200, {"value": lookup["missing"]})

    @app.get("/whoami")
    def whoami() -> Response[Any]:
        p = principal(app)
        return json_response(200, {"actor_type": p.actor_type, "actor_id": p.actor_id, "node_id": p.node_id})

    return app


# --------------------------------------------------------------------------- DomainError


@pytest.mark.parametrize("name", list(ERRORS))
def test_domain_error_maps_to_its_status_and_body(app: APIGatewayRestResolver, name: str) -> None:
    status, body = call(app, "GET", f"/errors/{name}")
    err = ERRORS[name]
    assert status == err.status_code
    assert body == err.body()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])


def test_domain_error_statuses(app: APIGatewayRestResolver) -> None:
    got = {name: call(app, "GET", f"/errors/{name}")[0] for name in ERRORS}
    assert got == {
        "bad": 400,
        "unauthorized": 401,
        "forbidden": 403,
        "not-found": 404,
        "conflict": 409,
        "invalid": 422,
        "unavailable": 503,
    }


def test_conflict_body_carries_the_existing_payment_id(app: APIGatewayRestResolver) -> None:
    _, body = call(app, "GET", "/errors/conflict")
    assert body == {
        "error": {
            "code": "payment_already_exists",
            "message": "Duplicate",
            "details": [{"field": "body.external_id", "code": "duplicate", "message": "already used"}],
            "payment_id": "p-123",
        }
    }


def test_every_503_says_retry_after_and_no_other_answer_does(app: APIGatewayRestResolver) -> None:
    for name, err in ERRORS.items():
        result = app.resolve(rest_event("GET", f"/errors/{name}"), CONTEXT)
        retry_after = result["multiValueHeaders"].get("Retry-After")
        if err.status_code in (429, 503):
            assert retry_after == ["1"], name
        else:
            assert retry_after is None, name


def test_create_contended_is_a_503_with_retry_after(app: APIGatewayRestResolver) -> None:
    @app.get("/contended")
    def contended() -> Response[Any]:
        raise CreateContended("Too many creates of this node at once; try again")

    result = app.resolve(rest_event("GET", "/contended"), CONTEXT)
    assert result["statusCode"] == 503
    assert result["multiValueHeaders"]["Retry-After"] == ["1"]
    assert json_codec.loads(result["body"])["error"]["code"] == "create_contended"


# --------------------------------------------------------------------------- request validation


def test_valid_body_reaches_the_route_with_exact_decimals(app: APIGatewayRestResolver) -> None:
    text = payment_json().replace('"paid_price":100.5', '"paid_price":0.000001')
    status, body = call(app, "POST", "/payments", body=text)
    assert status == 201
    assert body == {
        "price": Decimal("100.5"),
        "paid_price": Decimal("0.000001"),
        "expires_at": "2099-01-31T23:59:59+00:00",
    }


def test_invalid_body_is_422_naming_each_field(app: APIGatewayRestResolver) -> None:
    text = payment_json(node_id="nope", price=True, payment_method="cash", payment_address="short", retry_count="x")
    status, body = call(app, "POST", "/payments", body=text)
    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["message"] == "The request is not valid"
    assert sorted((d["field"], d["code"]) for d in body["error"]["details"]) == [
        ("body.node_id", "uuid_parsing"),
        ("body.payment_address", "string_too_short"),
        ("body.payment_method", "enum"),
        ("body.price", "decimal_type"),
        ("body.retry_count", "int_type"),
    ]
    count = next(d for d in body["error"]["details"] if d["field"] == "body.retry_count")
    assert count["message"] == "Input should be a valid integer"


def test_missing_fields_are_listed_as_missing(app: APIGatewayRestResolver) -> None:
    status, body = call(app, "POST", "/payments", body='{"price": 1}')
    assert status == 422
    fields = {d["field"]: d["code"] for d in body["error"]["details"]}
    assert fields == {
        "body.external_id": "missing",
        "body.node_id": "missing",
        "body.network_id": "missing",
        "body.currency_id": "missing",
        "body.paid_price": "missing",
        "body.payment_method": "missing",
        "body.payment_group": "missing",
        "body.payment_address": "missing",
        "body.expires_at": "missing",
    }


def test_nested_item_error_has_a_dotted_path(app: APIGatewayRestResolver) -> None:
    items = [
        {"name": "a", "price": Decimal("100.5"), "external_id": "i"},
        {"name": "b", "price": 0, "external_id": "j"},
    ]
    status, body = call(app, "POST", "/payments", body=payment_json(items=items))
    assert status == 422
    assert [(d["field"], d["code"]) for d in body["error"]["details"]] == [("body.items.1.price", "greater_than")]


def test_cross_field_errors_name_their_field(app: APIGatewayRestResolver) -> None:
    items = [{"name": "a", "price": Decimal(1), "external_id": "i"}]
    status, body = call(
        app, "POST", "/payments", body=payment_json(items=items, member_id=str(uuid.uuid4()), member={"name": "Ada"})
    )
    assert status == 422
    assert body["error"]["details"] == [
        {"field": "body.member", "code": "member_conflict", "message": "give either member_id or member, not both"},
        {
            "field": "body.items",
            "code": "items_total_mismatch",
            "message": "the items' prices add up to 1, not to price 100.5",
        },
    ]


def test_extra_body_field_is_422(app: APIGatewayRestResolver) -> None:
    status, body = call(app, "POST", "/payments", body=payment_json(status="paid"))
    assert status == 422
    assert [(d["field"], d["code"]) for d in body["error"]["details"]] == [("body.status", "extra_forbidden")]


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"node_id": NODE, "per_page": "101"}, "query.per_page", "less_than_equal"),
        ({"node_id": NODE, "per_page": "0"}, "query.per_page", "greater_than_equal"),
        ({"node_id": NODE, "per_page": "ten"}, "query.per_page", "int_parsing"),
        ({"node_id": NODE, "page": "0"}, "query.page", "greater_than_equal"),
        ({"node_id": "nope"}, "query.node_id", "uuid_parsing"),
        ({}, "query.node_id", "missing"),
    ],
)
def test_invalid_query_is_422_naming_the_parameter(
    app: APIGatewayRestResolver, query: dict[str, str], field: str, code: str
) -> None:
    status, body = call(app, "GET", "/items", query=query)
    assert status == 422
    assert [(d["field"], d["code"]) for d in body["error"]["details"]] == [(field, code)]


def test_per_page_of_100_is_accepted(app: APIGatewayRestResolver) -> None:
    status, body = call(app, "GET", "/items", query={"node_id": NODE, "per_page": "100"})
    assert (status, body) == (200, {"node_id": NODE, "page": 1, "per_page": 100})


@pytest.mark.parametrize("text", ['{"price": 100.5', '{"price": NaN}', "not json", '{"a":1}}'])
def test_malformed_json_body_is_422_json_invalid(app: APIGatewayRestResolver, text: str) -> None:
    status, body = call(app, "POST", "/payments", body=text)
    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert [d["code"] for d in body["error"]["details"]] == ["json_invalid"]
    assert body["error"]["details"][0]["field"].startswith("body")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_non_json_body_is_415(app: APIGatewayRestResolver, content_type: str) -> None:
    status, body = call(app, "POST", "/payments", body="price=1", headers={"Content-Type": content_type})
    assert status == 415
    assert body == {
        "error": {"code": "unsupported_media_type", "message": "Send the body as application/json", "details": []}
    }


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        # forms would be parsed by the resolver itself: only the handler's check refuses them
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json; charset=utf-8", 201),
        ("application/json", 201),
        ("Application/JSON", 201),
    ],
)
def test_api_handler_checks_the_media_type_first(app: APIGatewayRestResolver, content_type: str, status: int) -> None:
    from payments_core import handlers  # here: importing it pauses the collector until a handler is built

    handler = handlers.api(app)
    context = SimpleNamespace(
        function_name="unit",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:unit",
        aws_request_id="req-1",
    )
    event = rest_event("POST", "/payments", body=payment_json(), headers={"Content-Type": content_type})
    result = handler(event, context)
    assert result["statusCode"] == status
    if status == 415:
        assert json_codec.loads(result["body"])["error"]["code"] == "unsupported_media_type"


# --------------------------------------------------------------------------- unknown routes and crashes


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nowhere"), ("GET", "/errors"), ("DELETE", "/payments"), ("GET", "/payments")]
)
def test_unknown_route_is_404_route_not_found(app: APIGatewayRestResolver, method: str, path: str) -> None:
    status, body = call(app, method, path)
    assert status == 404
    assert body == {"error": {"code": "route_not_found", "message": "No such route", "details": []}}


@pytest.mark.parametrize("path", ["/boom", "/key-error"])
def test_unexpected_exception_is_a_bare_500(app: APIGatewayRestResolver, path: str) -> None:
    result = app.resolve(rest_event("GET", path), CONTEXT)
    assert result["statusCode"] == 500
    raw = result["body"]
    assert json_codec.loads(raw) == {"error": {"code": "internal_error", "message": "Internal error", "details": []}}
    for leak in (SECRET, "Traceback", "RuntimeError", "KeyError", "missing", ".py"):
        assert leak not in raw


@pytest.mark.parametrize(("path", "error_type"), [("/boom", "RuntimeError"), ("/key-error", "KeyError")])
def test_unexpected_exception_is_logged_by_type_and_place_only(
    app: APIGatewayRestResolver, path: str, error_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Never a stack trace, a token or a secret in a log: the error's type and where it was raised."""
    app.resolve(rest_event("GET", path), CONTEXT)
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.levelname == "ERROR"
    assert (record.exc_info, record.exc_text, record.stack_info) == (None, None, None)  # no traceback
    assert record.__dict__["error_type"] == error_type
    assert record.__dict__["raised_at"].startswith("unit/test_http.py:")
    assert record.__dict__["raised_at"].endswith(" in boom" if path == "/boom" else " in key_error")
    logged = " ".join(str(v) for v in record.__dict__.values())
    assert SECRET not in logged
    assert "missing" not in logged


# --------------------------------------------------------------------------- principal


def test_principal_comes_from_the_authorizer_context(app: APIGatewayRestResolver) -> None:
    status, body = call(app, "GET", "/whoami", authorizer=AUTH)
    assert (status, body) == (200, AUTH)


def test_principal_defaults_actor_type_to_integration(app: APIGatewayRestResolver) -> None:
    _, body = call(app, "GET", "/whoami", authorizer={"actor_id": "ci_1", "node_id": NODE})
    assert body["actor_type"] == "integration"


@pytest.mark.parametrize("context", [{}, {"actor_id": "ci_1"}, {"node_id": NODE}, {"actor_id": "", "node_id": NODE}])
def test_missing_principal_is_401(app: APIGatewayRestResolver, context: dict[str, Any]) -> None:
    status, body = call(app, "GET", "/whoami", authorizer=context)
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


# --------------------------------------------------------------------------- the real routes, fake stores


def load_function(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"unit_fn_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_deps(monkeypatch: pytest.MonkeyPatch) -> PaymentDeps:
    catalog = FakeCatalog()
    catalog.add(Node(id=NODE, name="root", path=(NODE,)))
    network, currency = str(uuid.uuid4()), str(uuid.uuid4())
    catalog.add(
        Network(
            id=network, chain_id=str(uuid.uuid4()), name="n", evm_chain_id=1, diamond_address="0xD",
            platform_wallet_id=str(uuid.uuid4()),
        )
    )  # fmt: skip
    catalog.add(Currency(id=currency, symbol="USDT", decimals=6, tokens={network: "0xT"}))
    built = PaymentDeps(catalog=catalog, payments=FakePaymentStore(), deal_queue=FakeDealQueue())
    monkeypatch.setattr(deps, "payment_deps", lambda: built)
    return built


def ids_of(d: PaymentDeps) -> tuple[str, str]:
    assert isinstance(d.catalog, FakeCatalog)
    (network,) = d.catalog.list(Network)
    (currency,) = d.catalog.list(Currency)
    return network.id, currency.id


def test_real_list_route_caps_per_page_at_100(fake_deps: PaymentDeps) -> None:
    fn = load_function("list_payments")
    status, body = call(fn.app, "GET", "/api/v1/payments", query={"node_id": NODE, "per_page": "101"}, authorizer=AUTH)
    assert status == 422
    assert [(d["field"], d["code"]) for d in body["error"]["details"]] == [("query.per_page", "less_than_equal")]
    status, body = call(fn.app, "GET", "/api/v1/payments", query={"node_id": NODE, "per_page": "100"}, authorizer=AUTH)
    assert (status, body) == (200, {"items": [], "page": 1, "per_page": 100, "total": 0})


def test_real_create_route_201_then_409(fake_deps: PaymentDeps) -> None:
    fn = load_function("create_payment")
    network, currency = ids_of(fake_deps)
    text = payment_json(network_id=network, currency_id=currency, paid_price=Decimal("0.000001"))
    status, body = call(fn.app, "POST", "/api/v1/payments", body=text, authorizer=AUTH)
    assert status == 201
    assert body["status"] == "pending"
    assert body["paid_price"] == Decimal("0.000001")
    assert body["expires_at"] == "2099-01-31T23:59:59Z"
    first_id = body["id"]

    status, body = call(fn.app, "POST", "/api/v1/payments", body=text, authorizer=AUTH)
    assert status == 409
    assert body["error"]["code"] == "payment_already_exists"
    assert body["error"]["payment_id"] == first_id


def test_real_get_route_of_a_non_uuid_is_404(fake_deps: PaymentDeps) -> None:
    fn = load_function("get_payment")
    status, body = call(fn.app, "GET", "/api/v1/payments/not-a-uuid", authorizer=AUTH)
    assert status == 404
    assert body["error"]["code"] == "payment_not_found"


# --------------------------------------------------------------------------- concurrent resolvers


def test_concurrent_requests_on_two_resolvers_each_see_their_own_event() -> None:
    """The local stack resolves concurrent requests on threads, a resolver each: the request a route reads is
    its own, even when another resolver resolves a request meanwhile (powertools keeps it on its class)."""
    first_inside, second_done = threading.Event(), threading.Event()

    def resolver(wait: bool) -> APIGatewayRestResolver:
        app = make_resolver()

        @app.post("/echo")
        def echo() -> Response[Any]:
            if wait:
                first_inside.set()
                assert second_done.wait(5)
            return json_response(200, {"body": app.current_event.json_body, "authorizer": principal(app).actor_id})

        return app

    first, second = resolver(wait=True), resolver(wait=False)

    def event(marker: str) -> dict[str, Any]:
        auth = {**AUTH, "actor_id": f"ci_{marker}"}
        return rest_event("POST", "/echo", body=json.dumps({"marker": marker}), authorizer=auth)

    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(first.resolve, event("first"), CONTEXT)
        assert first_inside.wait(5)
        assert json.loads(second.resolve(event("second"), CONTEXT)["body"]) == {
            "body": {"marker": "second"},
            "authorizer": "ci_second",
        }
        second_done.set()
        assert json.loads(answer.result(5)["body"]) == {"body": {"marker": "first"}, "authorizer": "ci_first"}


@pytest.mark.parametrize(
    ("method", "path", "resource", "allow"),
    [
        ("DELETE", "/api/v1/payments", "/api/v1/payments", "GET, POST"),
        ("PUT", "/api/v1/payments/x/cancel", "/api/v1/payments/{id}/cancel", "POST"),
        ("OPTIONS", "/.well-known/jwks.json", "/.well-known/jwks.json", "GET"),
    ],
)
def test_the_405_function_names_the_resource_methods_in_allow(
    method: str, path: str, resource: str, allow: str
) -> None:
    fn = load_function("method_not_allowed")
    event = {**rest_event(method, path), "resource": resource}
    context = SimpleNamespace(
        function_name="unit",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:unit",
        aws_request_id="req-1",
    )
    result = fn.handler(event, context)
    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == allow
    assert json_codec.loads(result["body"]) == {
        "error": {"code": "method_not_allowed", "message": f"This route takes {allow} only", "details": []}
    }
