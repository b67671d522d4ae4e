"""The Stripe adapter (`payments_core.provider.stripe.StripeProvider`) against localstripe in this process
(devstack.stripe_local: 127.0.0.1, a free port, in memory). The payer's side (attaching a card, confirming,
finishing 3-D Secure) goes through the SDK or localstripe's routes as a browser's Stripe.js would."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import stripe

from devstack import stripe_local
from payments_core import money
from payments_core.domain.provider import (
    IntentState,
    InvalidSignature,
    ProviderRefused,
    ProviderUnavailable,
    idempotency_key,
)
from payments_core.models.enums import ProviderMethod
from payments_core.provider.stripe import StripeProvider, StripeSettings, settings_from_secret

# localstripe registers plain functions as aiohttp handlers (deprecated by aiohttp, harmless)
pytestmark = pytest.mark.filterwarnings("ignore:Bare functions are deprecated:DeprecationWarning")

WEBHOOK_SECRET = "whsec_test_local"
SECRET_KEY = "sk_test_local"


@pytest.fixture(scope="module")
def local_stripe() -> Iterator[stripe_local.LocalStripe]:
    local = stripe_local.start()
    yield local
    local.stop()


@pytest.fixture
def provider(local_stripe: stripe_local.LocalStripe) -> StripeProvider:
    local_stripe.reset()
    settings = StripeSettings(
        secret_key=SECRET_KEY,
        publishable_key="pk_test_local",
        webhook_secret=WEBHOOK_SECRET,
        api_base=local_stripe.api_base,
    )
    return StripeProvider(settings)


@pytest.fixture
def payer(local_stripe: stripe_local.LocalStripe) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": local_stripe.api_base}, max_network_retries=0)


def _hold(provider: StripeProvider, payment_id: str, amount: int = 5000, currency: str = "usd") -> str:
    intent = provider.create_intent(
        idempotency_key=idempotency_key(payment_id, "create"),
        amount=amount,
        currency=currency,
        method=ProviderMethod.CARD,
        manual_capture=True,
        metadata={"payment_id": payment_id},
    )
    assert intent.state is IntentState.REQUIRES_PAYMENT_METHOD
    assert intent.client_secret
    assert intent.client_secret.startswith(intent.id)
    assert intent.metadata == {"payment_id": payment_id}
    return intent.id


def _pay(payer: stripe.StripeClient, intent_id: str, payment_method: str = "pm_card_visa") -> None:
    """What Stripe.js does (localstripe's confirm takes no payment_method: it is set on the intent first)."""
    payer.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
    payer.v1.payment_intents.confirm(intent_id)


def _card(payer: stripe.StripeClient, number: str) -> str:
    method = payer.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    return method.id


def test_hold_then_capture_in_full(provider: StripeProvider, payer: stripe.StripeClient) -> None:
    intent_id = _hold(provider, "pay_full")
    _pay(payer, intent_id)
    held = provider.get_intent(intent_id)
    assert held.state is IntentState.REQUIRES_CAPTURE
    assert (held.amount, held.amount_received) == (5000, 0)
    assert held.latest_charge
    assert held.latest_charge.startswith("ch_")

    paid = provider.capture(intent_id, idempotency_key=idempotency_key("pay_full", "capture"))
    assert paid.state is IntentState.SUCCEEDED
    assert paid.amount_received == 5000
    assert provider.get_intent(intent_id).amount_received == 5000


def test_partial_capture_receives_only_the_captured_amount(
    provider: StripeProvider, payer: stripe.StripeClient
) -> None:
    intent_id = _hold(provider, "pay_partial")
    _pay(payer, intent_id)
    paid = provider.capture(intent_id, idempotency_key=idempotency_key("pay_partial", "capture"), amount=3000)
    assert paid.state is IntentState.SUCCEEDED
    assert paid.amount_received == 3000
    assert provider.list_refunds(intent_id) == []  # the released rest is no refund of the payer's


def test_cancel_voids_an_uncaptured_hold(provider: StripeProvider, payer: stripe.StripeClient) -> None:
    intent_id = _hold(provider, "pay_void")
    _pay(payer, intent_id)
    voided = provider.cancel(intent_id, idempotency_key=idempotency_key("pay_void", "cancel"))
    assert voided.state is IntentState.CANCELED
    assert voided.amount_received == 0
    assert provider.get_intent(intent_id).state is IntentState.CANCELED


def test_cancel_of_a_captured_intent_is_refused(provider: StripeProvider, payer: stripe.StripeClient) -> None:
    intent_id = _hold(provider, "pay_late_void")
    _pay(payer, intent_id)
    provider.capture(intent_id, idempotency_key=idempotency_key("pay_late_void", "capture"))
    with pytest.raises(ProviderRefused):
        provider.cancel(intent_id, idempotency_key=idempotency_key("pay_late_void", "cancel"))


@pytest.mark.parametrize("card", ["pm_card_chargeCustomerFail", "4000000000000341"])
def test_a_decline_keeps_its_code(provider: StripeProvider, payer: stripe.StripeClient, card: str) -> None:
    intent_id = _hold(provider, f"pay_decline_{card}")
    method = card if card.startswith("pm_") else _card(payer, card)
    with pytest.raises(stripe.CardError):
        _pay(payer, intent_id, method)
    declined = provider.get_intent(intent_id)
    assert declined.state is IntentState.REQUIRES_PAYMENT_METHOD
    assert declined.decline_code == "card_declined"
    assert declined.failure_message
    assert declined.amount_received == 0


def test_three_d_secure_requires_action_then_holds(
    provider: StripeProvider, payer: stripe.StripeClient, local_stripe: stripe_local.LocalStripe
) -> None:
    intent_id = _hold(provider, "pay_3ds")
    _pay(payer, intent_id, _card(payer, "4000000000003220"))
    pending = provider.get_intent(intent_id)
    assert pending.state is IntentState.REQUIRES_ACTION
    assert pending.next_action
    assert pending.next_action["type"] == "use_stripe_sdk"
    assert pending.client_secret

    # the browser finishes the challenge (localstripe's fake Stripe.js route, public key only)
    form = urllib.parse.urlencode(
        {"client_secret": pending.client_secret, "success": "true", "key": provider.publishable_key}
    ).encode()
    url = f"{local_stripe.api_base}/v1/payment_intents/{intent_id}/_authenticate"
    with urllib.request.urlopen(urllib.request.Request(url, data=form, method="POST"), timeout=10) as answer:
        assert answer.status == 200
    held = provider.get_intent(intent_id)
    assert held.state is IntentState.REQUIRES_CAPTURE
    assert held.next_action is None


def test_refunds_full_and_partial(provider: StripeProvider, payer: stripe.StripeClient) -> None:
    intent_id = _hold(provider, "pay_refund")
    _pay(payer, intent_id)
    provider.capture(intent_id, idempotency_key=idempotency_key("pay_refund", "capture"))

    first = provider.refund(intent_id, 1200, idempotency_key=idempotency_key("pay_refund", "refund", 1))
    assert (first.intent_id, first.amount, first.currency, first.status) == (intent_id, 1200, "usd", "succeeded")
    assert first.id.startswith("re_")
    rest = provider.refund(intent_id, 3800, idempotency_key=idempotency_key("pay_refund", "refund", 2))
    assert rest.amount == 3800

    listed = provider.list_refunds(intent_id)
    assert sorted(r.amount for r in listed) == [1200, 3800]
    assert {r.id for r in listed} == {first.id, rest.id}
    assert all(r.intent_id == intent_id for r in listed)


def test_refund_of_an_unknown_intent_is_refused(provider: StripeProvider) -> None:
    with pytest.raises(ProviderRefused):
        provider.refund("pi_doesnotexist", 100, idempotency_key="x:refund:1")
    with pytest.raises(ProviderRefused):
        provider.get_intent("pi_doesnotexist")


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [(Decimal("5000"), "jpy", 5000), (Decimal("12.345"), "kwd", 12345), (Decimal("19.99"), "usd", 1999)],
)
def test_zero_and_three_decimal_currencies_are_exact(
    provider: StripeProvider, payer: stripe.StripeClient, amount: Decimal, currency: str, units: int
) -> None:
    intent_id = _hold(provider, f"pay_{currency}", money.to_card_units(amount, currency), currency)
    _pay(payer, intent_id)
    paid = provider.capture(intent_id, idempotency_key=idempotency_key(f"pay_{currency}", "capture"))
    assert (paid.amount, paid.amount_received, paid.currency) == (units, units, currency)
    assert money.from_card_units(paid.amount_received, currency) == amount


def test_an_unreachable_stripe_is_unavailable() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = StripeProvider(StripeSettings(SECRET_KEY, "pk_test_local", WEBHOOK_SECRET, f"http://127.0.0.1:{port}"))
    with pytest.raises(ProviderUnavailable):
        down.get_intent("pi_x")


def test_settings_from_the_secret() -> None:
    local = settings_from_secret(
        {"secret_key": "sk", "publishable_key": "pk", "webhook_secret": "wh", "api_base": "http://127.0.0.1:1"}
    )
    assert (local.api_base, local.network_retries) == ("http://127.0.0.1:1", 0)
    prod = settings_from_secret({"secret_key": "sk", "publishable_key": "pk", "webhook_secret": "wh"})
    assert (prod.api_base, prod.network_retries) == (None, 2)
    with pytest.raises(KeyError):
        settings_from_secret({"secret_key": "sk"})


def _event(obj: dict[str, Any], kind: str = "payment_intent.succeeded") -> bytes:
    body = {"id": "evt_1", "object": "event", "type": kind, "created": 1796000000, "data": {"object": obj}}
    return json.dumps(body).encode()


def _signed(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), b"%d.%s" % (t, payload), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_verify_event_of_an_intent_and_of_a_charge(provider: StripeProvider) -> None:
    payload = _event({"id": "pi_123", "object": "payment_intent", "status": "succeeded"})
    event = provider.verify_event(payload, _signed(payload))
    assert (event.id, event.type, event.created) == ("evt_1", "payment_intent.succeeded", 1796000000)
    assert (event.intent_id, event.object_id) == ("pi_123", "pi_123")

    refunded = _event({"id": "ch_9", "object": "charge", "payment_intent": "pi_456"}, "charge.refunded")
    event = provider.verify_event(refunded, _signed(refunded))
    assert (event.type, event.intent_id, event.object_id) == ("charge.refunded", "pi_456", "ch_9")

    account = _event({"id": "acct_1", "object": "account"}, "account.updated")
    assert provider.verify_event(account, _signed(account)).intent_id is None


def test_forged_stale_or_malformed_events_are_refused(provider: StripeProvider) -> None:
    payload = _event({"id": "pi_123", "object": "payment_intent"})
    with pytest.raises(InvalidSignature):
        provider.verify_event(payload, _signed(payload, secret="whsec_someone_else"))
    with pytest.raises(InvalidSignature):
        provider.verify_event(payload.replace(b"pi_123", b"pi_999"), _signed(payload))  # body changed
    with pytest.raises(InvalidSignature):
        provider.verify_event(payload, _signed(payload, at=int(time.time()) - 301))  # older than 5 minutes
    with pytest.raises(InvalidSignature):
        provider.verify_event(payload, "")
    not_json = b"{not json"
    with pytest.raises(InvalidSignature):
        provider.verify_event(not_json, _signed(not_json))
    # within the tolerance it verifies
    assert provider.verify_event(payload, _signed(payload, at=int(time.time()) - 200)).intent_id == "pi_123"


class _RecordingClient(stripe.RequestsClient):
    """The SDK's own HTTP client, noting each request's method, path and Idempotency-Key."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, str | None]] = []

    def request(  # type: ignore[override]  # RequestsClient's own signature (HTTPClient's adds `_usage`)
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> Any:
        self.sent.append((method.upper(), urllib.parse.urlsplit(url).path, dict(headers or {}).get("Idempotency-Key")))
        return super().request(method, url, headers, post_data)


def test_every_mutating_call_carries_its_idempotency_key(
    local_stripe: stripe_local.LocalStripe, payer: stripe.StripeClient
) -> None:
    local_stripe.reset()
    recording = _RecordingClient()
    client = stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": local_stripe.api_base}, max_network_retries=0, http_client=recording
    )
    provider = StripeProvider(StripeSettings(SECRET_KEY, "pk_test_local", WEBHOOK_SECRET), client=client)
    intent_id = _hold(provider, "pay_keys")
    _pay(payer, intent_id)
    provider.capture(intent_id, idempotency_key="pay_keys:capture", amount=4000)
    provider.refund(intent_id, 1000, idempotency_key="pay_keys:refund:1")
    provider.get_intent(intent_id)
    provider.list_refunds(intent_id)
    other = _hold(provider, "pay_keys2")
    provider.cancel(other, idempotency_key="pay_keys2:cancel")

    keys = {(method, path): key for method, path, key in recording.sent if method == "POST"}
    assert keys == {
        ("POST", "/v1/payment_intents"): "pay_keys2:create",  # the last create's
        ("POST", f"/v1/payment_intents/{intent_id}/capture"): "pay_keys:capture",
        ("POST", "/v1/refunds"): "pay_keys:refund:1",
        ("POST", f"/v1/payment_intents/{other}/cancel"): "pay_keys2:cancel",
    }
    creates = [key for method, path, key in recording.sent if (method, path) == ("POST", "/v1/payment_intents")]
    assert creates == ["pay_keys:create", "pay_keys2:create"]


def test_localstripe_signed_webhook_verifies(
    provider: StripeProvider, payer: stripe.StripeClient, local_stripe: stripe_local.LocalStripe
) -> None:
    """localstripe's own `payment_intent.succeeded`, signed with the registered secret, as the events route
    would receive it (a one-shot HTTP server on 127.0.0.1)."""
    import http.server
    import threading

    received: list[tuple[bytes, str]] = []  # earlier tests' intents' events may arrive too (sent after 1 s)
    intent_ids: list[str] = []
    arrived = threading.Event()

    class _Events(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()
            if intent_ids and intent_ids[0].encode() in body:
                arrived.set()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), _Events)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        local_stripe.register_webhook(
            "test", f"http://127.0.0.1:{server.server_port}/events", WEBHOOK_SECRET, ["payment_intent.succeeded"]
        )
        intent_id = _hold(provider, "pay_hook")
        intent_ids.append(intent_id)
        _pay(payer, intent_id)
        provider.capture(intent_id, idempotency_key="pay_hook:capture")
        assert arrived.wait(10), "localstripe sent no payment_intent.succeeded"
    finally:
        server.shutdown()
        server.server_close()
        local_stripe.register_webhook("test", "http://127.0.0.1:9/nowhere", WEBHOOK_SECRET, ["none"])
    payload, signature = next((body, sig) for body, sig in received if intent_id.encode() in body)
    event = provider.verify_event(payload, signature)
    assert (event.type, event.intent_id, event.object_id) == ("payment_intent.succeeded", intent_id, intent_id)
    with pytest.raises(InvalidSignature):
        provider.verify_event(payload + b" ", signature)


def test_local_stripe_keeps_its_state_in_memory(
    provider: StripeProvider, local_stripe: stripe_local.LocalStripe
) -> None:
    import os
    import tempfile

    pickle = os.path.join(tempfile.gettempdir(), "localstripe.pickle")
    before = os.stat(pickle).st_mtime_ns if os.path.exists(pickle) else None
    intent_id = _hold(provider, "pay_memory")
    after = os.stat(pickle).st_mtime_ns if os.path.exists(pickle) else None
    assert after == before  # nothing written to localstripe's fixed file
    assert provider.get_intent(intent_id).id == intent_id
    local_stripe.reset()
    with pytest.raises(ProviderRefused):
        provider.get_intent(intent_id)


def test_a_second_local_stripe_in_the_same_process() -> None:
    """Another fixture or module may start one in the same process (here while the module's still runs): it
    serves on its own port, on the same loop, over the same (process-wide) store."""
    other = stripe_local.start()
    try:
        other.reset()
        client = StripeProvider(StripeSettings(SECRET_KEY, "pk", WEBHOOK_SECRET, other.api_base))
        intent_id = _hold(client, "pay_second")
        assert client.get_intent(intent_id).state is IntentState.REQUIRES_PAYMENT_METHOD
    finally:
        other.stop()
