"""A payment's enumerations, without pydantic: the domain's entities and the stores' codec import them from
here, so that a function that reads the catalog but answers no payment (the token endpoint) does not load the
payment API models (models.payments, which re-exports them: ~7 ms of model definitions at a cold start;
docs/decisions/0044-token-endpoint-cold-start.md)."""

from __future__ import annotations

from enum import StrEnum


class PaymentMethod(StrEnum):
    WEB3 = "web3"
    CREDIT_CARD = "credit_card"
    BANK_TRANSFER = "bank_transfer"


class PaymentGroup(StrEnum):
    PRODUCT = "product"
    LISTING_OR_SUBSCRIPTION = "listing_or_subscription"


class PaymentStatus(StrEnum):
    """See payments_core/domain/status.py for what each means and who moves it where."""

    PENDING = "pending"
    SENDING = "sending"
    SEND_FAILED = "send-failed"
    OPEN = "open"
    HOLD = "hold"
    PAID = "paid"
    CONFIRMED = "confirmed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    FAILED = "failed"
    FAILED_CAPTURED = "failed-captured"
    FAILED_TRANSFERS = "failed-transfers"


class NoRampStatus(StrEnum):
    """NoRamp's eight payment statuses (the app API's `status`); domain/status.py maps the platform's onto them."""

    PENDING = "pending"
    HOLD = "hold"
    PAID = "paid"
    FAILED = "failed"
    FAILED_CAPTURED = "failed-captured"
    FAILED_TRANSFERS = "failed-transfers"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class ProviderMethod(StrEnum):
    """How a NoRamp checkout is paid (Stripe payment-method types)."""

    CARD = "card"
    US_BANK_ACCOUNT = "us_bank_account"
