"""Metrics (EMF lines, per invocation), the correlation id's path, and how a 5xx is logged."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.stub import Stubber

from payments_chain.workers import message_correlation_id
from payments_core import handlers, metrics
from payments_core.domain import lifecycle, logs
from payments_core.domain.entities import PaymentEvent
from payments_core.errors import NotFound
from payments_core.http import json_codec
from payments_core.http.api import json_response, make_resolver
from payments_core.models.payments import PaymentStatus
from payments_core.observability import (
    correlation_id,
    correlation_scope,
    error_fields,
    logger,
    set_correlation_id,
)
from payments_core.store.codec import payment_attributes, to_item
from payments_core.store.logs import DynamoLogStore
from payments_core.store.payments import DynamoPaymentStore
from payments_core.store.queues import SqsDealQueue
from tests.support import a_payment
from tests.unit.test_http import rest_event
from tests.unit.test_payments_domain import World, create, world  # noqa: F401 - the fixture

SECRET = "s3cr3t-value-in-a-message"


@pytest.fixture
def lines() -> Iterator[list[dict[str, Any]]]:
    """The EMF documents written while the test runs."""
    out: list[dict[str, Any]] = []
    metrics.set_writer(lambda line: out.append(json.loads(line)))
    yield out
    metrics.set_writer(None)


def dimension_sets(doc: dict[str, Any]) -> list[list[str]]:
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.NAMESPACE
    return [sorted(names) for names in directive["Dimensions"]]


def metric_names(doc: dict[str, Any]) -> set[str]:
    return {m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def find(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if name in metric_names(d)]
    return doc


# --------------------------------------------------------------------------- the metrics module


def test_counts_are_summed_per_dimensions_and_flushed_once(lines: list[dict[str, Any]]) -> None:
    with metrics.invocation():
        metrics.count("PaymentsCreated", method="web3")
        metrics.count("PaymentsCreated", method="web3")
        metrics.count("PaymentsCreated", method="card")
        assert lines == []  # nothing before the end of the invocation
    web3 = [d for d in lines if d.get("method") == "web3"]
    card = [d for d in lines if d.get("method") == "card"]
    assert [d["PaymentsCreated"] for d in web3] == [[2.0]]  # powertools writes each value as a list
    assert [d["PaymentsCreated"] for d in card] == [[1.0]]
    for doc in lines:
        assert dimension_sets(doc) == [["method", "service"]]
        assert doc["service"] == "payments"


def test_ids_are_metadata_never_dimensions(lines: list[dict[str, Any]]) -> None:
    payment_id = str(uuid.uuid4())
    with metrics.invocation():
        metrics.count("DealsCreated", metadata={"payment_id": payment_id})
        with pytest.raises(ValueError, match="payment_id"):
            metrics.count("DealsCreated", payment_id=payment_id)
        with pytest.raises(ValueError, match="address"):
            metrics.gauge("PlatformWalletBalance", 1.0, address="0xabc")
    (doc,) = lines
    assert doc["payment_id"] == payment_id
    assert dimension_sets(doc) == [["service"]]


def test_a_rolled_up_gauge_has_a_service_only_dimension_set_too(lines: list[dict[str, Any]]) -> None:
    with metrics.invocation():
        metrics.gauge("WatcherLagBlocks", 3, unit=metrics.COUNT, network="sepolia", rollup=True)
        metrics.gauge("WatcherLagBlocks", 5, unit=metrics.COUNT, network="sepolia", rollup=True)
    (doc,) = lines
    assert dimension_sets(doc) == [["network", "service"], ["service"]]
    assert doc["WatcherLagBlocks"] == [3.0, 5.0]  # each observation kept: Maximum, Minimum, Average


def test_nothing_is_recorded_outside_an_invocation(lines: list[dict[str, Any]]) -> None:
    metrics.count("PaymentsCreated", method="web3")
    assert metrics.current() is None
    with metrics.invocation():
        pass
    assert lines == []


def test_log_metrics_flushes_when_the_handler_raises_and_counts_one_cold_start(lines: list[dict[str, Any]]) -> None:
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> str:
        metrics.count("DealSendsFailed")
        if event.get("fail"):
            raise RuntimeError("boom")
        return "ok"

    context = SimpleNamespace(function_name="unit-fn")
    assert handler({}, context) == "ok"
    with pytest.raises(RuntimeError):
        handler({"fail": True}, context)
    assert [d.get("DealSendsFailed") for d in lines if "DealSendsFailed" in metric_names(d)] == [[1.0], [1.0]]
    cold = [d for d in lines if "ColdStart" in metric_names(d)]
    assert [(d["ColdStart"], d["function_name"]) for d in cold] == [([1.0], "unit-fn")]


def test_a_metric_that_cannot_be_written_never_fails_the_invocation(caplog: pytest.LogCaptureFixture) -> None:
    def broken(line: str) -> None:
        raise OSError("disk full")

    metrics.set_writer(broken)
    try:
        with metrics.invocation():
            metrics.count("PaymentsCreated", method="web3")
    finally:
        metrics.set_writer(None)
    assert any(r.getMessage() == "metrics not written" for r in caplog.records)


def test_powertools_metrics_disabled_writes_nothing(
    lines: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with metrics.invocation():
        metrics.count("PaymentsCreated", method="web3")
    assert lines == []


def test_write_to_appends_one_json_document_a_line(tmp_path: Any) -> None:
    path = tmp_path / "dev" / "metrics.log"
    metrics.write_to(path)
    try:
        for method in ("web3", "card"):
            with metrics.invocation():
                metrics.count("PaymentsCreated", method=method)
    finally:
        metrics.set_writer(None)
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["method"] for d in docs] == ["web3", "card"]


# --------------------------------------------------------------------------- business metrics in the domain


def test_a_created_payment_is_counted_by_method_with_its_id_as_metadata(
    world: World,  # noqa: F811
    lines: list[dict[str, Any]],
) -> None:
    with metrics.invocation():
        created = create(world)
    doc = find(lines, "PaymentsCreated")
    assert (doc["PaymentsCreated"], doc["method"], doc["payment_id"]) == ([1.0], "web3", str(created.id))
    assert dimension_sets(doc) == [["method", "service"]]


def test_a_refused_create_counts_no_payment(world: World, lines: list[dict[str, Any]]) -> None:  # noqa: F811
    with metrics.invocation(), pytest.raises(NotFound):
        create(world, node_id=str(uuid.uuid4()))
    assert not [d for d in lines if "PaymentsCreated" in metric_names(d)]


# --------------------------------------------------------------------------- refusals and 5xx through the resolver

CONTEXT = cast(
    LambdaContext,
    SimpleNamespace(
        function_name="unit",
        aws_request_id="req-1",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:1:function:unit",
    ),
)


def _store_that_throttles(message: str) -> tuple[DynamoPaymentStore, Stubber]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_item", service_error_code="ProvisionedThroughputExceededException", service_message=message
    )
    stubber.activate()
    return DynamoPaymentStore(client, "payments", "keys"), stubber


@pytest.fixture
def app() -> APIGatewayRestResolver:
    app = make_resolver()

    @app.get("/aws")
    def aws() -> Response[Any]:
        store, _ = _store_that_throttles(SECRET)
        return json_response(200, {"payment": store.get(str(uuid.uuid4()))})

    @app.get("/json")
    def bad_json() -> Response[Any]:
        return json_response(200, json_codec.loads('{"token": "' + SECRET))

    @app.get("/refused")
    def refused() -> Response[Any]:
        raise NotFound("no such payment", code="payment_not_found")

    return app


def test_a_5xx_names_our_innermost_frame_and_the_aws_operation_and_code(
    app: APIGatewayRestResolver, caplog: pytest.LogCaptureFixture, lines: list[dict[str, Any]]
) -> None:
    result = handlers.api(app)(rest_event("GET", "/aws"), CONTEXT)
    assert result["statusCode"] == 500
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    fields = record.__dict__
    assert fields["error_type"] == "ProvisionedThroughputExceededException"  # botocore's modelled ClientError
    # Not botocore's frame (where it was raised): the store's call into it.
    assert fields["raised_at"].startswith("store/payments.py:")
    assert fields["raised_at"].endswith(" in get")
    assert (fields["aws_operation"], fields["aws_error_code"]) == ("GetItem", "ProvisionedThroughputExceededException")
    logged = " ".join(str(v) for v in fields.values())
    assert SECRET not in logged
    assert find(lines, "UnhandledErrors")["UnhandledErrors"] == [1.0]


def test_a_library_error_names_the_frame_of_ours_that_called_the_library(
    app: APIGatewayRestResolver, caplog: pytest.LogCaptureFixture
) -> None:
    handlers.api(app)(rest_event("GET", "/json"), CONTEXT)
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.__dict__["error_type"] == "JSONDecodeError"
    assert record.__dict__["raised_at"].startswith("http/json_codec.py:")  # not json/decoder.py
    assert "aws_operation" not in record.__dict__
    assert SECRET not in " ".join(str(v) for v in record.__dict__.values())


def test_error_fields_find_a_client_error_raised_from(caplog: pytest.LogCaptureFixture) -> None:
    store, _ = _store_that_throttles(SECRET)
    try:
        try:
            store.get(str(uuid.uuid4()))
        except Exception as exc:
            raise LookupError("wrapped") from exc
    except LookupError as outer:
        fields = error_fields(outer)
    assert fields["error_type"] == "LookupError"
    assert fields["aws_operation"] == "GetItem"
    assert fields["aws_error_code"] == "ProvisionedThroughputExceededException"


def test_a_refused_request_is_counted_by_route_and_code(
    app: APIGatewayRestResolver, lines: list[dict[str, Any]]
) -> None:
    result = handlers.api(app)(rest_event("GET", "/refused"), CONTEXT)
    assert result["statusCode"] == 404
    doc = find(lines, "RequestsRefused")
    assert (doc["operation"], doc["error_code"]) == ("GET /refused", "payment_not_found")
    assert dimension_sets(doc) == [["error_code", "operation", "service"]]


# --------------------------------------------------------------------------- the correlation id's path


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": f"m-{len(self.sent)}"}


def test_a_message_carries_the_correlation_id_in_effect() -> None:
    sqs = FakeSqs()
    queue = SqsDealQueue(cast(Any, sqs), "https://sqs/q.fifo")
    set_correlation_id("req-abc")
    try:
        queue.send({"payment_id": "p"}, group="g", dedup_id="d")
    finally:
        set_correlation_id(None)
    queue.send({"payment_id": "p"}, group="g", dedup_id="d2")
    assert sqs.sent[0]["MessageAttributes"] == {"correlation_id": {"DataType": "String", "StringValue": "req-abc"}}
    assert sqs.sent[1]["MessageAttributes"] == {}


def test_a_worker_reads_the_correlation_id_of_its_record() -> None:
    record = {"messageAttributes": {"correlation_id": {"stringValue": "req-abc", "dataType": "String"}}}
    assert message_correlation_id(record) == "req-abc"
    assert message_correlation_id({"messageAttributes": {}}) is None
    assert message_correlation_id({}) is None


def test_a_change_carries_the_correlation_id_into_last_event() -> None:
    set_correlation_id("req-xyz")
    try:
        event = lifecycle.event("cancelled", "m", lifecycle.Actor("integration", "ci"), PaymentStatus.PENDING)
    finally:
        set_correlation_id(None)
    assert event.correlation_id == "req-xyz"
    assert correlation_id() is None


def test_the_api_handler_sets_the_request_id_for_the_invocation_only(app: APIGatewayRestResolver) -> None:
    seen: list[str | None] = []

    @app.get("/seen")
    def who() -> Response[Any]:
        seen.append(correlation_id())
        return json_response(200, {})

    handlers.api(app)(rest_event("GET", "/seen"), CONTEXT)
    assert seen == ["req-1"]  # the event's requestContext.requestId
    assert correlation_id() is None


def test_the_5xx_line_carries_it(app: APIGatewayRestResolver) -> None:
    lines: list[str] = []
    capture = logging.Handler()
    capture.setFormatter(logger.registered_formatter)  # the JSON lines Lambda would ship
    capture.emit = lambda record: lines.append(capture.format(record))  # type: ignore[method-assign]
    logger._logger.addHandler(capture)
    try:
        handlers.api(app)(rest_event("GET", "/aws"), CONTEXT)
    finally:
        logger._logger.removeHandler(capture)
    (line,) = [json.loads(line) for line in lines if '"unhandled error"' in line]
    assert line["correlation_id"] == "req-1"
    assert line["aws_error_code"] == "ProvisionedThroughputExceededException"


def test_a_log_entry_not_written_is_counted_and_logged_by_type_and_aws_code(
    caplog: pytest.LogCaptureFixture, lines: list[dict[str, Any]]
) -> None:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    stubber.add_client_error("transact_write_items", service_error_code="InternalServerError", service_message=SECRET)
    stubber.activate()
    created = PaymentEvent("created", "Payment created", "integration", "ci", correlation_id="req-1")
    new = to_item(payment_attributes(a_payment(updated_at="2026-01-01T00:00:00Z", last_event=created._asdict())))
    record = {"eventID": "e1", "eventName": "INSERT", "dynamodb": {"NewImage": new}}
    with correlation_scope(), metrics.invocation(), pytest.raises(Exception, match="InternalServerError"):
        logs.write_log(DynamoLogStore(client, "logs"), record)
    assert find(lines, "LogWriterFailures")["LogWriterFailures"] == [1.0]
    (logged,) = [r for r in caplog.records if r.getMessage() == "payment log entry not written"]
    assert (logged.__dict__["aws_operation"], logged.__dict__["aws_error_code"]) == (
        "TransactWriteItems",
        "InternalServerError",
    )
    assert logged.__dict__["raised_at"].startswith("store/logs.py:")
    assert SECRET not in " ".join(str(v) for v in logged.__dict__.values())
