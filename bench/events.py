"""The sample events of events/, with the ids of the bench's seeded catalog patched in."""

from __future__ import annotations

import copy
import json
from typing import Any

from devstack import template as tpl

EVENTS = tpl.ROOT / "events"


def load(function: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{function}.json").read_text())
    return data


def _with_body(event: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(event["body"])
    body.update(changes)
    event["body"] = json.dumps(body)
    return event


def _as(event: dict[str, Any], client_id: str, node_id: str) -> dict[str, Any]:
    event["requestContext"]["authorizer"].update(
        actor_type="integration", actor_id=client_id, node_id=node_id, principalId=client_id
    )
    return event


def authorized(function: str, demo: dict[str, Any], who: str = "root") -> dict[str, Any]:
    """The sample event as API Gateway passes it on once the authorizer allowed `who`."""
    return _as(copy.deepcopy(load(function)), demo["integrations"][who]["client_id"], demo["nodes"][who])


def create_payment(demo: dict[str, Any], external_id: str) -> dict[str, Any]:
    event = authorized("CreatePaymentFunction", demo)
    return _with_body(
        event,
        {
            "external_id": external_id,
            "node_id": demo["nodes"]["root"],
            "network_id": demo["network_id"],
            "currency_id": demo["currency_id"],
            "wallet_id": demo["wallet_id"],
        },
    )


def on_payment(function: str, demo: dict[str, Any], payment_id: str, who: str = "root") -> dict[str, Any]:
    """A /api/v1/payments/{id}... sample event, about `payment_id`."""
    event = authorized(function, demo, who)
    sample_id = event["pathParameters"]["id"]
    event["pathParameters"] = {"id": payment_id}
    event["path"] = event["path"].replace(sample_id, payment_id)
    event["requestContext"]["path"] = event["requestContext"]["path"].replace(sample_id, payment_id)
    return event


def stream_insert(item: dict[str, Any]) -> dict[str, Any]:
    """The log writer's sample event, carrying the INSERT of `item` (DynamoDB JSON)."""
    event = copy.deepcopy(load("LogWriterFunction"))
    (record,) = event["Records"]
    record["dynamodb"]["Keys"] = {"id": item["id"]}
    record["dynamodb"]["NewImage"] = item
    return event


def list_payments(
    client_id: str, principal_node: str, node_id: str, *, page: int = 1, per_page: int = 10
) -> dict[str, Any]:
    event = _as(copy.deepcopy(load("ListPaymentsFunction")), client_id, principal_node)
    query = {"node_id": node_id, "page": str(page), "per_page": str(per_page)}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def issue_token(demo: dict[str, Any], who: str = "root") -> dict[str, Any]:
    return _with_body(copy.deepcopy(load("IssueTokenFunction")), dict(demo["integrations"][who]))


def authorizer(token: str) -> dict[str, Any]:
    event = copy.deepcopy(load("IntegratorAuthorizerFunction"))
    event["authorizationToken"] = f"Bearer {token}"
    return event


def jwks() -> dict[str, Any]:
    return copy.deepcopy(load("JwksFunction"))


def widget(function: str, payment_id: str, access_token: str) -> dict[str, Any]:
    """A widget sample event (authorizer or route) about `payment_id`, with its access token; the route's
    carries what the widget authorizer passes on."""
    event = load(function)
    sample_id = event["pathParameters"]["id"]
    text = json.dumps(event).replace(sample_id, payment_id)
    text = text.replace(event["headers"]["Authorization"], f"Bearer {access_token}")
    patched: dict[str, Any] = json.loads(text)
    if "authorizer" in patched.get("requestContext", {}):
        patched["requestContext"]["authorizer"] = {
            "actor_type": "payer",
            "actor_id": payment_id,
            "node_id": "",
            "principalId": payment_id,
        }
    return patched


def sqs_message(function: str, payment_id: str) -> dict[str, Any]:
    """The function's sample SQS event, about `payment_id`."""
    event = load(function)
    for record in event["Records"]:
        body = json.loads(record["body"])
        body["payment_id"] = payment_id
        record["body"] = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return event
