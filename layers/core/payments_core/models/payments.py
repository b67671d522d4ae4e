"""Payments API models (`000_ac629dd7727d038e.txt`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from payments_core import evm, money
from payments_core.models.common import (
    AMOUNT_DESCRIPTION,
    TIMESTAMP_DESCRIPTION,
    ApiModel,
    Model,
    Money,
    PositiveMoney,
    RequestTimestamp,
    Timestamp,
    utcnow,
)

# Defined without pydantic (models.enums: the entities and the codec import them from there), re-exported here.
from payments_core.models.enums import PaymentGroup as PaymentGroup  # noqa: PLC0414 - an explicit re-export
from payments_core.models.enums import PaymentMethod as PaymentMethod  # noqa: PLC0414 - an explicit re-export
from payments_core.models.enums import PaymentStatus as PaymentStatus  # noqa: PLC0414 - an explicit re-export

# The bounds of a create body. A payment is one DynamoDB item (at most 400 KB): the largest valid body (every
# text at its longest, in 4-byte UTF-8 characters, and MAX_ITEMS items) is stored in about 250 KB, which
# leaves more than 100 KB for what the platform adds later (deal, deposit, confirmations, last event, ...).
# tests/integration/test_item_size.py builds that body and measures its item by DynamoDB's rules.
MAX_TEXT = 255
"""Characters of a short text field (external ids, names, member fields)."""
MAX_ITEMS = 100
MAX_METADATA = 8192
MAX_ADDRESS_TEXT = 1000
_BOUNDS = "characters (each counts, whatever its UTF-8 size)"

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _in_future(value: datetime) -> datetime:
    if value <= utcnow():
        raise ValueError("must be in the future")
    return value


ExpiresAt = Annotated[RequestTimestamp, AfterValidator(_in_future)]


def _count(low: int, high: int) -> Any:
    """An integer field's check before its type: a JSON integer too long for an int arrives as a Decimal
    (json_codec), refused here by its bound rather than as "not an integer"."""

    def check(value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            raise PydanticCustomError(
                "less_than_equal" if value > 0 else "greater_than_equal", f"must be between {low} and {high}"
            )
        return value

    return BeforeValidator(check)


_SHORT = f"At most {MAX_TEXT} {_BOUNDS}, surrounding spaces trimmed"


class Member(ApiModel):
    """Inline member (payer) data, as the Turkish card providers take it."""

    external_id: ShortText | None = Field(default=None, description=_SHORT)
    name: ShortText | None = Field(default=None, description=_SHORT)
    surname: ShortText | None = Field(default=None, description=_SHORT)
    email: Email | None = Field(default=None, description="At most 254 characters")
    phone_number: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None
    identity_number: ShortText | None = Field(default=None, description=_SHORT)
    address: Annotated[str, StringConstraints(max_length=MAX_ADDRESS_TEXT)] | None = Field(
        default=None, description=f"At most {MAX_ADDRESS_TEXT} {_BOUNDS}"
    )
    city: ShortText | None = Field(default=None, description=_SHORT)
    country: ShortText | None = Field(default=None, description=_SHORT)


class PaymentItem(ApiModel):
    name: ShortText = Field(description=_SHORT)
    price: PositiveMoney = Field(description=AMOUNT_DESCRIPTION)
    external_id: ShortText = Field(description=f"Unique within the payment. {_SHORT}")


EXAMPLE_IDS = {
    "node_id": "00000000-0000-4000-8000-00000000000a",
    "network_id": "00000000-0000-4000-8000-00000000000b",
    "currency_id": "00000000-0000-4000-8000-00000000000c",
}
"""The placeholder ids of the create example: put your node's, network's and currency's (the local stack's are
in `.dev/demo.json`: nodes.root, network_id, currency_id)."""

CREATE_EXAMPLE: dict[str, Any] = {
    "external_id": "order-1001",
    **EXAMPLE_IDS,
    "price": 100.5,
    "paid_price": 100.5,
    "payment_method": "web3",
    "payment_group": "product",
    "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "items": [{"name": "T-shirt", "price": 100.5, "external_id": "sku-1"}],
    "expires_at": "2099-12-31T23:59:59Z",
}


class CreatePaymentRequest(ApiModel):
    """A new payment. Every amount, text and list is bounded (see each field), so that a payment always fits
    in one stored item; a body beyond a bound is refused (422) naming the field."""

    # The spec's example (Swagger UI's "Try it out" body): valid as it is but for the ids (EXAMPLE_IDS).
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [CREATE_EXAMPLE]}
    )

    external_id: ShortText = Field(description=f"Unique per node. {_SHORT}")
    node_id: UUID
    chain_id: UUID | None = None
    network_id: UUID = Field(description="A web3 payment's network must have a diamond contract")
    wallet_id: UUID | None = Field(
        default=None, description="A wallet of the node or of a node above it; any other is answered as unknown"
    )
    member_id: UUID | None = Field(
        default=None, description="A member of the node or of a node above it; any other is answered as unknown"
    )
    member: Member | None = None
    currency_id: UUID = Field(description="A web3 payment's currency must have a token on the network")
    price: PositiveMoney = Field(
        description="Basket total; equals the sum of the items' prices (exactly) when items are given. "
        "At most the currency's maximum amount. " + AMOUNT_DESCRIPTION
    )
    paid_price: PositiveMoney = Field(
        description="What the payer is charged. At most the currency's maximum amount. " + AMOUNT_DESCRIPTION
    )
    payment_method: PaymentMethod
    payment_group: PaymentGroup
    payment_address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=MAX_TEXT)] = (
        Field(
            description="Where the payment goes. web3: the payee's EVM address (0x and 40 hex digits; mixed case "
            "must be its EIP-55 checksum; not the zero address). Others: 10 to "
            f"{MAX_TEXT} {_BOUNDS}"
        )
    )
    items: Annotated[list[PaymentItem], Field(min_length=1, max_length=MAX_ITEMS)] | None = Field(
        default=None, description=f"1 to {MAX_ITEMS} items, each external_id unique"
    )
    metadata: Annotated[str, StringConstraints(max_length=MAX_METADATA)] | None = Field(
        default=None, description=f"Free text (JSON text, say) of at most {MAX_METADATA} {_BOUNDS}"
    )
    expires_at: ExpiresAt = Field(description="In the future. " + TIMESTAMP_DESCRIPTION)
    retry: StrictBool = False
    retry_count: Annotated[StrictInt, Field(ge=0, le=1000), _count(0, 1000)] = 0  # _count runs first
    client_ip: Annotated[IPv4Address, BeforeValidator(_text)] | None = None

    # The cross-field rules are checked on the later of the two fields (pydantic validates fields in the
    # order above; `info.data` holds the earlier ones that passed), so each error names its field.
    @field_validator("member")
    @classmethod
    def _member_or_member_id(cls, member: Member | None, info: ValidationInfo) -> Member | None:
        if member is not None and info.data.get("member_id") is not None:
            raise PydanticCustomError("member_conflict", "give either member_id or member, not both")
        return member

    @field_validator("payment_address")
    @classmethod
    def _evm_address_for_web3(cls, address: str, info: ValidationInfo) -> str:
        if info.data.get("payment_method") is PaymentMethod.WEB3:
            problem = evm.address_problem(address)
            if problem is not None:
                raise PydanticCustomError(*problem)
        return address

    @field_validator("items")
    @classmethod
    def _items_match_price(cls, items: list[PaymentItem] | None, info: ValidationInfo) -> list[PaymentItem] | None:
        if not items:
            return items
        ids = [item.external_id for item in items]
        if len(set(ids)) != len(ids):
            raise PydanticCustomError(
                "duplicate_item_external_id", "each item's external_id must be unique within the payment"
            )
        price = info.data.get("price")  # absent when the price itself was refused: that error is enough
        total = money.total(item.price for item in items)
        if price is not None and total != price:
            raise PydanticCustomError(
                "items_total_mismatch",
                "the items' prices add up to {total}, not to price {price}",
                {"total": str(total), "price": str(price)},
            )
        return items


class ConfirmationStatus(Model):
    """How far a web3 deposit is from final (NoRamp's `confirmation_status`), kept by the chain watcher."""

    required_confirmations: int = Field(description="The network's required confirmations")
    confirmations: int = Field(
        description="Blocks from the deposit's block to the head, both included; capped at required_confirmations"
    )
    average_seconds: int = Field(
        description="Estimated seconds until confirmed: the blocks still missing times the network's average "
        "block time (measured over its recent blocks); 0 once confirmed"
    )
    progress: int = Field(ge=0, le=100, description="confirmations / required_confirmations, in percent (0-100)")
    confirmed: bool


class ChainFailureReason(Model):
    """Why a web3 payment's chain work ended without success (docs/api.md lists the codes)."""

    code: str = Field(
        description="Machine-readable: payee_refused, token_refused, no_signing_key, retries_exhausted, ... "
        "(docs/api.md lists them all)"
    )
    message: str = Field(description="What happened, for a person")


class PaymentResponse(Model):
    id: UUID
    external_id: str
    node_id: UUID
    chain_id: UUID | None = None
    network_id: UUID
    wallet_id: UUID | None = None
    member_id: UUID | None = None
    member: Member | None = None
    currency_id: UUID
    price: Money
    paid_price: Money
    payment_method: PaymentMethod
    payment_group: PaymentGroup
    payment_address: str
    items: list[PaymentItem] | None = None
    metadata: str | None = None
    expires_at: Timestamp
    retry: bool
    retry_count: int
    client_ip: IPv4Address | None = None
    status: PaymentStatus
    access_token: str = Field(description="Bearer token for the payment widget: bound to this payment only")
    transaction_hash: str | None = Field(
        default=None, description="web3: the payer's deposit transaction, once seen on chain (null again after a reorg)"
    )
    payer: str | None = Field(default=None, description="web3: the address that deposited")
    block_number: int | None = Field(default=None, description="web3: the block of the deposit")
    confirmation_status: ConfirmationStatus | None = Field(
        default=None, description="web3: the deposit's confirmations, from the moment it is seen"
    )
    deal_id: int | None = None
    deal_transaction_hash: str | None = Field(
        default=None, description="web3: the createDeal transaction of the payment's deal"
    )
    send_failed_reason: ChainFailureReason | None = Field(
        default=None,
        description="web3, `send-failed`: why the deal was not created (retry-send clears it once the cause is fixed)",
    )
    cancel_failed_reason: ChainFailureReason | None = Field(
        default=None,
        description="web3, `cancelling`: why cancelDeal cannot succeed; the payment stays `cancelling` and a "
        "new cancel request tries again",
    )
    created_at: Timestamp
    updated_at: Timestamp


class PaymentList(Model):
    items: list[PaymentResponse]
    page: int
    per_page: int
    total: int = Field(description="Exact number of payments matching the filters")


class CancelRequest(ApiModel):
    """Cancel takes no parameters: no body or `{}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [{}]})


class CancelAccepted(Model):
    status: Literal["accepted"] = "accepted"


class EventType(StrEnum):
    CREATED = "created"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    RETRY_SENT = "retry_sent"
    DEAL_SENDING = "deal_sending"
    DEAL_CREATED = "deal_created"
    DEAL_VERIFIED = "deal_verified"
    DEAL_REORGED = "deal_reorged"
    SEND_FAILED = "send_failed"
    CANCEL_FAILED = "cancel_failed"
    DEPOSIT_SEEN = "deposit_seen"
    CONFIRMED = "confirmed"
    REORGED = "reorged"
    EXPIRED = "expired"
    STATUS_CHANGED = "status_changed"


class PaymentLog(Model):
    id: str = Field(description="Stable id of the entry (from the change that produced it)")
    payment_id: UUID
    event_type: str = Field(description="One of the event types in the README (created, cancel_requested, ...)")
    message: str
    actor_type: str = Field(description="integration, system, chain or payer")
    actor_id: str | None = None
    status_before: PaymentStatus | None = None
    status_after: PaymentStatus
    created_at: Timestamp


class PaymentLogList(Model):
    items: list[PaymentLog]
    page: int
    per_page: int
    total: int


class WidgetCall(Model):
    """One contract call, as a wallet library takes it (ethers/viem/web3: address, abi, name, args).
    uint256 arguments are JSON integers (exact; parse them as big integers in JavaScript)."""

    address: str
    abi: list[dict[str, Any]]
    function_name: str
    arguments: list[Any]


class WidgetPayment(Model):
    """What the payment widget needs to pay: approve the token for the diamond, then `deposit(deal_id)`."""

    id: UUID
    status: PaymentStatus
    external_id: str
    node_id: UUID
    network_id: int = Field(description="The EVM chain id of the payment's network")
    deal_id: int | None = Field(description="The on-chain deal id; null until the deal exists (poll: 202)")
    price: Money = Field(description="What the payer pays (the payment's paid_price), in token units")
    price_decimals: int = Field(description="The token's decimals")
    amount_units: str = Field(description="price in the token's smallest unit (what approve needs)")
    payment_address: str
    diamond_address: str
    currency: str = Field(description="The token's symbol")
    token_address: str
    expires_at: Timestamp
    approve: WidgetCall | None = Field(description="The token approval to send first; null until the deal exists")
    contract: WidgetCall | None = Field(description="The deposit call; null until the deal exists")
