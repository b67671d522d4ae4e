"""Stripe behind the `PaymentProvider` port, with the official SDK's `StripeClient`.

    provider = StripeProvider(StripeSettings(secret_key=..., publishable_key=..., webhook_secret=..., api_base=None))

- every mutating call carries the caller's idempotency key (`Idempotency-Key`), so the SDK's network retries
  (`max_network_retries`: 2 against Stripe; 0 against localstripe, which ignores the key) never repeat a charge;
- Stripe's objects are read as plain dicts, defensively: localstripe embeds `latest_charge` as an object and has
  no `amount_received`/`amount_captured` (derived here from the status and the charge);
- Stripe's errors become the port's: `ProviderUnavailable` (connection, rate limit, 5xx), `IdempotencyConflict`,
  `ProviderRefused` (any other 4xx, with Stripe's `decline_code` or else its `code`);
- `verify_event` checks the signature on the raw body (`stripe.Webhook.construct_event`, 300 s tolerance).

The SDK is imported on first use (nothing at import time beyond imports and constants); no boto3 here: the
secret's JSON is handed in by the caller (`settings_from_secret`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from payments_core.domain.provider import (
    IdempotencyConflict,
    Intent,
    IntentState,
    InvalidSignature,
    ProviderEvent,
    ProviderRefused,
    ProviderUnavailable,
    Refund,
)

if TYPE_CHECKING:
    from stripe import StripeClient

    from payments_core.models.enums import ProviderMethod

SIGNATURE_TOLERANCE_S = 300
PROD_NETWORK_RETRIES = 2
_T = TypeVar("_T")


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    publishable_key: str
    webhook_secret: str
    api_base: str | None = None  # None: Stripe's own; localstripe: http://127.0.0.1:PORT
    max_network_retries: int | None = None  # None: 2 against Stripe, 0 against another api_base

    @property
    def network_retries(self) -> int:
        if self.max_network_retries is not None:
            return self.max_network_retries
        return PROD_NETWORK_RETRIES if self.api_base is None else 0


def settings_from_secret(secret: Mapping[str, Any]) -> StripeSettings:
    """The settings from the Stripe secret's JSON (Secrets Manager: `secret_key`, `publishable_key`,
    `webhook_secret`, optional `api_base` and `max_network_retries`). KeyError names a missing field."""
    retries = secret.get("max_network_retries")
    return StripeSettings(
        secret_key=str(secret["secret_key"]),
        publishable_key=str(secret["publishable_key"]),
        webhook_secret=str(secret["webhook_secret"]),
        api_base=str(secret["api_base"]) if secret.get("api_base") else None,
        max_network_retries=int(retries) if retries is not None else None,
    )


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return cast(dict[str, Any], obj.to_dict())


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, or (localstripe, or expanded) the object itself."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return None


def _amount_received(data: Mapping[str, Any], state: IntentState) -> int:
    received = data.get("amount_received")
    if isinstance(received, int):
        return received
    if state is not IntentState.SUCCEEDED:
        return 0
    charge = data.get("latest_charge")
    if not isinstance(charge, Mapping):
        return int(data.get("amount", 0))
    captured = charge.get("amount_captured")
    if isinstance(captured, int):
        return captured
    # localstripe: a partial capture records the uncaptured rest as a refund without a payment_intent.
    refunds = charge.get("refunds")
    rows = refunds.get("data", []) if isinstance(refunds, Mapping) else []
    released = sum(int(row.get("amount", 0)) for row in rows if not row.get("payment_intent"))
    return int(charge.get("amount", data.get("amount", 0))) - released


def intent_from(obj: Any) -> Intent:
    """A Stripe PaymentIntent (SDK object or dict) as the port's `Intent`."""
    data = _plain(obj)
    state = IntentState(str(data["status"]))
    error = data.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    next_action = data.get("next_action")
    metadata = data.get("metadata")
    return Intent(
        id=str(data["id"]),
        state=state,
        amount=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        amount_received=_amount_received(data, state),
        client_secret=data.get("client_secret"),
        next_action=dict(next_action) if isinstance(next_action, Mapping) else None,
        decline_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
        cancellation_reason=data.get("cancellation_reason"),
        latest_charge=_id_of(data.get("latest_charge")),
        created=int(data.get("created") or 0),
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, Mapping) else {},
    )


def refund_from(obj: Any, intent_id: str | None = None) -> Refund:
    data = _plain(obj)
    return Refund(
        id=str(data["id"]),
        intent_id=_id_of(data.get("payment_intent")) or intent_id or "",
        amount=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        status=str(data.get("status") or "pending"),
        created=int(data.get("created") or 0),
    )


def _provider_error(error: Exception) -> Exception:
    import stripe

    if not isinstance(error, stripe.StripeError):
        return error
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return ProviderUnavailable(str(error))
    status = error.http_status
    if status is None or status >= 500 or status == 429:
        return ProviderUnavailable(str(error))
    if isinstance(error, stripe.IdempotencyError):
        return IdempotencyConflict(str(error), error.code)
    details = error.error
    decline_code = getattr(details, "decline_code", None) if details is not None else None
    return ProviderRefused(str(error), decline_code or error.code)


class StripeProvider:
    """The `PaymentProvider` port on Stripe's PaymentIntents."""

    def __init__(self, settings: StripeSettings, client: StripeClient | None = None) -> None:
        self._settings = settings
        self._client = client

    @property
    def publishable_key(self) -> str:
        return self._settings.publishable_key

    @property
    def client(self) -> StripeClient:
        if self._client is None:
            import stripe

            base = {"api": self._settings.api_base} if self._settings.api_base else None
            self._client = stripe.StripeClient(
                self._settings.secret_key,
                base_addresses=cast(Any, base),
                max_network_retries=self._settings.network_retries,
            )
        return self._client

    def _call(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except Exception as error:
            mapped = _provider_error(error)
            if mapped is error:
                raise
            raise mapped from error

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
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method_types": [str(method)],
            "capture_method": "manual" if manual_capture else "automatic",
            "metadata": dict(metadata),
        }
        if destination is not None:
            params["transfer_data"] = {"destination": destination}
        if application_fee is not None:
            params["application_fee_amount"] = application_fee
        created = self._call(
            lambda: self.client.v1.payment_intents.create(
                params=cast(Any, params), options={"idempotency_key": idempotency_key}
            )
        )
        return intent_from(created)

    def get_intent(self, intent_id: str) -> Intent:
        return intent_from(self._call(lambda: self.client.v1.payment_intents.retrieve(intent_id)))

    def capture(self, intent_id: str, *, idempotency_key: str, amount: int | None = None) -> Intent:
        params: dict[str, Any] = {} if amount is None else {"amount_to_capture": amount}
        captured = self._call(
            lambda: self.client.v1.payment_intents.capture(
                intent_id, params=cast(Any, params), options={"idempotency_key": idempotency_key}
            )
        )
        return intent_from(captured)

    def cancel(self, intent_id: str, *, idempotency_key: str) -> Intent:
        canceled = self._call(
            lambda: self.client.v1.payment_intents.cancel(intent_id, options={"idempotency_key": idempotency_key})
        )
        return intent_from(canceled)

    def refund(self, intent_id: str, amount: int, *, idempotency_key: str) -> Refund:
        created = self._call(
            lambda: self.client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        )
        return refund_from(created, intent_id)

    def list_refunds(self, intent_id: str) -> list[Refund]:
        listed = self._call(lambda: self.client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100}))
        rows = _plain(listed).get("data", [])
        # Only the intent's own refunds (localstripe also lists a partial capture's release, without one).
        return [refund_from(row) for row in rows if _id_of(row.get("payment_intent")) == intent_id]

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent:
        import stripe

        try:
            stripe.Webhook.construct_event(
                payload, signature_header, self._settings.webhook_secret, tolerance=SIGNATURE_TOLERANCE_S
            )
            data = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidSignature(str(error)) from error
        if not isinstance(data, dict):
            raise InvalidSignature("the event is not a JSON object")
        obj = data.get("data", {}).get("object", {}) if isinstance(data.get("data"), dict) else {}
        obj = obj if isinstance(obj, dict) else {}
        object_id = str(obj.get("id") or "")
        if obj.get("object") == "payment_intent":
            intent_id: str | None = object_id or None
        else:
            intent_id = _id_of(obj.get("payment_intent"))
        return ProviderEvent(
            id=str(data.get("id") or ""),
            type=str(data.get("type") or ""),
            created=int(data.get("created") or 0),
            intent_id=intent_id,
            object_id=object_id,
        )
