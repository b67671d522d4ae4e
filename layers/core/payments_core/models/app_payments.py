"""NoRamp's app-scoped payment (`GET /payments/{app_id}/{payment_id}`, the seed 004) and its checkout.

The answer's keys, nesting and enums are the seed's exactly (tests/unit/test_noramp_contract.py checks the
OpenAPI schema against the seed's example); amounts are JSON numbers written from their Decimal text.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from payments_core.models.apps import AppResponse
from payments_core.models.common import ApiModel, Model, Money, Timestamp
from payments_core.models.enums import NoRampStatus, ProviderMethod
from payments_core.models.prices import PriceResponse


class ParamsDataInput(ApiModel):
    params_data_input: dict[str, Any] = Field(
        default_factory=dict,
        description="Values of the trigger's `params_data` parameters the price does not fix (by name)",
    )


CHECKOUT_EXAMPLE: dict[str, Any] = {"payment_provider": "card", "trigger_data_input": {"params_data_input": {}}}


class CheckoutRequest(ApiModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [CHECKOUT_EXAMPLE]}
    )

    payment_provider: ProviderMethod = Field(description="How the payer pays: `card` or `us_bank_account`")
    trigger_data_input: ParamsDataInput = Field(
        default_factory=ParamsDataInput,
        description="The payer's values for the trigger's parameters (validated against its `params_data`)",
    )


class TriggerDataInput(Model):
    params_data_input: dict[str, Any] = Field(
        description="Every parameter value the trigger runs with: the price's `trigger_data` and the payer's"
    )


class ConversionView(Model):
    """The amounts in the seller's currency (`price.currency_conversion`), at the rate frozen at checkout."""

    currency: str
    exchange: Money = Field(description="Units of `currency` per unit of the price's currency, at checkout")
    converted_amount: Money
    converted_amount_net: Money
    amount: Money
    amount_total: Money
    amount_transaction_fee: Money
    amount_app_transaction_fee: Money
    amount_platform: Money
    amount_seller: Money
    amount_app: Money


class PriceItemView(Model):
    """The fee breakdown, computed once at checkout (docs/fees.md gives each field's meaning)."""

    currency: str
    provider_min_amount_fee: Money
    provider_processing_fee_percent: Money
    platform_fee: Money
    app_fee: Money
    app_type: str = Field(
        description="`individual` or `marketplace`", json_schema_extra={"enum": ["individual", "marketplace"]}
    )
    amount: Money
    amount_total: Money
    amount_transaction_fee: Money
    amount_app_transaction_fee: Money
    amount_platform: Money
    amount_seller: Money
    amount_app: Money
    conversion: ConversionView | None = None
    processing_fee_amount: Money


class ChainOutput(Model):
    output: dict[str, Any] = Field(default_factory=dict)


class TransactionResponse(Model):
    """The trigger's outcome per chain, once it ran (null before)."""

    error: dict[str, Any] = Field(default_factory=dict, description="Why it failed (`code`, `message`), else empty")
    near: ChainOutput = Field(default_factory=ChainOutput)
    evm: ChainOutput = Field(default_factory=ChainOutput)
    wax: ChainOutput = Field(default_factory=ChainOutput)
    solana: ChainOutput = Field(default_factory=ChainOutput)


class ConfirmationStatusView(Model):
    required_confirmations: int
    confirmations: int
    average_seconds: int
    progress: int = Field(ge=0, le=100)
    confirmed: bool


class AppPaymentResponse(Model):
    id: str = Field(description="`pay_` and 32 hex digits (the same payment is `/api/v1/payments/{uuid}/logs`)")
    status: NoRampStatus = Field(description="NoRamp's status (docs/api.md maps the platform's onto it)")
    final_amount: Money = Field(description="What the payer is charged: `price_item.amount_total`")
    payment_provider: ProviderMethod
    trigger_data_input: TriggerDataInput
    transaction_id: str | None = Field(default=None, description="The provider's payment id, once it exists")
    transaction_url: str | None = None
    price_item: PriceItemView
    transaction_response: TransactionResponse | None = None
    confirmation_status: ConfirmationStatusView | None = None
    app: AppResponse
    price: PriceResponse
    created_at: Timestamp
    updated_at: Timestamp
    payment_token: str = Field(description="The payer's bearer token for this payment alone (the widget's)")


class AppPaymentList(Model):
    items: list[AppPaymentResponse]
    page: int
    per_page: int
    total: int = Field(description="Exact number of the app's payments")
