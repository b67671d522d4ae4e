"""The sample events of events/ (what `sam local invoke -e` takes): one per function, each shaped as
its real trigger sends it, and each, with the demo ids patched in, giving the real outcome."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devstack import lambdas
from devstack import template as tpl
from devstack.provision import Stack

EVENTS = tpl.ROOT / "events"
AUTHORIZER_KEYS = {"actor_type", "actor_id", "node_id", "principalId"}


# ---------------------------------------------------------------- helpers
def load_event(function: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{function}.json").read_text())
    return data


def body_of(response: dict[str, Any]) -> Any:
    # Numbers as Decimal, as the API writes them (exact money).
    return json.loads(response["body"], parse_float=Decimal)


def with_body(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(event)
    body = json.loads(out["body"])
    body.update(changes)
    out["body"] = json.dumps(body)
    return out


def as_integration(event: dict[str, Any], demo: dict[str, Any], who: str = "root") -> dict[str, Any]:
    """The event as API Gateway passes it on once the authorizer allowed `who`'s token."""
    out = copy.deepcopy(event)
    client_id = demo["integrations"][who]["client_id"]
    out["requestContext"]["authorizer"].update(
        actor_type="integration", actor_id=client_id, node_id=demo["nodes"][who], principalId=client_id
    )
    return out


def create_event(demo: dict[str, Any], who: str = "root", **changes: Any) -> dict[str, Any]:
    patched = with_body(
        load_event("CreatePaymentFunction"),
        node_id=demo["nodes"]["root"],
        network_id=demo["network_id"],
        currency_id=demo["currency_id"],
        wallet_id=demo["wallet_id"],
        **changes,
    )
    return as_integration(patched, demo, who)


def create_payment(demo: dict[str, Any], external_id: str) -> dict[str, Any]:
    response = lambdas.invoke("CreatePaymentFunction", create_event(demo, external_id=external_id))
    assert response["statusCode"] == 201, response["body"]
    created: dict[str, Any] = body_of(response)
    return created


def on_payment(function: str, demo: dict[str, Any], payment_id: str, who: str = "root") -> dict[str, Any]:
    """A /api/v1/payments/{id}... sample event, about `payment_id`, from `who`."""
    event = as_integration(load_event(function), demo, who)
    sample_id = event["pathParameters"]["id"]
    event["pathParameters"] = {"id": payment_id}
    event["path"] = event["path"].replace(sample_id, payment_id)
    event["requestContext"]["path"] = event["requestContext"]["path"].replace(sample_id, payment_id)
    return event


def get_event(demo: dict[str, Any], payment_id: str, who: str = "root") -> dict[str, Any]:
    return on_payment("GetPaymentFunction", demo, payment_id, who)


def get_payment(demo: dict[str, Any], payment_id: str) -> dict[str, Any]:
    response = lambdas.invoke("GetPaymentFunction", get_event(demo, payment_id))
    assert response["statusCode"] == 200, response["body"]
    got: dict[str, Any] = body_of(response)
    return got


def queue_messages(stack: Stack, queue: str, *, consume: bool = True) -> list[dict[str, Any]]:
    """The messages waiting in `queue`; consumed (deleted), as a worker that succeeded would, unless told."""
    sqs = stack.client("sqs")
    url = stack.physical[queue]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    messages: list[dict[str, Any]] = received.get("Messages", [])
    if consume:
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def sqs_event(function: str, stack: Stack, queue: str) -> dict[str, Any]:
    """The worker's sample event carrying the one message waiting in `queue` (as Lambda's poller would)."""
    (message,) = queue_messages(stack, queue, consume=False)
    event = load_event(function)
    (record,) = event["Records"]
    record.update(
        messageId=message["MessageId"],
        receiptHandle=message["ReceiptHandle"],
        body=message["Body"],
        md5OfBody=message["MD5OfBody"],
        eventSourceARN=stack.attributes[(queue, "Arn")],
    )
    record["attributes"].update({k: v for k, v in message["Attributes"].items() if k in record["attributes"]})
    return event


def done(stack: Stack, queue: str, event: dict[str, Any]) -> None:
    """Delete the event's messages, as Lambda's poller does once the worker answered no failure."""
    for record in event["Records"]:
        stack.client("sqs").delete_message(QueueUrl=stack.physical[queue], ReceiptHandle=record["receiptHandle"])


def list_event(demo: dict[str, Any], **query: str) -> dict[str, Any]:
    event = as_integration(load_event("ListPaymentsFunction"), demo)
    params = {**event["queryStringParameters"], "node_id": demo["nodes"]["root"], **query}
    event["queryStringParameters"] = params
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()}
    return event


def token_event(demo: dict[str, Any], who: str = "root") -> dict[str, Any]:
    return with_body(load_event("IssueTokenFunction"), **demo["integrations"][who])


def issue_token(demo: dict[str, Any], who: str = "root") -> str:
    response = lambdas.invoke("IssueTokenFunction", token_event(demo, who))
    assert response["statusCode"] == 200, response["body"]
    return str(body_of(response)["access_token"])


# ---------------------------------------------------------------- shape (no AWS needed)
def test_every_function_has_exactly_one_sample_event() -> None:
    assert {p.stem for p in EVENTS.glob("*.json")} == set(tpl.functions())


def test_the_405_event_is_a_method_its_resource_does_not_have() -> None:
    event = load_event("MethodNotAllowedFunction")
    fallback = [r for r in tpl.routes() if r.method == "ANY"]
    assert {r.function for r in fallback} == {"MethodNotAllowedFunction"}
    assert event["resource"] in {r.path for r in fallback}
    assert event["requestContext"]["resourcePath"] == event["resource"]
    assert lambdas.path_regex(event["resource"]).match(event["path"])
    assert event["httpMethod"] not in {r.method for r in tpl.routes() if r.path == event["resource"]}
    assert "authorizer" not in event["requestContext"]


@pytest.mark.parametrize("route", [r for r in tpl.routes() if r.method != "ANY"], ids=lambda r: r.function)
def test_api_events_match_their_route(route: tpl.Route) -> None:
    event = load_event(route.function)
    assert event["httpMethod"] == route.method
    assert event["resource"] == route.path
    assert event["requestContext"]["resourcePath"] == route.path
    assert lambdas.path_regex(route.path).match(event["path"])
    for name, value in (event["pathParameters"] or {}).items():
        assert event["path"].split("/")[route.path.split("/").index(f"{{{name}}}")] == value
    if route.authorizer == "IntegratorAuthorizer":
        assert set(event["requestContext"]["authorizer"]) >= AUTHORIZER_KEYS
        assert event["headers"]["Authorization"].startswith("Bearer ")
    elif route.authorizer:
        assert event["requestContext"]["authorizer"]
    else:
        assert "authorizer" not in event["requestContext"]
    if event["body"] is not None:
        json.loads(event["body"])


def test_authorizer_event_is_a_token_event_the_gateway_would_send() -> None:
    event = load_event("IntegratorAuthorizerFunction")
    identity = tpl.authorizers()["IntegratorAuthorizer"]["Identity"]
    assert event["type"] == "TOKEN"
    assert re.fullmatch(identity["ValidationExpression"], event["authorizationToken"])
    assert event["methodArn"].startswith("arn:aws:execute-api:")


def test_rotation_event_is_a_secrets_manager_rotation_step() -> None:
    event = load_event("SigningKeyRotationFunction")
    assert set(event) == {"Step", "SecretId", "ClientRequestToken"}
    assert event["Step"] == "createSecret"
    uuid.UUID(event["ClientRequestToken"])


# ---------------------------------------------------------------- outcomes
def test_issue_token_event(demo: dict[str, Any]) -> None:
    response = lambdas.invoke("IssueTokenFunction", token_event(demo))
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2

    unpatched = lambdas.invoke("IssueTokenFunction", load_event("IssueTokenFunction"))
    assert unpatched["statusCode"] == 401
    assert body_of(unpatched)["error"]["code"] == "invalid_client"


def test_jwks_event(demo: dict[str, Any]) -> None:
    response = lambdas.invoke("JwksFunction", load_event("JwksFunction"))
    assert response["statusCode"] == 200, response["body"]
    keys = body_of(response)["keys"]
    assert len(keys) == 1
    assert keys[0]["alg"] == "ES256"
    assert keys[0]["kty"] == "EC"
    assert keys[0]["kid"]
    assert "d" not in keys[0]


def test_authorizer_event(demo: dict[str, Any]) -> None:
    event = load_event("IntegratorAuthorizerFunction")
    event["authorizationToken"] = f"Bearer {issue_token(demo, 'child')}"
    answer = lambdas.invoke("IntegratorAuthorizerFunction", event)
    client_id = demo["integrations"]["child"]["client_id"]
    assert answer["principalId"] == client_id
    assert answer["context"] == {"actor_type": "integration", "actor_id": client_id, "node_id": demo["nodes"]["child"]}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/*/*"

    # The sample's own token is not signed by the stack's key: API Gateway's "Unauthorized".
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        lambdas.invoke("IntegratorAuthorizerFunction", load_event("IntegratorAuthorizerFunction"))


def test_create_payment_event(stack: Stack, demo: dict[str, Any]) -> None:
    response = lambdas.invoke("CreatePaymentFunction", create_event(demo))
    assert response["statusCode"] == 201, response["body"]
    body = body_of(response)
    assert body["external_id"] == "order-10001"
    assert body["node_id"] == demo["nodes"]["root"]
    assert body["wallet_id"] == demo["wallet_id"]
    assert body["status"] == "pending"
    assert body["price"] == Decimal("100.5")
    assert body["paid_price"] == Decimal("100.5")
    assert [i["external_id"] for i in body["items"]] == ["sku-1", "sku-2"]
    assert body["member"]["email"] == "ada@example.com"
    assert body["client_ip"] == "203.0.113.10"
    assert body["access_token"].startswith(f"pwt_{uuid.UUID(body['id']).hex}_")

    # A web3 payment is queued for its on-chain deal, in its signing wallet's message group.
    sqs = stack.client("sqs")
    received = sqs.receive_message(
        QueueUrl=stack.physical["DealQueue"], MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
    )
    (message,) = received["Messages"]
    assert message["Attributes"]["MessageGroupId"] == f"signer:{demo['wallet_id']}"
    deal = json.loads(message["Body"])
    assert deal["payment_id"] == body["id"]
    assert deal["amount_units"] == "100500000"
    assert deal["ref"] == "0x" + uuid.UUID(body["id"]).hex.rjust(64, "0")

    # The same event again: the external_id is taken.
    again = lambdas.invoke("CreatePaymentFunction", create_event(demo))
    assert again["statusCode"] == 409
    error = body_of(again)["error"]
    assert error["code"] == "payment_already_exists"
    assert error["payment_id"] == body["id"]


def test_create_payment_sample_event_as_is_names_an_unknown_node(demo: dict[str, Any]) -> None:
    response = lambdas.invoke("CreatePaymentFunction", load_event("CreatePaymentFunction"))
    assert response["statusCode"] == 404
    assert body_of(response)["error"]["code"] == "node_not_found"


def test_get_payment_event(demo: dict[str, Any]) -> None:
    created = create_payment(demo, "order-get")
    response = lambdas.invoke("GetPaymentFunction", get_event(demo, created["id"]))
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body == created

    # An unrelated node's integration does not reach it.
    denied = lambdas.invoke("GetPaymentFunction", get_event(demo, created["id"], who="other"))
    assert denied["statusCode"] == 403
    assert body_of(denied)["error"]["code"] == "node_access_denied"

    # The sample's own id is unknown to the stack.
    missing = lambdas.invoke("GetPaymentFunction", as_integration(load_event("GetPaymentFunction"), demo))
    assert missing["statusCode"] == 404
    assert body_of(missing)["error"]["code"] == "payment_not_found"


def test_list_payments_event(demo: dict[str, Any]) -> None:
    first = create_payment(demo, "order-list-1")
    second = create_payment(demo, "order-list-2")
    response = lambdas.invoke("ListPaymentsFunction", list_event(demo))
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert (body["page"], body["per_page"], body["total"]) == (1, 10, 2)
    assert [p["id"] for p in body["items"]] == [second["id"], first["id"]]

    filtered = lambdas.invoke("ListPaymentsFunction", list_event(demo, wallet_id=demo["wallet_id"], per_page="1"))
    assert filtered["statusCode"] == 200, filtered["body"]
    assert body_of(filtered)["total"] == 2
    assert [p["id"] for p in body_of(filtered)["items"]] == [second["id"]]


def test_rotation_event_runs_a_whole_rotation(
    stack: Stack, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import runtime
    from payments_core.domain import keys

    def jwks_kids() -> list[str]:
        response = lambdas.invoke("JwksFunction", load_event("JwksFunction"))
        return [k["kid"] for k in body_of(response)["keys"]]

    (old_kid,) = jwks_kids()
    # The demo's key is seconds old: a rotation inside its signing grace would be refused (rotation_too_soon),
    # and a new container signs with the new key at once.
    monkeypatch.setattr(keys, "SIGNING_GRACE_SECONDS", 0)
    sample = load_event("SigningKeyRotationFunction")
    token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {**sample, "Step": step, "SecretId": stack.physical["SigningKeysSecret"], "ClientRequestToken": token}
        assert lambdas.invoke("SigningKeyRotationFunction", event) is None

    stages = stack.client("secretsmanager").describe_secret(SecretId=stack.physical["SigningKeysSecret"])
    assert "AWSCURRENT" in stages["VersionIdsToStages"][token]

    # A new container signs with the new key once its first minute has passed (domain.keys.signing_key);
    # both keys are published, so old tokens still verify.
    runtime.reset_process_caches()
    kids = jwks_kids()
    assert old_kid in kids
    assert len(kids) == 2
    new_token = issue_token(demo)
    event = load_event("IntegratorAuthorizerFunction")
    event["authorizationToken"] = f"Bearer {new_token}"
    answer = lambdas.invoke("IntegratorAuthorizerFunction", event)
    assert answer["context"]["node_id"] == demo["nodes"]["root"]
    header = json.loads(_b64url(new_token.split(".")[0]))
    assert header["kid"] in kids
    assert header["kid"] != old_kid


def _b64url(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_sample_events_are_valid_json_files() -> None:
    for path in sorted(Path(EVENTS).glob("*.json")):
        assert isinstance(json.loads(path.read_text()), dict), path.name


# ---------------------------------------------------------------- lifecycle, logs and chain workers
def test_cancel_payment_event(stack: Stack, demo: dict[str, Any]) -> None:
    created = create_payment(demo, "order-cancel")
    response = lambdas.invoke("CancelPaymentFunction", on_payment("CancelPaymentFunction", demo, created["id"]))
    assert response["statusCode"] == 202, response["body"]
    assert body_of(response) == {"status": "accepted"}
    # No worker ever claimed it, so no deal can exist: cancelled at once, nothing queued.
    assert get_payment(demo, created["id"])["status"] == "cancelled"
    assert [json.loads(m["Body"])["type"] for m in queue_messages(stack, "DealQueue")] == ["create_deal"]  # its own

    again = lambdas.invoke("CancelPaymentFunction", on_payment("CancelPaymentFunction", demo, created["id"]))
    assert again["statusCode"] == 202

    unknown = lambdas.invoke("CancelPaymentFunction", as_integration(load_event("CancelPaymentFunction"), demo))
    assert unknown["statusCode"] == 404
    assert body_of(unknown)["error"]["code"] == "payment_not_found"


def test_retry_send_event(stack: Stack, demo: dict[str, Any]) -> None:
    created = create_payment(demo, "order-retry")
    assert len(queue_messages(stack, "DealQueue")) == 1  # the create's own message

    response = lambdas.invoke("RetrySendFunction", on_payment("RetrySendFunction", demo, created["id"]))
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert (body["id"], body["status"], body["retry"], body["retry_count"]) == (created["id"], "pending", True, 1)
    (message,) = queue_messages(stack, "DealQueue")
    assert message["Attributes"]["MessageDeduplicationId"] == f"{created['id']}:1"
    assert json.loads(message["Body"])["retry_count"] == 1

    # The same click again within seconds: answered, not sent again.
    again = lambdas.invoke("RetrySendFunction", on_payment("RetrySendFunction", demo, created["id"]))
    assert again["statusCode"] == 200
    assert body_of(again)["retry_count"] == 1
    assert queue_messages(stack, "DealQueue") == []


def test_log_writer_and_list_payment_logs_events(stack: Stack, demo: dict[str, Any]) -> None:
    created = create_payment(demo, "order-logs")
    item = stack.client("dynamodb").get_item(
        TableName=stack.physical["PaymentsTable"], Key={"id": {"S": created["id"]}}
    )["Item"]
    event = load_event("LogWriterFunction")
    (record,) = event["Records"]
    record["dynamodb"]["Keys"] = {"id": item["id"]}
    record["dynamodb"]["NewImage"] = item
    record["eventSourceARN"] = stack.attributes[("PaymentsTable", "StreamArn")]

    def logs() -> dict[str, Any]:
        response = lambdas.invoke("ListPaymentLogsFunction", on_payment("ListPaymentLogsFunction", demo, created["id"]))
        assert response["statusCode"] == 200, response["body"]
        listed: dict[str, Any] = body_of(response)
        return listed

    assert logs()["total"] == 0
    assert lambdas.invoke("LogWriterFunction", event) == {"batchItemFailures": []}
    listed = logs()
    assert (listed["page"], listed["per_page"], listed["total"]) == (1, 10, 1)
    (entry,) = listed["items"]
    assert entry["event_type"] == "created"
    assert entry["status_after"] == "pending"
    assert entry["actor_id"] == demo["integrations"]["root"]["client_id"]

    # A redelivered stream record is written once.
    assert lambdas.invoke("LogWriterFunction", event) == {"batchItemFailures": []}
    assert logs()["total"] == 1

    unknown = lambdas.invoke("ListPaymentLogsFunction", as_integration(load_event("ListPaymentLogsFunction"), demo))
    assert unknown["statusCode"] == 404
    assert body_of(unknown)["error"]["code"] == "payment_not_found"


@pytest.fixture
def evm(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The demo network on a fresh in-process chain, the demo wallet's key in Secrets Manager."""
    from payments_chain import workers
    from payments_core import deps
    from payments_core.settings import get_settings
    from payments_core.store import aws
    from payments_core.store.wallet_keys import WalletKeyStore
    from tests.solidity.evm import deploy_system
    from tests.support import point_demo_catalog

    system = deploy_system()
    point_demo_catalog(
        deps.catalog(), demo, diamond=system.payments.address, token=system.usdt.address, platform=system.platform
    )
    platform_key = system.tester.backend.account_keys[1].to_hex()
    WalletKeyStore(aws.secretsmanager(), get_settings().wallet_secret_prefix).put(demo["wallet_id"], platform_key)
    monkeypatch.setattr(workers, "web3_for", lambda url: system.w3)
    workers.chain_deps.cache_clear()
    yield system
    workers.chain_deps.cache_clear()


def test_create_and_cancel_deal_worker_events(stack: Stack, demo: dict[str, Any], evm: Any) -> None:
    created = create_payment(demo, "order-chain")
    ref = bytes.fromhex(uuid.UUID(created["id"]).hex.rjust(64, "0"))

    event = sqs_event("DealWorkerFunction", stack, "DealQueue")
    answer = lambdas.invoke("DealWorkerFunction", event)
    assert answer == {"batchItemFailures": []}
    done(stack, "DealQueue", event)  # as the event source mapping does: FIFO delivers the lane's next one only then
    opened = get_payment(demo, created["id"])
    assert (opened["status"], opened["deal_id"]) == ("open", 1)
    assert opened["deal_transaction_hash"].startswith("0x")
    assert evm.payments.functions.dealIdOf(ref).call() == 1

    cancel = lambdas.invoke("CancelPaymentFunction", on_payment("CancelPaymentFunction", demo, created["id"]))
    assert cancel["statusCode"] == 202, cancel["body"]
    assert get_payment(demo, created["id"])["status"] == "cancelling"

    answer = lambdas.invoke("DealWorkerFunction", sqs_event("DealWorkerFunction", stack, "DealQueue"))
    assert answer == {"batchItemFailures": []}
    assert get_payment(demo, created["id"])["status"] == "cancelled"
    assert evm.payments.functions.getDeal(1).call()[7] == 3  # Cancelled on chain


def _widget_event(function: str, payment_id: str, token: str) -> dict[str, Any]:
    """A widget sample event about `payment_id`, carrying `token` (the payment's access_token)."""
    event = load_event(function)
    sample_id = event["pathParameters"]["id"]
    text = json.dumps(event).replace(sample_id, payment_id)
    text = text.replace(event["headers"]["Authorization"], f"Bearer {token}")
    patched: dict[str, Any] = json.loads(text)
    return patched


def test_widget_authorizer_and_widget_payment_events(demo: dict[str, Any]) -> None:
    created = create_payment(demo, "order-widget")
    event = _widget_event("WidgetAuthorizerFunction", created["id"], created["access_token"])
    answer = lambdas.invoke("WidgetAuthorizerFunction", event)
    assert answer["principalId"] == created["id"]
    assert answer["context"]["actor_type"] == "payer"
    assert answer["context"]["actor_id"] == created["id"]
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"].endswith(f"/GET/api/v1/widget/payments/{created['id']}")

    # The sample's own token opens nothing here; nor does this payment's token on another payment.
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        lambdas.invoke("WidgetAuthorizerFunction", load_event("WidgetAuthorizerFunction"))
    other = create_payment(demo, "order-widget-other")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        lambdas.invoke(
            "WidgetAuthorizerFunction", _widget_event("WidgetAuthorizerFunction", other["id"], created["access_token"])
        )

    # The widget route, with what the authorizer passed on: 202 while the deal does not exist yet.
    widget = _widget_event("WidgetPaymentFunction", created["id"], created["access_token"])
    widget["requestContext"]["authorizer"] = {**answer["context"], "principalId": answer["principalId"]}
    response = lambdas.invoke("WidgetPaymentFunction", widget)
    assert response["statusCode"] == 202, response["body"]
    headers = {**(response.get("headers") or {}), **(response.get("multiValueHeaders") or {})}
    retry_after = headers["Retry-After"]
    assert int(retry_after[0] if isinstance(retry_after, list) else retry_after) > 0
    body = body_of(response)
    assert (body["id"], body["status"], body["deal_id"]) == (created["id"], "pending", None)
    assert body["external_id"] == "order-widget"
