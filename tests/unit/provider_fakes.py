"""A payment provider in memory (the `PaymentProvider` port), following Stripe's PaymentIntent states: an
intent is created `requires_payment_method`; the test plays the payer and the bank (`pay`, which also finishes
3-D Secure, `decline`, `require_action`, `settle`); capture, cancel and refund act as Stripe's would (refused
where Stripe refuses). Idempotency keys are honoured as Stripe does: the same key answers the first call's
result.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from payments_core.domain.provider import (
    IdempotencyConflict,
    Intent,
    IntentState,
    InvalidSignature,
    PaymentProvider,
    ProviderEvent,
    ProviderRefused,
    Refund,
)
from payments_core.models.enums import ProviderMethod

_ids = itertools.count(1)


class FakeProvider:
    def __init__(self, publishable_key: str = "pk_test_fake") -> None:
        self._publishable_key = publishable_key
        self.intents: dict[str, Intent] = {}
        self.manual: dict[str, bool] = {}
        self.methods: dict[str, ProviderMethod] = {}
        self.connect: dict[str, tuple[str | None, int | None]] = {}
        self.refunds: dict[str, list[Refund]] = {}
        self.calls: list[tuple[str, str]] = []  # (method, idempotency key or id)
        self._done: dict[str, Any] = {}
        self.events: dict[str, ProviderEvent] = {}  # signature -> event (verify_event)

    @property
    def publishable_key(self) -> str:
        return self._publishable_key

    def _once(self, key: str, call: str, args: tuple[Any, ...], make: Any) -> Any:
        self.calls.append((call, key))
        if key in self._done:
            done_call, done_args, result = self._done[key]
            if (done_call, done_args) != (call, args):
                raise IdempotencyConflict(f"idempotency key {key} reused with other parameters")
            return result
        result = make()
        self._done[key] = (call, args, result)
        return result

    def create_intent(
        self,
        *,
        idempotency_key: str,
        amount: int,
        currency: str,
        method: ProviderMethod,
        manual_capture: bool,
        metadata: Mapping[str, str],
        destination: str | None = None,
        application_fee: int | None = None,
    ) -> Intent:
        def make() -> Intent:
            n = next(_ids)
            intent = Intent(
                id=f"pi_fake{n}",
                state=IntentState.REQUIRES_PAYMENT_METHOD,
                amount=amount,
                currency=currency,
                amount_received=0,
                client_secret=f"pi_fake{n}_secret_{n}",
                created=1_700_000_000 + n,
                metadata=dict(metadata),
            )
            self.intents[intent.id] = intent
            self.manual[intent.id] = manual_capture
            self.methods[intent.id] = method
            self.connect[intent.id] = (destination, application_fee)
            self.refunds[intent.id] = []
            return intent

        args = (amount, currency, method, manual_capture, tuple(sorted(metadata.items())), destination, application_fee)
        result: Intent = self._once(idempotency_key, "create_intent", args, make)
        return self.intents[result.id]

    def get_intent(self, intent_id: str) -> Intent:
        self.calls.append(("get_intent", intent_id))
        try:
            return self.intents[intent_id]
        except KeyError:
            raise ProviderRefused(f"No such payment_intent: {intent_id}", code="resource_missing") from None

    def _set(self, intent_id: str, **changes: Any) -> Intent:
        intent = self.intents[intent_id]._replace(**changes)
        self.intents[intent_id] = intent
        return intent

    # The payer's and the provider's side (what Stripe.js and the bank would do).
    def pay(self, intent_id: str) -> Intent:
        """The payer's card is authorised (manual capture: held) or the debit starts (bank: processing)."""
        intent = self.intents[intent_id]
        if self.methods[intent_id] is ProviderMethod.US_BANK_ACCOUNT:
            return self._set(intent_id, state=IntentState.PROCESSING, next_action=None)
        if self.manual[intent_id]:
            return self._set(intent_id, state=IntentState.REQUIRES_CAPTURE, next_action=None, decline_code=None)
        return self._set(intent_id, state=IntentState.SUCCEEDED, amount_received=intent.amount, next_action=None,
                         latest_charge=f"ch_{intent_id}")  # fmt: skip

    def settle(self, intent_id: str, *, ok: bool = True) -> Intent:
        """A bank debit clears (or fails, days later)."""
        intent = self.intents[intent_id]
        if ok:
            return self._set(intent_id, state=IntentState.SUCCEEDED, amount_received=intent.amount,
                             latest_charge=f"ch_{intent_id}")  # fmt: skip
        return self._set(intent_id, state=IntentState.REQUIRES_PAYMENT_METHOD, decline_code="insufficient_funds",
                         failure_message="The bank account has insufficient funds.")  # fmt: skip

    def decline(self, intent_id: str, code: str = "card_declined") -> Intent:
        return self._set(intent_id, state=IntentState.REQUIRES_PAYMENT_METHOD, decline_code=code,
                         failure_message="Your card was declined.")  # fmt: skip

    def require_action(self, intent_id: str) -> Intent:
        action = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        return self._set(intent_id, state=IntentState.REQUIRES_ACTION, next_action=action)

    def capture(self, intent_id: str, *, idempotency_key: str, amount: int | None = None) -> Intent:
        def make() -> Intent:
            intent = self.get_intent(intent_id)
            if intent.state is not IntentState.REQUIRES_CAPTURE:
                raise ProviderRefused(
                    f"This PaymentIntent's status is {intent.state}", code="payment_intent_unexpected_state"
                )
            take = intent.amount if amount is None else amount
            if take > intent.amount:
                raise ProviderRefused("amount_to_capture exceeds the authorised amount", code="amount_too_large")
            return self._set(
                intent_id, state=IntentState.SUCCEEDED, amount_received=take, latest_charge=f"ch_{intent_id}"
            )

        result: Intent = self._once(idempotency_key, "capture", (intent_id, amount), make)
        return result

    def cancel(self, intent_id: str, *, idempotency_key: str) -> Intent:
        def make() -> Intent:
            intent = self.get_intent(intent_id)
            if intent.state in (IntentState.SUCCEEDED, IntentState.CANCELED, IntentState.PROCESSING):
                raise ProviderRefused(
                    f"This PaymentIntent's status is {intent.state}", code="payment_intent_unexpected_state"
                )
            return self._set(intent_id, state=IntentState.CANCELED, cancellation_reason="requested_by_customer")

        result: Intent = self._once(idempotency_key, "cancel", (intent_id,), make)
        return result

    def refund(self, intent_id: str, amount: int, *, idempotency_key: str) -> Refund:
        def make() -> Refund:
            intent = self.get_intent(intent_id)
            if intent.state is not IntentState.SUCCEEDED:
                raise ProviderRefused("This PaymentIntent has no successful charge", code="charge_not_refundable")
            left = intent.amount_received - sum(r.amount for r in self.refunds[intent_id] if r.status != "failed")
            if amount > left:
                raise ProviderRefused("Refund amount is greater than what is left", code="amount_too_large")
            refund = Refund(id=f"re_fake{next(_ids)}", intent_id=intent_id, amount=amount, currency=intent.currency,
                            status="succeeded")  # fmt: skip
            self.refunds[intent_id].append(refund)
            return refund

        result: Refund = self._once(idempotency_key, "refund", (intent_id, amount), make)
        return result

    def list_refunds(self, intent_id: str) -> list[Refund]:
        return list(self.refunds.get(intent_id, []))

    def sign(self, event: ProviderEvent) -> str:
        """A signature header `verify_event` accepts for `event` (the test's stand-in for Stripe's signing)."""
        header = f"t={event.created},v1=fake{event.id}"
        self.events[header] = event
        return header

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent:
        try:
            return self.events[signature_header]
        except KeyError:
            raise InvalidSignature("No signatures found matching the expected signature for payload") from None


def _implements_the_port(fake: FakeProvider) -> None:
    """Never called: mypy checks the fake has every method of the port, with the same signatures."""
    _provider: PaymentProvider = fake
