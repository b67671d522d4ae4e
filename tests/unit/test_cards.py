"""domain.cards against the stateful FakeProvider and the payment store fake: holds, captures, declines, voids,
refunds, replays that change nothing, and exact minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments_core import fees
from payments_core.domain import cards
from payments_core.domain.entities import Payment
from payments_core.domain.lifecycle import Actor
from payments_core.domain.provider import idempotency_key
from payments_core.errors import Conflict, DomainError, ValidationFailed
from payments_core.models.enums import PaymentGroup, PaymentMethod, ProviderMethod
from payments_core.models.payments import PaymentStatus as S
from tests.unit.fakes import FakePaymentStore
from tests.unit.provider_fakes import FakeProvider

PROVIDER = Actor("provider", "evt_test")
SELLER = Actor("integration", "client_1")


def integrator_payment(
    pid: str = "p-int", *, paid: str = "12.34", symbol: str = "USD", method: PaymentMethod = PaymentMethod.CREDIT_CARD
) -> Payment:
    return Payment(
        id=pid, external_id=pid, node_id="n1", node_path=("n1",), network_id="", currency_id="c1",
        price=Decimal(paid), paid_price=Decimal(paid), payment_method=method,
        payment_group=PaymentGroup.PRODUCT, payment_address="", expires_at="2030-01-01T00:00:00Z", status=S.PENDING,
        access_token="t", currency_symbol=symbol, currency_decimals=2, created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z", version=1,
    )  # fmt: skip


def checkout_payment(pid: str = "p-app", *, amount: str = "10.00", currency: str = "usd") -> Payment:
    settings = fees.FeeSettings(Decimal("2.9"), {"usd": Decimal("0.30"), "jpy": Decimal(30), "kwd": Decimal("0.1")},
                                Decimal("3.9"))  # fmt: skip
    item = fees.price_item(Decimal(amount), currency, settings, app_fee_percent=Decimal(0), app_type="individual")
    return integrator_payment(pid, paid=str(item.amount_total), symbol=currency.upper())._replace(
        app_id="app_1", price_id="price_1", payment_provider=ProviderMethod.CARD, price_item=item
    )


@pytest.fixture
def store() -> FakePaymentStore:
    return FakePaymentStore()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


def started(store: FakePaymentStore, provider: FakeProvider, payment: Payment, *, manual: bool = True) -> str:
    store.put(payment)
    written, intent = cards.start_card_payment(store, provider, payment, manual_capture=manual)
    assert written.transaction_id == intent.id
    return intent.id


def paid(store: FakePaymentStore, provider: FakeProvider, payment: Payment) -> str:
    """`payment` started, paid by the payer and synced (an integrator payment: captured at once, `paid`)."""
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    return intent_id


def test_start_records_the_intent_once(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment()
    intent_id = started(store, provider, payment)
    intent = provider.intents[intent_id]
    assert (intent.amount, intent.currency, intent.metadata) == (1234, "usd", {"payment_id": payment.id})
    assert provider.methods[intent_id] is ProviderMethod.CARD
    assert provider.manual[intent_id] is True
    assert ("create_intent", idempotency_key(payment.id, "create")) in provider.calls
    # A second call (with the stale payment) finds the recorded intent: no second create, no second write.
    again, same = cards.start_card_payment(store, provider, payment, manual_capture=True)
    assert same.id == intent_id
    assert again.transaction_id == intent_id
    assert [c for c, _ in provider.calls].count("create_intent") == 1
    assert len(store.updates) == 1
    assert store.items[payment.id].status is S.PENDING


def test_start_refuses_a_currency_no_card_pays(store: FakePaymentStore, provider: FakeProvider) -> None:
    store.put(integrator_payment(symbol="USDC"))
    with pytest.raises(ValidationFailed) as err:
        cards.start_card_payment(store, provider, store.items["p-int"], manual_capture=True)
    assert err.value.code == "currency_not_card_payable"
    assert provider.intents == {}


def test_hold_then_capture_then_paid(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    held = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert held.status is S.HOLD
    assert held.provider_state == "requires_capture"
    assert held.last_event is not None
    assert held.last_event.actor_type == "provider"
    assert held.last_event.type == "card_authorised"
    paid = cards.capture_hold(store, provider, payment.id, actor=SELLER)
    assert payment.price_item is not None
    total = payment.price_item.amount_total  # the price plus the provider's fee passed through: what is charged
    assert total > Decimal("10.00")
    assert paid.status is S.PAID
    assert paid.captured_amount == total
    assert provider.intents[intent_id].amount == provider.intents[intent_id].amount_received == int(total * 100)
    # Capturing again answers the paid payment; a sync after it changes nothing.
    assert cards.capture_hold(store, provider, payment.id, actor=SELLER) == paid
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == paid


def test_app_hold_is_left_alone_by_sync(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    held = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    writes = len(store.updates)
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == held  # duplicate: no write
    assert len(store.updates) == writes
    assert not any(call == "capture" for call, _ in provider.calls)


def test_integrator_card_is_captured_at_once(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    paid = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert paid.status is S.PAID
    assert paid.captured_amount == Decimal("12.34")
    assert ("capture", idempotency_key(payment.id, "capture")) in provider.calls
    assert paid.last_event is not None
    assert paid.last_event.status_before is S.PENDING


def test_decline_fails_with_its_code(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.decline(intent_id, "insufficient_funds")
    failed = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert failed.status is S.FAILED
    assert failed.decline_code == "insufficient_funds"
    assert failed.last_event is not None
    assert "insufficient_funds" in failed.last_event.message
    # A new, untried intent (requires_payment_method without a decline) leaves a pending payment pending.
    other = checkout_payment("p-new")
    started(store, provider, other)
    assert cards.sync_payment(store, provider, other.id, actor=PROVIDER).status is S.PENDING


def test_duplicate_sync_changes_nothing(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment(method=PaymentMethod.BANK_TRANSFER)
    intent_id = started(store, provider, payment, manual=False)
    assert provider.methods[intent_id] is ProviderMethod.US_BANK_ACCOUNT
    provider.pay(intent_id)  # bank: processing
    first = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert first.status is S.PENDING
    assert first.provider_state == "processing"
    writes = len(store.updates)
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == first
    assert len(store.updates) == writes
    provider.settle(intent_id)
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER).status is S.PAID


def test_replayed_sync_after_paid_and_after_refund_is_a_no_op(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    paid = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == paid
    refunded = cards.refund(store, provider, payment.id, None, actor=SELLER)
    assert refunded.status is S.REFUNDED
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == refunded


def test_void_cancels_the_hold(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    voided = cards.void_hold(store, provider, payment.id, actor=SELLER)
    assert voided.status is S.CANCELLED
    assert provider.intents[intent_id].state == "canceled"
    assert ("cancel", idempotency_key(payment.id, "cancel")) in provider.calls
    assert cards.void_hold(store, provider, payment.id, actor=SELLER) == voided
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER) == voided
    with pytest.raises(Conflict) as err:
        cards.capture_hold(store, provider, payment.id, actor=SELLER)
    assert err.value.code == "payment_not_held"


def test_partial_then_full_refund_and_over_refund_refused(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment(paid="100.00")
    intent_id = paid(store, provider, payment)
    part = cards.refund(store, provider, payment.id, Decimal("30.25"), actor=SELLER)
    assert part.status is S.PAID
    assert part.refunded_amount == Decimal("30.25")
    assert part.refund_count == 1
    with pytest.raises(Conflict) as err:
        cards.refund(store, provider, payment.id, Decimal("69.76"), actor=SELLER)
    assert err.value.code == "refund_exceeds_remaining"
    assert err.value.status_code == 409
    assert err.value.extra["remaining"] == "69.75"
    rest = cards.refund(store, provider, payment.id, Decimal("69.75"), actor=SELLER)
    assert rest.status is S.REFUNDED
    assert rest.refunded_amount == Decimal("100.00")
    assert [r.amount for r in provider.list_refunds(intent_id)] == [3025, 6975]
    keys = [key for call, key in provider.calls if call == "refund"]
    assert keys == [idempotency_key(payment.id, "refund", 1), idempotency_key(payment.id, "refund", 2)]
    with pytest.raises(Conflict) as again:
        cards.refund(store, provider, payment.id, Decimal("0.01"), actor=SELLER)
    assert again.value.code == "payment_not_refundable"


def test_refund_before_capture_is_refused(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.pay(intent_id)
    cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    with pytest.raises(Conflict) as err:
        cards.refund(store, provider, payment.id, None, actor=SELLER)
    assert err.value.code == "payment_not_refundable"
    assert provider.list_refunds(intent_id) == []


@pytest.mark.parametrize(
    ("amount", "currency", "units", "refund", "refund_units"),
    [("1000", "jpy", 1000, "333", 333), ("12.345", "kwd", 12345, "0.001", 1)],
)
def test_jpy_and_kwd_amounts_exact(  # noqa: PLR0917 - the fixtures and the case's parameters
    store: FakePaymentStore, provider: FakeProvider, amount: str, currency: str, units: int, refund: str,
    refund_units: int,
) -> None:  # fmt: skip
    payment = integrator_payment(f"p-{currency}", paid=amount, symbol=currency.upper())
    intent_id = started(store, provider, payment)
    assert provider.intents[intent_id].amount == units
    assert provider.intents[intent_id].currency == currency
    provider.pay(intent_id)
    paid = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert paid.captured_amount == Decimal(amount)
    part = cards.refund(store, provider, payment.id, Decimal(refund), actor=SELLER)
    assert provider.list_refunds(intent_id)[0].amount == refund_units
    assert part.refunded_amount == Decimal(refund)
    with pytest.raises(ValidationFailed) as err:  # more decimals than the currency has
        cards.refund(store, provider, payment.id, Decimal(refund) / 10, actor=SELLER)
    assert err.value.code == "currency_not_card_payable"


def test_web3_payment_is_not_a_card(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = integrator_payment(method=PaymentMethod.WEB3)
    store.put(payment)
    with pytest.raises(DomainError) as err:
        cards.start_card_payment(store, provider, payment, manual_capture=True)
    assert err.value.code == "payment_not_card"


def test_the_card_fields_survive_the_codec(store: FakePaymentStore, provider: FakeProvider) -> None:
    from payments_core.store import codec

    payment = integrator_payment(paid="100.00")
    paid(store, provider, payment)
    part = cards.refund(store, provider, payment.id, Decimal("0.50"), actor=SELLER)
    item = codec.to_item(codec.payment_attributes(part))
    back = codec.payment_from(codec.from_item(item))
    assert back == part
    assert (back.captured_amount, back.refunded_amount, back.refund_count) == (Decimal("100.00"), Decimal("0.50"), 1)
    assert back.provider_state == "succeeded"
    changes = codec.change_attributes({"decline_code": "card_declined", "refunded_amount": Decimal("1.5")})
    assert changes == {"decline_code": "card_declined", "refunded_amount": Decimal("1.5")}


def test_a_refund_whose_key_another_amount_took_is_decided_again(
    store: FakePaymentStore, provider: FakeProvider
) -> None:
    payment = integrator_payment(paid="100.00")
    intent_id = paid(store, provider, payment)
    # A racing request refunded 10.00 under the first refund's key and has not recorded it yet (nor ever will).
    provider.refund(intent_id, 1000, idempotency_key=idempotency_key(payment.id, "refund", 1))
    with pytest.raises(Conflict) as err:
        cards.refund(store, provider, payment.id, Decimal("5.00"), actor=SELLER)
    assert err.value.code == "concurrent_update"
    assert [r.amount for r in provider.list_refunds(intent_id)] == [1000]  # nothing refunded twice
    assert store.items[payment.id].refund_count == 0


def test_three_d_secure_stays_pending_then_holds(store: FakePaymentStore, provider: FakeProvider) -> None:
    payment = checkout_payment()
    intent_id = started(store, provider, payment)
    provider.require_action(intent_id)
    waiting = cards.sync_payment(store, provider, payment.id, actor=PROVIDER)
    assert waiting.status is S.PENDING
    assert waiting.provider_state == "requires_action"
    provider.pay(intent_id)  # the payer finished 3-D Secure
    assert cards.sync_payment(store, provider, payment.id, actor=PROVIDER).status is S.HOLD
