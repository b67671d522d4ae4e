"""NoRamp's prices (`/prices/{app_id}`): what a checkout charges, in which currency, and which trigger it runs.

The answer is the seed's `price` object (`004_af29f1cb335c66ee.txt`), with two more fields the seed's object
lacks and a price has (`currency_conversion`, `trigger_data`), never required.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from payments_core import currencies, money
from payments_core.domain import params
from payments_core.models.common import AMOUNT_DESCRIPTION, ApiModel, Model, Money, Timestamp

MAX_NAME = 256
MAX_METADATA = 8192
MIN_AMOUNT = Decimal(5)
"""NoRamp's minimum: 5 units of the price's currency."""

PRICE_ID_PATTERN = r"^price_[0-9a-f]{32}$"
KYC_ID_PATTERN = r"^kyc_[A-Za-z0-9]{1,64}$"
TRIGGER_ID_PATTERN = r"^tri_[0-9a-f]{32}$"


class PriceType(StrEnum):
    STATIC = "static"  # reusable
    DYNAMIC = "dynamic"  # single use: one payment, then expired


class NetworkType(StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"


class PriceCategory(StrEnum):
    PAYMENT = "payment"
    BID = "bid"
    AUCTION = "auction"


def _currency(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be a lowercase ISO 4217 code such as usd")
    if not currencies.is_currency(value):
        hint = " (lowercase: NoRamp's codes are)" if currencies.is_currency(value.lower()) else ""
        raise PydanticCustomError(
            "invalid_currency",
            "must be a lowercase ISO 4217 code with minor units, such as usd, eur, jpy{hint}",
            {"hint": hint},
        )
    return value


CurrencyCode = Annotated[
    str,
    BeforeValidator(_currency),
    Field(json_schema_extra={"pattern": "^[a-z]{3}$", "examples": ["usd"]}),
]


def _metadata(value: Any) -> Any:
    problem = params.json_object_problem(value, MAX_METADATA)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return value


Metadata = Annotated[dict[str, Any], BeforeValidator(_metadata)]


class TriggerData(ApiModel):
    """The values the price fixes for its trigger's parameters (checkout supplies the rest)."""

    params_data: dict[str, Any] = Field(
        default_factory=dict, description="Parameter name -> value, checked against the trigger's `params_data`"
    )


PRICE_EXAMPLE: dict[str, Any] = {
    "name": "Concert ticket",
    "amount": 50,
    "currency": "usd",
    "type": "static",
    "metadata": {"sku": "ticket-a"},
}


class CreatePriceRequest(ApiModel):
    """A new price. Field order matters: `amount` is checked against `currency` (given before it here)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [PRICE_EXAMPLE]}
    )

    type: PriceType = Field(default=PriceType.STATIC, description="static: reusable; dynamic: one payment only")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)] = Field(
        description=f"At most {MAX_NAME} characters"
    )
    currency: CurrencyCode = Field(default="usd", description="Lowercase ISO 4217 code (default usd)")
    amount: Money = Field(
        description=f"At least {MIN_AMOUNT} units of the currency, with at most the currency's decimals (0 for jpy, "
        "2 for usd, 3 for kwd; never rounded). " + AMOUNT_DESCRIPTION
    )
    currency_conversion: CurrencyCode | None = Field(
        default=None, description="The seller's currency, when it differs from `currency` (lowercase ISO 4217)"
    )
    trigger_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="A trigger of this app (`tri_`), run after payment"
    )
    trigger_data: TriggerData | None = Field(
        default=None, description="Values of the trigger's parameters this price fixes (needs `trigger_id`)"
    )
    kyc_id: Annotated[str, StringConstraints(pattern=KYC_ID_PATTERN)] | None = Field(
        default=None,
        description="The seller's KYC (`kyc_`): required for a marketplace app, refused for an individual one",
    )
    metadata: Metadata | None = Field(default=None, description=f"A JSON object, at most {MAX_METADATA} characters")
    network_type: NetworkType = NetworkType.TESTNET
    category: PriceCategory = PriceCategory.PAYMENT

    @field_validator("amount")
    @classmethod
    def _amount_in_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        if amount < MIN_AMOUNT:
            raise PydanticCustomError("amount_too_small", f"must be at least {MIN_AMOUNT}")
        code = info.data.get("currency")
        if code is None:  # the currency was refused: that error is enough
            return amount
        decimals = currencies.minor_units(code)
        if not money.check_scale(amount, decimals):
            raise PydanticCustomError(
                "too_many_decimals",
                "{currency} has {decimals} decimals; amounts are never rounded",
                {"currency": code, "decimals": decimals},
            )
        if amount > money.default_max_amount(decimals):
            raise PydanticCustomError("amount_too_large", "beyond the largest amount of the currency")
        return amount

    @field_validator("currency_conversion")
    @classmethod
    def _another_currency(cls, target: str | None, info: ValidationInfo) -> str | None:
        if target is not None and target == info.data.get("currency"):
            raise PydanticCustomError("same_currency", "must differ from `currency` (or be left out)")
        return target


class PriceTriggerData(Model):
    params_data: dict[str, Any]


class PriceResponse(Model):
    """The seed's `price` object (and `currency_conversion`, `trigger_data`)."""

    id: str = Field(description="`price_` and 32 hex digits")
    type: PriceType
    kyc_id: str | None = None
    trigger_id: str | None = None
    currency: str
    amount: Money
    metadata: dict[str, Any] | None = None
    name: str
    expired: bool = Field(description="A dynamic price after its one payment; an expired price cannot be checked out")
    views: int = Field(description="How often the price was opened at checkout")
    network_type: NetworkType
    created_at: Timestamp
    updated_at: Timestamp
    contract: str | None = Field(default=None, description="The trigger's contract (EVM address, NEAR contract id ...)")
    chain: str | None = Field(default=None, description="The chain of the trigger's call: evm, near, wax or solana")
    category: PriceCategory
    currency_conversion: str | None = None
    trigger_data: PriceTriggerData | None = None


class PriceList(Model):
    items: list[PriceResponse]
    page: int
    per_page: int
    total: int = Field(description="Exact number of the app's prices (deleted ones left out)")


class PriceDeleted(Model):
    id: str
    deleted: bool = True
