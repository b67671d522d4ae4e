"""(b) The warm create-payment handler (in process, after warm-up) next to the DynamoDB and SQS calls
it makes, issued directly with boto3: the same requests (recorded from the handler, new ids each
time), the same moto server, the same client configuration, interleaved (ABBA)."""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

import boto3

from bench import events
from bench.capture import Call, method_of, recording
from bench.report import Result, median, summary_ms
from bench.stack import BenchStack
from devstack import lambdas

TARGET = 1.3
FUNCTION = "CreatePaymentFunction"


def _raw_client(service: str) -> Any:
    """A client built exactly as payments_core.store.aws builds the function's."""
    from payments_core.settings import get_settings
    from payments_core.store import aws

    s = get_settings()
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service, region_name=s.region, endpoint_url=s.endpoint_url, config=aws._CONFIG
    )


class RawCreate:
    """The create handler's AWS calls, replayed with a new payment id and external id each time."""

    def __init__(self, calls: list[Call], payment_id: str, external_id: str) -> None:
        self.operations = [(c.service, c.operation) for c in calls]
        self._template = json.dumps([c.params for c in calls])
        self._id, self._hex, self._ext = payment_id, uuid.UUID(payment_id).hex, external_id
        self._clients = {service: _raw_client(service) for service, _ in self.operations}
        self._methods = {(service, op): method_of(self._clients[service], op) for service, op in self.operations}

    def payloads(self, external_id: str) -> list[tuple[Any, dict[str, Any]]]:
        new_id = str(uuid.uuid4())
        text = (
            self._template.replace(self._id, new_id)
            .replace(self._hex, uuid.UUID(new_id).hex)
            .replace(json.dumps(self._ext)[1:-1], json.dumps(external_id)[1:-1])
        )
        params = json.loads(text)
        return [(self._methods[key], p) for key, p in zip(self.operations, params, strict=True)]

    @staticmethod
    def call(payloads: list[tuple[Any, dict[str, Any]]]) -> None:
        """The recorded calls, in order. The transaction takes the next list positions as the handler's
        does: its counter conditions and position keys follow the counters the BatchGetItem before it read."""
        counts: dict[str, int] = {}
        for method, params in payloads:
            if "TransactItems" in params:
                _take_positions(params["TransactItems"], counts)
            resp = method(**params)
            for items in (resp.get("Responses") or {}).values():
                counts.update(
                    {i["pk"]["S"]: int(i["n"]["N"]) for i in items if i.get("pk", {}).get("S", "").startswith("count#")}
                )

    def written(self, payloads: list[tuple[Any, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        """(table, key) of the guard and the payment a replayed transaction wrote."""
        for _, params in payloads:
            if "TransactItems" in params:
                guard, payment = params["TransactItems"][0]["Put"], params["TransactItems"][1]["Put"]
                return [
                    (guard["TableName"], {"pk": guard["Item"]["pk"]}),
                    (payment["TableName"], {"id": payment["Item"]["id"]}),
                ]
        return []

    def delete(self, written: list[tuple[str, dict[str, Any]]]) -> None:
        for table, key in written:
            self._clients["dynamodb"].delete_item(TableName=table, Key=key)


def _take_positions(actions: list[dict[str, Any]], counts: dict[str, int]) -> None:
    """Each recorded (counter, position) pair made again from the counts just read, as DynamoPaymentStore.insert
    makes it (`position_actions`)."""
    from payments_core.store.payments import Listing, position_actions

    for i, action in enumerate(actions):
        counter = str(action.get("Update", {}).get("Key", {}).get("pk", {}).get("S", ""))
        if counter.startswith("count#"):
            table = action["Update"]["TableName"]
            payment_id = actions[i + 1]["Put"]["Item"]["payment_id"]["S"]
            listing = Listing(counter.removeprefix("count#"))
            actions[i : i + 2] = position_actions(table, listing, counts.get(counter, 0), payment_id)


def run(bench: BenchStack, iterations: int, warmup: int = 30) -> list[Result]:
    from payments_core.store import aws

    bench.use_in_process(FUNCTION)
    handler = lambdas.handler_of(FUNCTION)
    ctx = lambdas.LambdaContext(function_name=FUNCTION)
    tag = uuid.uuid4().hex[:8]

    def invoke(external_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = handler(events.create_payment(bench.demo, external_id), ctx)
        return answer

    first = invoke(f"warm-{tag}-first")
    assert first["statusCode"] == 201, first["body"]
    recorded_ext = f"warm-{tag}-recorded"
    with recording(aws.dynamodb(), aws.sqs()) as calls:
        answer = invoke(recorded_ext)
    assert answer["statusCode"] == 201, answer["body"]
    raw = RawCreate(calls, json.loads(answer["body"])["id"], recorded_ext)
    print(f"  warm create: the handler calls {[op for _, op in raw.operations]}", file=sys.stderr)

    # Both sides' payments and guards are deleted after each round (not timed), so the tables stay about
    # their size and every round meets the same backend. Their list positions (small items) stay.
    s = bench.stack
    payments_table, index_table = s.physical["PaymentsTable"], s.physical["PaymentKeysTable"]
    node = bench.demo["nodes"]["root"]

    def handler_wrote(answer: dict[str, Any], external_id: str) -> list[tuple[str, dict[str, Any]]]:
        payment_id = json.loads(answer["body"])["id"]
        return [
            (index_table, {"pk": {"S": f"ext#{node}#{external_id}"}}),
            (payments_table, {"id": {"S": payment_id}}),
        ]

    total = warmup + iterations
    handler_ids = [f"warm-{tag}-h{i}" for i in range(total)]
    handler_events = [events.create_payment(bench.demo, ext) for ext in handler_ids]
    raw_payloads = [raw.payloads(f"warm-{tag}-r{i}") for i in range(total)]
    handler_times: list[float] = []
    raw_times: list[float] = []
    for i in range(total):
        written: list[tuple[str, dict[str, Any]]] = []
        for side in ("handler", "raw") if i % 2 == 0 else ("raw", "handler"):
            if side == "handler":
                start = time.perf_counter()
                answer = handler(handler_events[i], ctx)
                elapsed = time.perf_counter() - start
                if answer["statusCode"] != 201:
                    raise RuntimeError(f"create answered {answer['statusCode']}: {answer['body']}")
                if i >= warmup:
                    handler_times.append(elapsed)
                written += handler_wrote(answer, handler_ids[i])
            else:
                start = time.perf_counter()
                RawCreate.call(raw_payloads[i])
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    raw_times.append(elapsed)
                written += raw.written(raw_payloads[i])
        raw.delete(written)

    h, r = summary_ms(handler_times), summary_ms(raw_times)
    third = max(1, iterations // 3)
    for summary, times in ((h, handler_times), (r, raw_times)):
        # Drift check: a backend that slows down as it fills would show here.
        summary["first_third_p50_ms"] = median(times[:third]) * 1000
        summary["last_third_p50_ms"] = median(times[-third:]) * 1000
    ops = " + ".join(op for _, op in raw.operations)
    return [
        Result(
            section="warm create",
            name=f"{FUNCTION} p50 vs raw calls",
            value=median(handler_times) * 1000,
            baseline=median(raw_times) * 1000,
            unit="ms",
            target=TARGET,
            note=f"n={iterations} each; raw = {ops}",
            extra={"handler": h, "raw": r, "operations": ops},
        ),
        Result(
            section="warm create",
            name=f"{FUNCTION} p90 vs raw calls",
            value=h["p90_ms"],
            baseline=r["p90_ms"],
            unit="ms",
            note="for information (the target is on the p50s)",
        ),
    ]
