"""The payment-provider port: what the domain asks of a card and bank processor (Stripe behind it:
payments_core.provider.stripe; the unit tests' `FakeProvider` in tests/unit/provider_fakes.py).

The shapes are Stripe's PaymentIntent model reduced to what the status machine reads, so the domain moves a
payment by the intent's *current* state (`IntentState`), never by an event's type alone: an event only says
"look again" (an out-of-order or duplicated event then changes nothing).

Amounts here are integers in the currency's minor unit (`money.to_card_units`: the one conversion);
currencies are lowercase ISO 4217 codes. Every mutating call takes an `idempotency_key` derived from the
payment (`idempotency_key(payment_id, step)`), so a retried call after a timeout never charges, captures,
voids or refunds twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from payments_core.models.enums import ProviderMethod


class IntentState(StrEnum):
    """A PaymentIntent's `status` (Stripe's names)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"  # new, or the last attempt failed (decline)
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"  # 3-D Secure (or bank micro-deposits) to finish in the browser
    PROCESSING = "processing"  # bank debits: days
    REQUIRES_CAPTURE = "requires_capture"  # authorised, held (manual capture)
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"


class Intent(NamedTuple):
    """A PaymentIntent as the domain reads it."""

    id: str
    state: IntentState
    amount: int  # minor units
    currency: str  # lowercase ISO 4217
    amount_received: int  # captured so far
    client_secret: str | None  # what Stripe.js confirms with: never logged, never stored
    next_action: Mapping[str, Any] | None = None  # 3-D Secure: what the browser must do
    decline_code: str | None = None  # the last failed attempt's (`last_payment_error.decline_code`/`code`)
    failure_message: str | None = None
    cancellation_reason: str | None = None
    latest_charge: str | None = None
    created: int = 0  # epoch seconds
    metadata: Mapping[str, str] = {}


class Refund(NamedTuple):
    id: str
    intent_id: str
    amount: int  # minor units
    currency: str
    status: str  # pending | succeeded | failed | canceled (Stripe's)
    created: int = 0


class ProviderEvent(NamedTuple):
    """A verified provider event: which object it is about. The domain re-reads the object."""

    id: str
    type: str  # payment_intent.succeeded, charge.refunded, ...
    created: int  # epoch seconds
    intent_id: str | None  # the PaymentIntent it concerns (None: not about one)
    object_id: str  # the event's object (an intent, charge, refund, account or transfer id)


class InvalidSignature(Exception):
    """The event's signature does not verify (forged, for another secret, or older than the tolerance)."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered a server error (after the SDK's own retries)."""


class ProviderRefused(Exception):
    """The provider refused the call (a 4xx: invalid state, amount, ...); `code` is its error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class IdempotencyConflict(ProviderRefused):
    """An idempotency key was reused with other parameters (a bug: a key names one call)."""


class PaymentProvider(Protocol):
    """Cards and bank debits (Stripe's PaymentIntents)."""

    @property
    def publishable_key(self) -> str: ...

    def create_intent(
        self,
        *,
        idempotency_key: str,
        amount: int,
        currency: str,
        method: ProviderMethod,  # card | us_bank_account
        manual_capture: bool,
        metadata: Mapping[str, str],
        destination: str | None = None,  # Connect: the seller's account (a destination charge)
        application_fee: int | None = None,  # Connect: the platform's and the app's share, minor units
    ) -> Intent: ...

    def get_intent(self, intent_id: str) -> Intent: ...

    def capture(self, intent_id: str, *, idempotency_key: str, amount: int | None = None) -> Intent: ...

    def cancel(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def refund(self, intent_id: str, amount: int, *, idempotency_key: str) -> Refund: ...

    def list_refunds(self, intent_id: str) -> list[Refund]: ...

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent:
        """The event, once its signature verifies on the raw body (InvalidSignature otherwise)."""
        ...


def idempotency_key(payment_id: str, step: str, n: int | None = None) -> str:
    """The idempotency key of one mutating call for a payment: the same step of the same payment is the same
    call however often it is retried (`n` tells apart steps that repeat: the n-th refund)."""
    return f"{payment_id}:{step}" if n is None else f"{payment_id}:{step}:{n}"
