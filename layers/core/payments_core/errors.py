"""Domain errors and the one error shape every 4xx and 5xx answer uses.

    {"error": {"code": "payment_not_found", "message": "...",
               "details": [{"field": "...", "code": "...", "message": "..."}]}}

`code` is stable and machine-readable; `message` is for humans and may change; `details` names each
offending field (dotted path into the request, e.g. `body.items.0.price` or `query.per_page`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        err.update(self.extra)
        return {"error": err}


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_error"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status_code = 429
    code = "throttled"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


def field_error(field: str, code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


class ErrorCode(StrEnum):
    """Every `error.code` the platform answers (the functions and API Gateway's own answers). docs/api.md's
    error table is generated from ERROR_CODE_DOCS, and a test fails when a code is answered that is not here."""

    UNAUTHORIZED = "unauthorized"
    INVALID_CLIENT = "invalid_client"
    NODE_ACCESS_DENIED = "node_access_denied"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYMENT_NOT_FOUND = "payment_not_found"
    NODE_NOT_FOUND = "node_not_found"
    CHAIN_NOT_FOUND = "chain_not_found"
    NETWORK_NOT_FOUND = "network_not_found"
    CURRENCY_NOT_FOUND = "currency_not_found"
    WALLET_NOT_FOUND = "wallet_not_found"
    MEMBER_NOT_FOUND = "member_not_found"
    INTEGRATION_NOT_FOUND = "integration_not_found"
    ROTATION_TOO_SOON = "rotation_too_soon"
    BAD_REQUEST = "bad_request"
    PAYMENT_NOT_WEB3 = "payment_not_web3"
    PAYMENT_HAS_DEAL = "payment_has_deal"
    PAYMENT_CANCELLED = "payment_cancelled"
    PAYMENT_EXPIRED = "payment_expired"
    PAYMENT_PAID = "payment_paid"
    PAYMENT_NOT_RETRYABLE = "payment_not_retryable"
    CONFLICT = "conflict"
    PAYMENT_ALREADY_EXISTS = "payment_already_exists"
    PAYMENT_ALREADY_REFUNDED = "payment_already_refunded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_NOT_CANCELLABLE = "payment_not_cancellable"
    ILLEGAL_STATUS_TRANSITION = "illegal_status_transition"
    CONCURRENT_UPDATE = "concurrent_update"
    REQUEST_TOO_LARGE = "request_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    VALIDATION_ERROR = "validation_error"
    WALLET_NOT_ON_NETWORK = "wallet_not_on_network"
    THROTTLED = "throttled"
    REQUEST_REFUSED = "request_refused"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    SIGNING_KEY_UNAVAILABLE = "signing_key_unavailable"
    CREATE_CONTENDED = "create_contended"
    STORAGE_BUSY = "storage_busy"
    # NoRamp's app API (issue 12)
    APP_NOT_FOUND = "app_not_found"
    APP_KEY_NOT_FOUND = "app_key_not_found"
    APP_NOT_ACTIVE = "app_not_active"
    PRICE_NOT_FOUND = "price_not_found"
    PRICE_EXPIRED = "price_expired"
    TRIGGER_NOT_FOUND = "trigger_not_found"
    TRIGGER_IN_USE = "trigger_in_use"
    CHECKOUT_RATE_LIMITED = "checkout_rate_limited"
    FEE_SETTINGS_MISSING = "fee_settings_missing"
    EXCHANGE_RATE_UNAVAILABLE = "exchange_rate_unavailable"
    # Cards and bank payments (issue 13)
    CURRENCY_NOT_CARD_PAYABLE = "currency_not_card_payable"
    PAYMENT_NOT_CARD = "payment_not_card"
    PAYMENT_NOT_HELD = "payment_not_held"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    REFUND_EXCEEDS_REMAINING = "refund_exceeds_remaining"


# (HTTP status, when it is answered): the documentation of each code (docs/api.md is generated from it).
ERROR_CODE_DOCS: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.UNAUTHORIZED: (
        "401",
        "missing, malformed, expired or wrongly signed token, `alg: none`, wrong audience; a widget token on "
        "the integrator API; an invalid or expired widget `access_token`",
    ),
    ErrorCode.INVALID_CLIENT: ("401", "wrong client id or secret, or a disabled integration, at `/auth/token`"),
    ErrorCode.NODE_ACCESS_DENIED: ("403", "the integration's node does not reach the node or the payment's node"),
    ErrorCode.FORBIDDEN: ("403", "generic refusal (not answered by any route today)"),
    ErrorCode.NOT_FOUND: ("404", "generic not found (not answered by any route today)"),
    ErrorCode.ROUTE_NOT_FOUND: ("404", "no such route"),
    ErrorCode.METHOD_NOT_ALLOWED: ("405", "a method the route does not have; `Allow` names the ones it has"),
    ErrorCode.PAYMENT_NOT_FOUND: ("404", "no payment with this id (or not a payment the widget pays)"),
    ErrorCode.NODE_NOT_FOUND: ("404", "the `node_id` names no node"),
    ErrorCode.CHAIN_NOT_FOUND: ("404", "the `chain_id` names no chain"),
    ErrorCode.NETWORK_NOT_FOUND: ("404", "the `network_id` names no network"),
    ErrorCode.CURRENCY_NOT_FOUND: ("404", "the `currency_id` names no currency"),
    ErrorCode.WALLET_NOT_FOUND: (
        "404",
        "the `wallet_id` names no wallet, or one of another branch of the node tree (indistinguishable)",
    ),
    ErrorCode.MEMBER_NOT_FOUND: (
        "404",
        "the `member_id` names no member, or one of another branch of the node tree (indistinguishable)",
    ),
    ErrorCode.INTEGRATION_NOT_FOUND: ("404", "operator CLI: no integration with this id"),
    ErrorCode.ROTATION_TOO_SOON: (
        "409",
        "operator CLI: `keys rotate` while the current signing key is younger than the 60 s signing grace",
    ),
    ErrorCode.BAD_REQUEST: ("400", "generic bad request (not answered by any route today)"),
    ErrorCode.PAYMENT_NOT_WEB3: ("400", "retry-send of a payment that is not web3"),
    ErrorCode.PAYMENT_HAS_DEAL: ("400", "retry-send of a payment whose deal exists or is being created"),
    ErrorCode.PAYMENT_CANCELLED: ("400", "retry-send of a cancelled or cancelling payment"),
    ErrorCode.PAYMENT_EXPIRED: ("400 / 409", "retry-send (400) or cancel (409) of an expired payment"),
    ErrorCode.PAYMENT_PAID: ("400", "retry-send of a paid, confirmed or refunded payment"),
    ErrorCode.PAYMENT_NOT_RETRYABLE: ("400", "retry-send of a payment in any other status that cannot be re-sent"),
    ErrorCode.CONFLICT: ("409", "generic conflict (not answered by any route today)"),
    ErrorCode.PAYMENT_ALREADY_EXISTS: (
        "409",
        "the (node_id, external_id) pair exists; `payment_id` is the existing payment",
    ),
    ErrorCode.PAYMENT_ALREADY_REFUNDED: ("409", "cancel of a refunded payment"),
    ErrorCode.PAYMENT_FAILED: ("409", "cancel of a failed payment"),
    ErrorCode.PAYMENT_NOT_CANCELLABLE: ("409", "cancel of a payment that cannot be cancelled in its status"),
    ErrorCode.ILLEGAL_STATUS_TRANSITION: ("409", "a move the status machine forbids"),
    ErrorCode.CONCURRENT_UPDATE: ("409", "the payment kept changing while the request decided; try again"),
    ErrorCode.REQUEST_TOO_LARGE: (
        "413",
        "a body over API Gateway's 10 MB (answered by API Gateway); deployed, Lambda also refuses an event over "
        "its 6 MB invocation limit before the function runs, which API Gateway answers as a 5xx `internal_error`",
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: ("415", "a body that is not `application/json`"),
    ErrorCode.VALIDATION_ERROR: (
        "422",
        "a bad field; each one in `details` with its own code (types, enums, `json_invalid` for a body that is "
        "not JSON or nests too deeply, `too_many_decimals`, `too_many_digits`, `amount_too_large`, "
        "`decimal_parsing`, `datetime_out_of_range`, `invalid_address`, `address_checksum_mismatch`, "
        "`zero_address`, `items_total_mismatch`, `duplicate_item_external_id`, `member_conflict`, "
        "`currency_not_on_network`, `network_has_no_diamond`, `network_not_on_chain`, `wallet_not_on_network`, "
        "`no_signing_wallet`, "
        "...; the bounds: docs/api.md)",
    ),
    ErrorCode.WALLET_NOT_ON_NETWORK: ("422", "operator CLI: the platform wallet is on another network"),
    ErrorCode.THROTTLED: ("429", "over the stage's rate; retry with backoff (answered by API Gateway)"),
    ErrorCode.REQUEST_REFUSED: ("4xx", "any other refusal by API Gateway itself; `message` is API Gateway's"),
    ErrorCode.INTERNAL_ERROR: (
        "500",
        "a bug; the log line (correlation id) names the error's type and where it was raised",
    ),
    ErrorCode.SERVICE_UNAVAILABLE: ("503", "generic unavailability (not answered by any route today)"),
    ErrorCode.SIGNING_KEY_UNAVAILABLE: ("503", "no signing key yet (a stack before its first rotation)"),
    ErrorCode.CREATE_CONTENDED: (
        "503",
        "other creates of the same node kept taking the next list position for 8 s; try again",
    ),
    ErrorCode.STORAGE_BUSY: ("503", "DynamoDB kept throttling a batch read; try again"),
    ErrorCode.APP_NOT_FOUND: (
        "404",
        "no app with this id, a deleted one, or one the caller does not reach (another app's key, an integration "
        "whose node does not reach the app's node: indistinguishable)",
    ),
    ErrorCode.APP_KEY_NOT_FOUND: ("404", "no API key with this id for this app"),
    ErrorCode.APP_NOT_ACTIVE: ("409", "checkout of a price whose app is disabled or deleted"),
    ErrorCode.PRICE_NOT_FOUND: ("404", "no price with this id in this app, or a deleted one"),
    ErrorCode.PRICE_EXPIRED: ("409", "checkout of an expired price (a dynamic price already paid once)"),
    ErrorCode.TRIGGER_NOT_FOUND: (
        "404 / 409",
        "no trigger with this id in this app (a price naming one is a 422 with this code in `details`); 409 at "
        "checkout: the price's trigger was deleted",
    ),
    ErrorCode.TRIGGER_IN_USE: ("409", "delete of a trigger a live price still uses"),
    ErrorCode.CHECKOUT_RATE_LIMITED: (
        "429",
        "too many checkouts of this price, or from this address, in the current minute; retry after `Retry-After`",
    ),
    ErrorCode.FEE_SETTINGS_MISSING: (
        "503",
        "the platform has no fee settings, or no provider fixed fee for the price's currency (docs/fees.md)",
    ),
    ErrorCode.EXCHANGE_RATE_UNAVAILABLE: (
        "503",
        "no exchange rate for the conversion's pair, or only one older than `ExchangeRateMaxAgeSeconds`; the "
        "message names the pair and the rate's age (docs/fees.md)",
    ),
    ErrorCode.CURRENCY_NOT_CARD_PAYABLE: (
        "422",
        "a card or bank payment whose currency is not an ISO 4217 code with minor units (the provider charges "
        "fiat only), or whose amount has more decimals than the currency",
    ),
    ErrorCode.PAYMENT_NOT_CARD: ("400", "a card or bank operation (capture, void, refund) of a web3 payment"),
    ErrorCode.PAYMENT_NOT_HELD: ("409", "capture or void of a card payment that is not authorised and held"),
    ErrorCode.PAYMENT_NOT_REFUNDABLE: ("409", "a refund of a card payment that was not captured (or is refunded)"),
    ErrorCode.REFUND_EXCEEDS_REMAINING: (
        "409",
        "a refund larger than what is left of the captured amount (`remaining` says how much is left)",
    ),
}
