"""What the HTTP end-to-end tests share besides their fixtures (tests/e2e/fixtures.py): a client of the
running local stack with the demo catalog, the error-shape check, waits on statuses and logs, the widget's
chain calls."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, cast

import boto3
import httpx

from devstack import template as tpl
from devstack.launch import LocalStackInfo
from payments_core.domain import lifecycle
from payments_core.domain.entities import Payment, PaymentChanges
from payments_core.domain.payments import iso
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentStatus
from payments_core.store.payments import DynamoPaymentStore
from tests.support import payment_body

HTTP_TIMEOUT = 30.0


def aws_client(stack: LocalStackInfo, service: str) -> Any:
    """A boto3 client of the stack's moto, without touching this process's environment."""
    env = stack.environment
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.moto_url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass
class Client:
    """httpx against the running stack, with the demo catalog at hand."""

    http: httpx.Client
    demo: dict[str, Any]
    _tokens: dict[str, str]

    def token(self, who: str = "root") -> str:
        if who not in self._tokens:
            r = self.http.post("/api/v1/auth/token", json=self.demo["integrations"][who])
            assert r.status_code == 200, r.text
            self._tokens[who] = r.json()["access_token"]
        return self._tokens[who]

    def auth(self, who: str = "root") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    def payment_body(self, **overrides: Any) -> dict[str, Any]:
        return payment_body(self.demo, overrides.pop("external_id", f"order-{uuid.uuid4().hex[:12]}"), **overrides)

    def create(self, who: str = "root", **overrides: Any) -> httpx.Response:
        return self.http.post("/api/v1/payments", json=self.payment_body(**overrides), headers=self.auth(who))


def http_client(stack: LocalStackInfo) -> httpx.Client:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.Client(base_url=stack.api_url, timeout=HTTP_TIMEOUT, limits=limits)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The platform's one error shape: {"error": {"code", "message", "details"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "details"} <= set(error), body
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code, body
    return dict(error)


def stack_payment_store(stack: LocalStackInfo) -> DynamoPaymentStore:
    env = stack.environment
    return DynamoPaymentStore(aws_client(stack, "dynamodb"), env["PAYMENTS_TABLE"], env["PAYMENT_KEYS_TABLE"])


def force_status(store: DynamoPaymentStore, payment_id: str, status: str, **changes: Any) -> Payment:
    """Put a payment in `status` as a worker would (conditional on what was read; with its own event)."""
    record = store.get(payment_id)
    assert record is not None, payment_id
    happened = lifecycle.event(
        "status_changed", f"e2e: moved to {status}", lifecycle.Actor("system", "e2e-worker"), record.status
    )
    changes = {"status": PaymentStatus(status), "updated_at": iso(utcnow()), "last_event": happened, **changes}
    return store.update(record, cast(PaymentChanges, changes))


@dataclass(frozen=True)
class QueuedMessage:
    payment_id: str
    body: dict[str, Any]
    group_id: str
    dedup_id: str


@dataclass
class DealQueues:
    """The deal queue (the signers' lanes: create- and cancel-deal messages), in a stack where nothing
    consumes it.

    `messages()` drains the queue (receive + delete) into a per-session record, so every test sees the
    messages of its own payments whatever other tests queued; a message sent twice after the first
    was drained is not hidden by the FIFO de-duplication of messages still in the queue.
    """

    sqs: Any
    url: str
    seen: list[QueuedMessage]

    def _drain(self) -> None:
        url = self.url
        for _ in range(1000):  # bounded: 10 messages a call
            got = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=60,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return
            for m in got:
                body = json.loads(m["Body"])
                attributes = m["Attributes"]
                self.seen.append(
                    QueuedMessage(
                        str(body["payment_id"]),
                        body,
                        attributes["MessageGroupId"],
                        attributes["MessageDeduplicationId"],
                    )
                )
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )
        raise AssertionError("the deal queue still had messages after 1000 receives")

    def messages(self, kind: str, payment_id: str) -> list[QueuedMessage]:
        """Every message of `kind` ("create" or "cancel") queued so far for the payment, oldest first."""
        self._drain()
        return [m for m in self.seen if m.payment_id == payment_id and m.body["type"] == f"{kind}_deal"]


DEAL_QUEUES = {"deal": "DealQueue"}


def consumed_deal_queues() -> list[str]:
    """The deal queues a function of the stack consumes (the chain workers), from template.yaml."""
    return sorted({source.source for source in tpl.event_sources()} & set(DEAL_QUEUES.values()))


LOGS_TIMEOUT = 15.0


def wait_for_logs(
    client: Client, payment_id: str, total: int, *, who: str = "root", timeout: float = LOGS_TIMEOUT
) -> dict[str, Any]:
    """GET the payment's logs until `total` entries are there (the stream poller writes them
    asynchronously); fails after `timeout` seconds, or at once if there are more."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.http.get(f"/api/v1/payments/{payment_id}/logs", params={"per_page": 100}, headers=client.auth(who))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["total"] <= total, body
        if body["total"] == total:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{body['total']} log entries after {timeout:.0f}s, want {total}: {body}")
        time.sleep(0.1)


# ------------------------------------------------------------------ chain: the stack's anvil, spoken to with web3
# (used by test_chain_flow.py and test_chain_faults.py)
CHAIN_WAIT = 30.0


DEAL_STATUS = {"none": 0, "open": 1, "paid": 2, "cancelled": 3, "refunded": 4}  # PaymentsFacet's DealStatus


def get_payment(client: Client, payment_id: str) -> dict[str, Any]:
    r = client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_for_status(
    client: Client, payment_id: str, *statuses: str, timeout: float = CHAIN_WAIT, poll: float = 0.1
) -> dict[str, Any]:
    """GET the payment until its status is one of `statuses`; fails after `timeout` seconds with what it was."""
    deadline = time.monotonic() + timeout
    while True:
        payment = get_payment(client, payment_id)
        if payment["status"] in statuses:
            return payment
        if time.monotonic() > deadline:
            raise AssertionError(f"payment {payment_id} is {payment['status']} after {timeout:.0f}s, want {statuses}")
        time.sleep(poll)


def widget_data(client: Client, payment: dict[str, Any]) -> httpx.Response:
    """GET /api/v1/widget/payments/{id} as the widget does: with the payment's own access_token."""
    return client.http.get(
        f"/api/v1/widget/payments/{payment['id']}", headers={"Authorization": f"Bearer {payment['access_token']}"}
    )


def wait_for_widget(client: Client, payment: dict[str, Any], timeout: float = CHAIN_WAIT) -> httpx.Response:
    """The widget data once it is ready (200): the deal verified by the watcher at the network's required
    confirmations; until then it answers 202 (poll)."""
    deadline = time.monotonic() + timeout
    while True:
        r = widget_data(client, payment)
        if r.status_code != 202 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def widget_call(w3: Any, call: dict[str, Any]) -> Any:
    """The bound contract function a widget call ({address, abi, function_name, arguments}) names."""
    contract = w3.eth.contract(address=w3.to_checksum_address(call["address"]), abi=call["abi"])
    inputs = next(
        e["inputs"] for e in call["abi"] if e.get("type") == "function" and e["name"] == call["function_name"]
    )
    args = [
        w3.to_checksum_address(v) if i["type"] == "address" else int(v)
        for i, v in zip(inputs, call["arguments"], strict=True)
    ]
    return contract.functions[call["function_name"]](*args)


def pay_as_widget(client: Client, w3: Any, payment: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """As the demo payer (demo.json's payer_private_key): `approve`, then `contract` (deposit), exactly as the
    payment's widget data says. Returns the widget data and the deposit's receipt (both mined, status 1)."""
    from devstack import chain

    r = wait_for_widget(client, payment)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    key = str(client.demo["payer_private_key"])
    approved = chain.transact(w3, widget_call(w3, data["approve"]), key, timeout=CHAIN_WAIT)
    assert approved["status"] == 1
    deposited = chain.transact(w3, widget_call(w3, data["contract"]), key, timeout=CHAIN_WAIT)
    assert deposited["status"] == 1
    return data, deposited


def tx_hex(value: Any) -> str:
    """0x-prefixed lowercase hex of a hash (HexBytes, bytes or str)."""
    return "0x" + (bytes(value).hex() if not isinstance(value, str) else value.removeprefix("0x")).lower()


def diamond(w3: Any, demo: dict[str, Any]) -> Any:
    from devstack import chain

    return chain.contract_at(w3, "PaymentsFacet", demo["diamond_address"])


def deal_created_events(w3: Any, demo: dict[str, Any], ref: str | None = None) -> list[Any]:
    """The diamond's DealCreated events from block 0 (of one deal ref, a 0x bytes32, when given)."""
    event = diamond(w3, demo).events.DealCreated()
    filters: dict[str, Any] = {"ref": bytes.fromhex(ref.removeprefix("0x"))} if ref is not None else {}
    return list(event.get_logs(from_block=0, to_block="latest", argument_filters=filters))
