"""Card and bank payments through the payment provider (the `PaymentProvider` port, Stripe's PaymentIntents).

A payment is moved by the intent's *current* state, read again each time (`sync_payment`), never by an event's
type: a duplicated or out-of-order event then changes nothing, and nothing moves backwards (only `pending` and
`hold` are left by a sync; every other status is past what an intent can still say). Every provider call that
changes something carries the payment's idempotency key for that step (`provider.idempotency_key`), so a call
retried after a timeout never charges, captures, voids or refunds twice.

Amounts: the charge is `paid_price` in the catalog currency's symbol (integrator API: `credit_card`,
`bank_transfer`) or the checkout's `price_item.amount_total` in `price_item.currency` (NoRamp's app API:
`card`, `us_bank_account`); `money.to_card_units` turns it into the provider's integer, once.

The integrator API has no capture call (the seed's), so an integrator card payment is captured as soon as it
is authorised; a checkout's hold is captured after its trigger ran (`capture_hold`) or voided (`void_hold`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NoReturn

from payments_core import currencies, money
from payments_core.domain.entities import Payment, PaymentChanges
from payments_core.domain.lifecycle import Actor, ReadAgain, move, optimistic
from payments_core.domain.payments import iso
from payments_core.domain.provider import IdempotencyConflict, Intent, IntentState, PaymentProvider, idempotency_key
from payments_core.domain.stores import PaymentStore
from payments_core.errors import Conflict, DomainError, NotFound, ValidationFailed
from payments_core.models.common import utcnow
from payments_core.models.enums import PaymentMethod, ProviderMethod
from payments_core.models.payments import PaymentStatus as S

# The integrator API's methods as the provider's payment-method types.
_INTEGRATOR_METHODS = {
    PaymentMethod.CREDIT_CARD: ProviderMethod.CARD,
    PaymentMethod.BANK_TRANSFER: ProviderMethod.US_BANK_ACCOUNT,
}
_OPEN = frozenset({S.PENDING, S.HOLD})  # the only statuses a sync moves a payment out of


class Charge:
    """What the payer is charged: the amount (Decimal) in a lowercase ISO 4217 currency."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount = amount
        self.currency = currency

    def units(self, amount: Decimal | None = None) -> int:
        """`amount` (default: the whole charge) in the currency's minor units, exactly."""
        try:
            return money.to_card_units(self.amount if amount is None else amount, self.currency)
        except ValueError:
            raise ValidationFailed(
                f"{amount if amount is not None else self.amount} has more decimals than {self.currency} allows",
                code="currency_not_card_payable",
            ) from None

    def of_units(self, units: int) -> Decimal:
        return money.from_card_units(units, self.currency)


def provider_method(payment: Payment) -> ProviderMethod:
    """The provider's payment-method type of a card or bank payment (DomainError `payment_not_card` for web3)."""
    if payment.app_id is not None and payment.payment_provider is not None:
        return payment.payment_provider
    method = _INTEGRATOR_METHODS.get(payment.payment_method)
    if method is None:
        raise DomainError("Only card and bank payments go through the payment provider", code="payment_not_card")
    return method


def charge_of(payment: Payment) -> Charge:
    """What the payment charges (ValidationFailed `currency_not_card_payable` when its currency is not fiat)."""
    if payment.app_id is not None and payment.price_item is not None:
        return Charge(payment.price_item.amount_total, payment.price_item.currency)
    currency = payment.currency_symbol.lower()
    if not currencies.is_currency(currency):
        raise ValidationFailed(
            f"The currency {payment.currency_symbol!r} is not an ISO 4217 currency a card or bank can pay",
            code="currency_not_card_payable",
            extra={"currency": payment.currency_symbol},
        )
    return Charge(payment.paid_price, currency)


def _too_fast() -> NoReturn:
    raise Conflict("The payment is changing too fast; try again", code="concurrent_update")


def _read(store: PaymentStore, payment_id: str) -> Payment:
    payment = store.get(payment_id)
    if payment is None:
        raise NotFound("No such payment", code="payment_not_found")
    return payment


def _intent_of(store: PaymentStore, provider: PaymentProvider, payment: Payment) -> Intent:
    if payment.transaction_id is None:
        raise Conflict("The payment has no provider payment yet", code="payment_not_held",
                       extra={"status": payment.status.value})  # fmt: skip
    return provider.get_intent(payment.transaction_id)


# ---------------------------------------------------------------------------------------------- start
def start_card_payment(
    store: PaymentStore, provider: PaymentProvider, payment: Payment, *, manual_capture: bool
) -> tuple[Payment, Intent]:
    """The provider's PaymentIntent of a card or bank payment, created once (a second call finds the recorded
    `transaction_id` and answers the same intent); the payment as written and the intent."""
    method = provider_method(payment)
    charge = charge_of(payment)
    units = charge.units()

    def decide(current: Payment) -> tuple[Payment, Intent]:
        if current.transaction_id is not None:
            return current, provider.get_intent(current.transaction_id)
        intent = provider.create_intent(
            idempotency_key=idempotency_key(current.id, "create"),
            amount=units,
            currency=charge.currency,
            method=method,
            manual_capture=manual_capture,
            metadata={"payment_id": current.id},
        )
        written = move(
            store, current, to=None, actor=Actor("provider", intent.id), event_type="provider_payment_created",
            message=f"Provider payment {intent.id} created ({method.value}, {units} {charge.currency} minor units)",
            changes={"transaction_id": intent.id, "provider_state": intent.state.value},
        )  # fmt: skip
        return written, intent

    # Read first (not `payment` as given): a payment started meanwhile answers its intent without a create call.
    return optimistic(lambda: _read(store, payment.id), decide, exhausted=_too_fast)


# ---------------------------------------------------------------------------------------------- sync
def sync_payment(store: PaymentStore, provider: PaymentProvider, payment_id: str, *, actor: Actor) -> Payment:
    """Read the payment's intent again and move the payment by its current state (idempotent, never backwards):
    requires_capture -> `hold` (integrator API: captured at once -> `paid`); succeeded -> `paid`;
    requires_payment_method after a declined attempt -> `failed` (decline code kept); canceled -> `cancelled`;
    processing and the rest: stays, `provider_state` recorded. `actor` is the provider's (type `provider`: the
    event or the reconciler that asked)."""

    def decide(payment: Payment) -> Payment:
        intent = _intent_of(store, provider, payment)
        if payment.status not in _OPEN:
            return payment  # past anything the intent can still say (paid, refunded, failed, cancelled, ...)
        now = utcnow()
        charge = charge_of(payment)
        state = intent.state
        if state is IntentState.REQUIRES_CAPTURE and payment.app_id is None:
            # The integrator API has no capture call: an authorised card is captured at once.
            intent = provider.capture(intent.id, idempotency_key=idempotency_key(payment.id, "capture"))
            state = intent.state
        synced: PaymentChanges = {"provider_state": state.value, "provider_synced_at": iso(now)}
        if state is IntentState.SUCCEEDED:
            captured = charge.of_units(intent.amount_received)
            return move(
                store, payment, to=S.PAID, actor=actor, event_type="card_captured" if payment.status is S.HOLD
                else "provider_paid", message=f"Paid: {captured} {charge.currency} captured ({intent.id})",
                changes={**synced, "captured_amount": captured, "paid_at": iso(now)}, now=now,
            )  # fmt: skip
        if state is IntentState.REQUIRES_CAPTURE:
            if payment.status is S.HOLD:
                return payment
            return move(
                store, payment, to=S.HOLD, actor=actor, event_type="card_authorised",
                message=f"Authorised and held: {charge.amount} {charge.currency} ({intent.id})",
                changes=synced, now=now,
            )  # fmt: skip
        if state is IntentState.CANCELED:
            reason = intent.cancellation_reason or "canceled"
            return move(
                store, payment, to=S.CANCELLED, actor=actor, event_type="provider_cancelled",
                message=f"The provider payment was cancelled ({reason})", changes=synced, now=now,
            )  # fmt: skip
        if state is IntentState.REQUIRES_PAYMENT_METHOD and intent.decline_code and payment.status is S.PENDING:
            return move(
                store, payment, to=S.FAILED, actor=actor, event_type="payment_declined",
                message=f"Declined: {intent.decline_code}" + (f" ({intent.failure_message})"
                                                              if intent.failure_message else ""),
                changes={**synced, "decline_code": intent.decline_code}, now=now,
            )  # fmt: skip
        if payment.provider_state == state.value:
            return payment  # nothing new: no write, no log entry
        return move(
            store, payment, to=None, actor=actor, event_type="provider_state",
            message=f"The provider payment is {state.value}", changes=synced, now=now,
        )  # fmt: skip

    return optimistic(lambda: _read(store, payment_id), decide, exhausted=_too_fast)


# ---------------------------------------------------------------------------------------------- hold
def capture_hold(
    store: PaymentStore, provider: PaymentProvider, payment_id: str, *, actor: Actor, amount: Decimal | None = None
) -> Payment:
    """Capture a held card payment (all of it, or `amount`): `hold` -> `paid`. A paid one is answered as it is."""

    def decide(payment: Payment) -> Payment:
        if payment.status is S.PAID:
            return payment
        provider_method(payment)
        if payment.status is not S.HOLD or payment.transaction_id is None:
            raise Conflict(f"A payment in status {payment.status} cannot be captured", code="payment_not_held",
                           extra={"status": payment.status.value})  # fmt: skip
        charge = charge_of(payment)
        units = None if amount is None else charge.units(amount)
        now = utcnow()
        intent = provider.capture(
            payment.transaction_id, idempotency_key=idempotency_key(payment.id, "capture"), amount=units
        )
        captured = charge.of_units(intent.amount_received)
        return move(
            store, payment, to=S.PAID, actor=actor, event_type="card_captured",
            message=f"Captured {captured} {charge.currency} ({intent.id})",
            changes={"provider_state": intent.state.value, "provider_synced_at": iso(now),
                     "captured_amount": captured, "paid_at": iso(now)},
            now=now,
        )  # fmt: skip

    return optimistic(lambda: _read(store, payment_id), decide, exhausted=_too_fast)


def void_hold(store: PaymentStore, provider: PaymentProvider, payment_id: str, *, actor: Actor) -> Payment:
    """Cancel the intent of a held (or not yet authorised) card payment: the authorisation is voided ->
    `cancelled`. A cancelled one is answered as it is."""

    def decide(payment: Payment) -> Payment:
        if payment.status is S.CANCELLED:
            return payment
        provider_method(payment)
        if payment.status not in _OPEN:
            raise Conflict(f"A payment in status {payment.status} cannot be voided", code="payment_not_held",
                           extra={"status": payment.status.value})  # fmt: skip
        now = utcnow()
        changes: PaymentChanges = {"provider_synced_at": iso(now)}
        if payment.transaction_id is not None:
            intent = provider.cancel(payment.transaction_id, idempotency_key=idempotency_key(payment.id, "cancel"))
            changes["provider_state"] = intent.state.value
        return move(
            store, payment, to=S.CANCELLED, actor=actor, event_type="hold_voided",
            message="The authorisation was voided" if payment.status is S.HOLD else "Cancelled before payment",
            changes=changes, now=now,
        )  # fmt: skip

    return optimistic(lambda: _read(store, payment_id), decide, exhausted=_too_fast)


# ---------------------------------------------------------------------------------------------- refunds
_REFUNDABLE = frozenset({S.PAID, S.FAILED_CAPTURED, S.FAILED_TRANSFERS})


def refund(
    store: PaymentStore, provider: PaymentProvider, payment_id: str, amount: Decimal | None, *, actor: Actor
) -> Payment:
    """Refund a captured card payment: all that is left (`amount` None) or part of it, never more than what
    is left (409 `refund_exceeds_remaining`); what is left reaching zero -> `refunded`. The n-th refund has
    its own idempotency key, so a retried refund is the same refund."""

    def decide(payment: Payment) -> Payment:
        provider_method(payment)
        if payment.status not in _REFUNDABLE or payment.transaction_id is None:
            raise Conflict(f"A payment in status {payment.status} cannot be refunded", code="payment_not_refundable",
                           extra={"status": payment.status.value})  # fmt: skip
        charge = charge_of(payment)
        captured = payment.captured_amount if payment.captured_amount is not None else charge.amount
        refunded = payment.refunded_amount or Decimal(0)
        left = captured - refunded
        take = left if amount is None else amount
        if take <= 0:
            if amount is None:
                raise Conflict("Nothing is left to refund", code="refund_exceeds_remaining",
                               extra={"remaining": str(left)})  # fmt: skip
            raise ValidationFailed("A refund's amount must be positive", code="validation_error")
        if take > left:
            raise Conflict(
                f"A refund of {take} exceeds what is left ({left} {charge.currency})",
                code="refund_exceeds_remaining",
                extra={"remaining": str(left)},
            )
        n = payment.refund_count + 1
        try:
            done = provider.refund(
                payment.transaction_id, charge.units(take), idempotency_key=idempotency_key(payment.id, "refund", n)
            )
        except IdempotencyConflict:
            # A racing refund of another amount took the n-th key and is being recorded: decide again on it.
            raise ReadAgain from None
        total = money.total([refunded, take])
        full = total == captured
        return move(
            store, payment, to=S.REFUNDED if full else None, actor=actor,
            event_type="refunded" if full else "partially_refunded",
            message=f"Refund {n} of {take} {charge.currency} ({done.id}); {captured - total} left",
            changes={"refunded_amount": total, "refund_count": n},
        )  # fmt: skip

    return optimistic(lambda: _read(store, payment_id), decide, exhausted=_too_fast)
