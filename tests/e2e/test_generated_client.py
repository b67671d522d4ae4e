"""The local stack as a client generated from openapi.json meets it: openapi-python-client (pinned) generates a
package into a temporary directory, and every operation runs through it, with the generated models parsing every
answer (a required field missing or of the wrong type fails the parse; a status the spec does not list raises).

Typed `Any`: the package exists only at run time."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest

from devstack.launch import LocalStackInfo
from payments_core.domain import catalog as admin
from payments_core.store.catalog import DynamoCatalogStore
from tests.e2e.helpers import CHAIN_WAIT, HTTP_TIMEOUT
from tests.support import SPEC_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PACKAGE = "rudiq_generated_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
# No post hooks: the generator would run `ruff` from PATH (formatting only; the code is the same without it).
CONFIG = f"package_name_override: {PACKAGE}\npost_hooks: []\n"
PAYMENT_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class Api:
    """The generated package's modules, by the names the spec's tags and operation ids give them."""

    def __init__(self) -> None:
        self.client = importlib.import_module(f"{PACKAGE}.client")
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")

    def op(self, tag: str, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """openapi-python-client's package of the committed openapi.json, importable for the session."""
    where = tmp_path_factory.mktemp("generated-client")
    (where / "config.yaml").write_text(CONFIG)
    options = ["--config", str(where / "config.yaml"), "--output-path", str(where / PACKAGE)]
    out = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(SPEC_FILE), "--meta", "none", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Warning" not in out.stdout + out.stderr, out.stdout + out.stderr  # nothing of the spec skipped
    sys.path.insert(0, str(where))
    try:
        yield Api()
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def integration_client(api: Api, stack: LocalStackInfo, who: str = "root") -> Any:
    """An AuthenticatedClient with a token the generated issueToken got for the demo integration `who`."""
    plain = api.client.Client(base_url=stack.api_url, timeout=HTTP_TIMEOUT, raise_on_unexpected_status=True)
    credentials = stack.demo["integrations"][who]
    issued = api.op("auth", "issue_token").sync_detailed(
        client=plain,
        body=api.models.TokenRequest(client_id=credentials["client_id"], client_secret=credentials["client_secret"]),
    )
    assert issued.status_code == 200, issued.content
    assert isinstance(issued.parsed, api.models.TokenResponse)
    return api.client.AuthenticatedClient(
        base_url=stack.api_url, token=issued.parsed.access_token, timeout=HTTP_TIMEOUT, raise_on_unexpected_status=True
    )


def create_body(api: Api, demo: dict[str, Any], **fields: Any) -> Any:
    models = api.models
    values: dict[str, Any] = {
        "external_id": f"gen-{uuid.uuid4().hex[:12]}",
        "node_id": UUID(demo["nodes"]["root"]),
        "network_id": UUID(demo["network_id"]),
        "currency_id": UUID(demo["currency_id"]),
        "price": 12.5,
        "paid_price": 12.5,
        "payment_method": models.PaymentMethod("web3"),
        "payment_group": models.PaymentGroup("product"),
        "payment_address": PAYMENT_ADDRESS,
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
    }
    values.update(fields)
    return models.CreatePaymentRequest(**values)


def create(api: Api, client: Any, body: Any) -> Any:
    r = api.op("payments", "create_payment").sync_detailed(client=client, body=body)
    assert r.status_code == 201, r.content
    assert isinstance(r.parsed, api.models.PaymentResponse)
    return r.parsed


def get(api: Api, client: Any, payment_id: UUID) -> Any:
    r = api.op("payments", "get_payment").sync_detailed(payment_id, client=client)
    assert r.status_code == 200, r.content
    assert isinstance(r.parsed, api.models.PaymentResponse)
    return r.parsed


def wait_for(api: Api, client: Any, payment_id: UUID, status: str) -> Any:
    deadline = time.monotonic() + CHAIN_WAIT
    while (payment := get(api, client, payment_id)).status.value != status:
        assert time.monotonic() < deadline, f"{payment_id} is {payment.status.value}, want {status}"
        time.sleep(0.1)
    return payment


def logs_of(api: Api, client: Any, payment_id: UUID) -> Any:
    """listPaymentLogs until the stream consumer has written the first entry (bounded)."""
    deadline = time.monotonic() + CHAIN_WAIT
    while True:
        r = api.op("payments", "list_payment_logs").sync_detailed(payment_id, client=client, page=1, per_page=5)
        assert r.status_code == 200, r.content
        if r.parsed.total or time.monotonic() > deadline:
            return r.parsed
        time.sleep(0.1)


def widget(api: Api, stack: LocalStackInfo, payment: Any) -> Any:
    """getWidgetPayment authenticated with the payment's own access_token, as the widget is."""
    as_widget = api.client.AuthenticatedClient(
        base_url=stack.api_url, token=payment.access_token, timeout=HTTP_TIMEOUT, raise_on_unexpected_status=True
    )
    return api.op("widget", "get_widget_payment").sync_detailed(payment.id, client=as_widget)


# ---------------------------------------------------------------------------------------------- the tests
def test_create_get_and_logs(api: Api, stack: LocalStackInfo) -> None:
    client = integration_client(api, stack)
    models = api.models
    items = [
        models.PaymentItem(external_id="sku-1", name="socks", price=5.25),
        models.PaymentItem(external_id="sku-2", name="hat", price=7.25),
    ]
    member = models.Member(name="Ada", surname="Lovelace", email="ada@example.com")
    card = models.PaymentMethod("credit_card")
    body = create_body(api, stack.demo, items=items, member=member, metadata="order 7", payment_method=card)
    created = create(api, client, body)
    assert (created.external_id, created.status.value, created.price) == (body.external_id, "pending", 12.5)

    got = get(api, client, created.id)
    assert (got.id, got.external_id, got.metadata) == (created.id, body.external_id, "order 7")
    assert [(i.name, i.price) for i in got.items] == [("socks", 5.25), ("hat", 7.25)]
    assert got.member.email == "ada@example.com"

    logs = logs_of(api, client, created.id)
    assert isinstance(logs, models.PaymentLogList)
    assert logs.total >= 1
    assert logs.items[-1].event_type == "created"

    unknown = api.op("payments", "get_payment").sync_detailed(uuid.uuid4(), client=client)
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.ErrorResponse)
    assert unknown.parsed.error.code == "payment_not_found"


def test_list_with_filters_and_pages(api: Api, stack: LocalStackInfo, catalog: DynamoCatalogStore) -> None:
    client = integration_client(api, stack)
    node = admin.create_node(catalog, f"gen {uuid.uuid4().hex[:8]}", stack.demo["nodes"]["root"])
    wallet = admin.create_wallet(catalog, node_id=node.id, network_id=stack.demo["network_id"], address="0x" + "2" * 40)
    node_id, wallet_id = UUID(node.id), UUID(wallet.id)
    web2 = api.models.PaymentMethod("bank_transfer")
    made = [
        create(api, client, create_body(api, stack.demo, node_id=node_id, payment_method=web2, wallet_id=wallet_id)),
        create(api, client, create_body(api, stack.demo, node_id=node_id, payment_method=web2)),
        create(api, client, create_body(api, stack.demo, node_id=node_id, payment_method=web2)),
    ]
    newest_first = [p.id for p in reversed(made)]
    list_payments = api.op("payments", "list_payments")

    pages = [list_payments.sync_detailed(client=client, node_id=node_id, page=n, per_page=2) for n in (1, 2)]
    for page in pages:
        assert page.status_code == 200, page.content
        assert isinstance(page.parsed, api.models.PaymentList)
        assert (page.parsed.total, page.parsed.per_page) == (3, 2)
    assert [p.id for page in pages for p in page.parsed.items] == newest_first

    by_wallet = list_payments.sync_detailed(client=client, node_id=node_id, wallet_id=wallet_id).parsed
    assert ([p.id for p in by_wallet.items], by_wallet.total) == ([made[0].id], 1)
    by_network = list_payments.sync_detailed(
        client=client, node_id=node_id, network_id=UUID(stack.demo["network_id"])
    ).parsed
    assert ([p.id for p in by_network.items], by_network.total) == (newest_first, 3)
    elsewhere = list_payments.sync_detailed(client=client, node_id=node_id, network_id=uuid.uuid4()).parsed
    assert (elsewhere.items, elsewhere.total) == ([], 0)


@pytest.mark.parametrize("with_body", [False, True], ids=["no-body", "empty-body"])
def test_cancel_with_and_without_a_body(api: Api, stack: LocalStackInfo, with_body: bool) -> None:
    """The optional body: left out (UNSET) the generated client sends none; given, it sends `{}`."""
    client = integration_client(api, stack)
    payment = create(api, client, create_body(api, stack.demo, payment_method=api.models.PaymentMethod("credit_card")))
    cancel = api.op("payments", "cancel_payment")
    kwargs = {"body": api.models.CancelRequest()} if with_body else {}
    r = cancel.sync_detailed(payment.id, client=client, **kwargs)
    assert r.status_code == 202, r.content
    assert isinstance(r.parsed, api.models.CancelAccepted)
    assert get(api, client, payment.id).status.value == "cancelled"


def test_a_web3_payment_through_widget_and_cancel(api: Api, stack: LocalStackInfo, chain_workers: None) -> None:
    """Created with a wallet, the deal is created on chain: the widget data is complete; cancel queues the
    deal's cancellation."""
    client = integration_client(api, stack)
    payment = create(api, client, create_body(api, stack.demo, wallet_id=UUID(stack.demo["wallet_id"])))
    opened = wait_for(api, client, payment.id, "open")
    deadline = time.monotonic() + 30
    data = widget(api, stack, opened)
    while data.status_code == 202 and time.monotonic() < deadline:  # until the watcher verified the deal
        time.sleep(0.2)
        data = widget(api, stack, opened)
    assert data.status_code == 200, data.content
    assert isinstance(data.parsed, api.models.WidgetPayment)
    assert (data.parsed.id, data.parsed.deal_id) == (payment.id, opened.deal_id)
    assert data.parsed.contract.function_name == "deposit"
    assert data.parsed.approve.function_name == "approve"

    r = api.op("payments", "cancel_payment").sync_detailed(payment.id, client=client)
    assert r.status_code == 202, r.content
    assert get(api, client, payment.id).status.value in ("cancelling", "cancelled")


def test_retry_send_and_the_widget_while_the_deal_is_not_there(api: Api, quiet_stack: LocalStackInfo) -> None:
    """On the stack without chain workers a web3 payment waits for its deal: retry-send answers the payment,
    the widget answers 202 with the same shape."""
    client = integration_client(api, quiet_stack)
    payment = create(api, client, create_body(api, quiet_stack.demo))
    retried = api.op("payments", "retry_send_payment").sync_detailed(payment.id, client=client)
    assert retried.status_code == 200, retried.content
    assert isinstance(retried.parsed, api.models.PaymentResponse)
    assert (retried.parsed.id, retried.parsed.retry, retried.parsed.retry_count) == (payment.id, True, 1)

    waiting = widget(api, quiet_stack, payment)
    assert waiting.status_code == 202, waiting.content
    assert isinstance(waiting.parsed, api.models.WidgetPayment)
    assert (waiting.parsed.deal_id, waiting.parsed.contract, waiting.parsed.approve) == (None, None, None)
    assert waiting.headers["retry-after"].isdigit()


def test_the_public_jwks(api: Api, stack: LocalStackInfo) -> None:
    plain = api.client.Client(base_url=stack.api_url, timeout=HTTP_TIMEOUT, raise_on_unexpected_status=True)
    r = api.op("auth", "get_jwks").sync_detailed(client=plain)
    assert r.status_code == 200, r.content
    assert isinstance(r.parsed, api.models.Jwks)
    assert {key.kty for key in r.parsed.keys} == {"EC"}
