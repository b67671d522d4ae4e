"""The fee engine: every amount of a price's `price_item` (NoRamp's fee breakdown), in `Decimal`, computed here
and nowhere else. Pure functions on typed values: no store, no model, no AWS (docs/fees.md says it in prose,
with NoRamp's worked example; decision 0048 why this formula and this rounding).

The formula (percents are percents: 2.9 means 2.9 %; `q` rounds to the currency's minor unit, once):

    amount_total           = q((amount + fixed) / (1 - processing% / 100))   the payer bears the provider's fee
    amount_transaction_fee = amount_total - amount
    processing_fee_amount  = amount_transaction_fee - fixed                   its percentage part
    amount_platform        = q(amount * platform% / 100)                      out of the seller's share
    taken                  = q(amount * (platform% + app%) / 100)             app% is 0 for an individual app
    amount_app             = taken - amount_platform
    amount_seller          = amount - taken
    amount_app_transaction_fee = amount_total - amount_seller                 all that is kept back from the seller

NoRamp's published example: 50 usd, 2.9 % + 0.25, platform 3.9 %, app fee 0, individual:
(50 + 0.25) / 0.971 = 51.7507...  -> amount_total 51.75.

"Rounded once": `amount_total`, `amount_platform` and `taken` are each one rounding (`money.quantize`,
ROUND_HALF_EVEN) of an exactly computed value; every other output is an exact difference of amounts that are
already multiples of the minor unit (so it is one too, and no second rounding happens). The differences are
what makes the sums hold exactly (`amount_total = amount + amount_transaction_fee`, `amount_seller +
amount_platform + amount_app = amount`); rounding the app's share on its own could make three rounded shares
add up to one minor unit more than the amount.

The conversion (a price with `currency_conversion`) applies the rate to the outputs above and rounds once in
the target currency, with the same differences, so the same sums hold in the converted currency.

Exactness: products run in a context that raises on any inexact result (the operands are bounded: amounts by
money's bounds, percents to `PERCENT_DECIMALS`, rates to `RATE_DIGITS` significant digits); the one division is
computed to `_QUOTIENT_DIGITS` digits with ROUND_05UP, which keeps the information a later rounding to fewer
digits needs, so quantizing it gives the correctly rounded quotient (no double-rounding error).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_05UP, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded
from typing import TYPE_CHECKING, Any, NamedTuple

from payments_core import currencies, money
from payments_core.errors import ServiceUnavailable, ValidationFailed, field_error

if TYPE_CHECKING:
    from payments_core.domain.rates import ExchangeRate

APP_TYPES = ("individual", "marketplace")

PERCENT_DECIMALS = 4
"""A percent has at most 4 decimals (0.0001 %): finer than any provider's or platform's price list."""

RATE_DIGITS = 12
"""An exchange rate has at most 12 significant digits (the ECB publishes 5 or 6; cross rates are rounded to 12)."""

# Exact products of bounded operands (38-digit amounts, 4-decimal percents, 12-digit rates): wide enough never
# to round, and it raises if it ever had to.
_EXACT = Context(prec=120, traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow])
# The quotient of the pass-through, far wider than the ~45 digits a total has, rounded with ROUND_05UP so that
# money.quantize's rounding of it is the correct rounding of the exact quotient.
_QUOTIENT_DIGITS = 100
_QUOTIENT = Context(prec=_QUOTIENT_DIGITS, rounding=ROUND_05UP, traps=[InvalidOperation, DivisionByZero, Overflow])
_HUNDRED = Decimal(100)


class FeeSettings(NamedTuple):
    """The platform's fee settings (one entry, `paymentsctl fees set`)."""

    provider_processing_fee_percent: Decimal  # the card provider's percentage (Stripe: 2.9)
    provider_fixed_fees: Mapping[str, Decimal]  # per lowercase currency, the provider's fixed fee: {"usd": 0.25}
    platform_fee_percent: Decimal  # the platform's percentage, out of the seller's share (3.9)
    updated_at: str = ""


class Conversion(NamedTuple):
    """The price item in the seller's currency (`currency_conversion`), at `exchange`: see `price_item`."""

    currency: str
    exchange: Decimal
    converted_amount: Decimal
    converted_amount_net: Decimal
    amount: Decimal
    amount_total: Decimal
    amount_transaction_fee: Decimal
    amount_app_transaction_fee: Decimal
    amount_platform: Decimal
    amount_seller: Decimal
    amount_app: Decimal


class PriceItem(NamedTuple):
    """NoRamp's `price_item`: exactly the seed's keys. Meanings (docs/fees.md has them with examples):

    - currency: the price's currency (lowercase ISO 4217); every amount below is in it.
    - provider_min_amount_fee: the provider's fixed fee per charge in this currency (settings).
    - provider_processing_fee_percent: the provider's percentage (settings), a percent.
    - platform_fee: the platform's percentage (settings), a percent.
    - app_fee: the app's percentage (the app's `app_fee`), a percent, as the app has it; it is charged only
      by a marketplace app (see `amount_app`).
    - app_type: `individual` (the app's owner is the seller) or `marketplace` (the app sells for its
      sellers, each with a KYC, and takes `app_fee` of their sales).
    - amount: the price: what the seller asked, before the platform's and the app's shares.
    - amount_total: what the payer is charged: the amount plus the provider's fee passed through.
    - amount_transaction_fee: amount_total - amount: the provider's fee (fixed + percentage) the payer bears.
    - processing_fee_amount: amount_transaction_fee - provider_min_amount_fee: its percentage part.
    - amount_platform: the platform's share, platform_fee % of the amount.
    - amount_app: the app's share (marketplace: app_fee % of the amount; individual: 0).
    - amount_seller: what the seller gets: amount - amount_platform - amount_app.
    - amount_app_transaction_fee: amount_total - amount_seller: everything kept back from the seller on this
      charge (provider fee + platform + app): the application fee of the charge, as a Connect transfer keeps it.
    - conversion: the same amounts in the seller's currency, or None when the price has no conversion.
    """

    currency: str
    provider_min_amount_fee: Decimal
    provider_processing_fee_percent: Decimal
    platform_fee: Decimal
    app_fee: Decimal
    app_type: str
    amount: Decimal
    amount_total: Decimal
    amount_transaction_fee: Decimal
    amount_app_transaction_fee: Decimal
    amount_platform: Decimal
    amount_seller: Decimal
    amount_app: Decimal
    processing_fee_amount: Decimal
    conversion: Conversion | None


class FeeSettingsMissing(ServiceUnavailable):
    """No fee settings, or none for the currency: the platform cannot price a charge in it (never a guessed 0)."""

    code = "fee_settings_missing"

    def __init__(self, currency: str | None) -> None:
        what = f"for {currency}" if currency else "at all"
        super().__init__(f"The platform has no fee settings {what}; a charge cannot be priced")
        self.currency = currency


class InvalidFees(ValidationFailed):
    """Fee settings, an app fee or an amount the engine refuses (each named in `details`)."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("The fees cannot be computed from these values", details=details)


# ---------------------------------------------------------------------------------------------- checks
def _finite(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _percent_problem(value: Decimal, *, below_100: bool = False) -> str | None:
    if not _finite(value):
        return "must be a finite decimal"
    if value < 0 or value > _HUNDRED or (below_100 and value == _HUNDRED):
        return "must be from 0 to under 100" if below_100 else "must be from 0 to 100"
    if money.decimals_of(value) > PERCENT_DECIMALS:
        return f"must have at most {PERCENT_DECIMALS} decimals"
    return None


def _amount_problem(value: Decimal, currency: str) -> str | None:
    if not _finite(value) or value < 0:
        return "must be a finite decimal, 0 or more"
    if money.out_of_bounds(value):
        return "is beyond the amounts the platform stores"
    if not money.check_scale(value, currencies.minor_units(currency)):
        return f"must have at most {currencies.minor_units(currency)} decimals in {currency}"
    return None


def settings_problems(settings: FeeSettings) -> list[dict[str, Any]]:
    """What is wrong with fee settings (empty: nothing), as the error shape's details."""
    problems = []
    processing = _percent_problem(settings.provider_processing_fee_percent, below_100=True)
    if processing:
        problems.append(field_error("provider_processing_fee_percent", "invalid_percent", processing))
    platform = _percent_problem(settings.platform_fee_percent)
    if platform:
        problems.append(field_error("platform_fee_percent", "invalid_percent", platform))
    for currency, fixed in sorted(settings.provider_fixed_fees.items()):
        field = f"provider_fixed_fees.{currency}"
        if not currencies.is_currency(currency):
            problems.append(field_error(field, "unknown_currency", "must be a lowercase ISO 4217 code"))
            continue
        amount = _amount_problem(fixed, currency)
        if amount:
            problems.append(field_error(field, "invalid_amount", amount))
    return problems


def check_settings(settings: FeeSettings) -> None:
    """Raise InvalidFees when the settings cannot be used (what `paymentsctl fees set` refuses)."""
    problems = settings_problems(settings)
    if problems:
        raise InvalidFees(problems)


def fixed_fee(settings: FeeSettings, currency: str) -> Decimal:
    """The provider's fixed fee in `currency`; FeeSettingsMissing when none is configured (never 0 by default)."""
    fixed = settings.provider_fixed_fees.get(currency)
    if fixed is None:
        raise FeeSettingsMissing(currency)
    return fixed


# ---------------------------------------------------------------------------------------------- arithmetic
def _times(amount: Decimal, factor: Decimal) -> Decimal:
    return _EXACT.multiply(amount, factor)


def _share(amount: Decimal, percent: Decimal, decimals: int) -> Decimal:
    """percent % of amount, rounded once to `decimals`."""
    return money.quantize(_times(amount, percent.scaleb(-2, _EXACT)), decimals)


def _sub(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.subtract(a, b)


def _pass_through(amount: Decimal, fixed: Decimal, percent: Decimal, decimals: int) -> Decimal:
    """(amount + fixed) / (1 - percent / 100), rounded once to `decimals`: what the payer pays for the seller to
    get `amount` after a provider fee of `percent` % of the charge plus `fixed`."""
    keeps = _sub(Decimal(1), percent.scaleb(-2, _EXACT))
    return money.quantize(_QUOTIENT.divide(_EXACT.add(amount, fixed), keeps), decimals)


def _converted(amount: Decimal, rate: Decimal, decimals: int) -> Decimal:
    return money.quantize(_times(amount, rate), decimals)


def _check_rate(rate: ExchangeRate, currency: str) -> Decimal:
    problems = []
    if rate.base != currency:
        problems.append(field_error("conversion.base", "rate_of_another_currency", f"the rate is not from {currency}"))
    if not currencies.is_currency(rate.target):
        problems.append(field_error("conversion.currency", "unknown_currency", "must be a lowercase ISO 4217 code"))
    if not _finite(rate.rate) or rate.rate <= 0 or money.significant_digits(rate.rate) > RATE_DIGITS:
        problems.append(
            field_error("conversion.exchange", "invalid_rate", f"must be over 0, at most {RATE_DIGITS} digits")
        )
    if problems:
        raise InvalidFees(problems)
    return rate.rate


# ---------------------------------------------------------------------------------------------- the item
def price_item(
    amount: Decimal,
    currency: str,
    settings: FeeSettings,
    *,
    app_fee_percent: Decimal,
    app_type: str,
    rate: ExchangeRate | None = None,
) -> PriceItem:
    """The fee breakdown of a charge of `amount` `currency` (see the module and PriceItem for every field).

    `rate`: the conversion's rate (`rate.base` is `currency`, `rate.target` the seller's currency), None when
    the price has no `currency_conversion`. Raises FeeSettingsMissing (no fixed fee for the currency) or
    InvalidFees (a value the engine refuses, each named); the same inputs always give the same outputs."""
    problems = []
    if not currencies.is_currency(currency):
        raise InvalidFees([field_error("currency", "unknown_currency", "must be a lowercase ISO 4217 code")])
    if app_type not in APP_TYPES:
        problems.append(field_error("app_type", "invalid_app_type", f"must be one of {', '.join(APP_TYPES)}"))
    amount_problem = _amount_problem(amount, currency)
    if amount_problem:
        problems.append(field_error("amount", "invalid_amount", amount_problem))
    app_problem = _percent_problem(app_fee_percent)
    if app_problem:
        problems.append(field_error("app_fee", "invalid_percent", app_problem))
    problems += settings_problems(settings)
    if problems:
        raise InvalidFees(problems)
    fixed = fixed_fee(settings, currency)
    charged_app_percent = app_fee_percent if app_type == "marketplace" else Decimal(0)
    taken_percent = _EXACT.add(settings.platform_fee_percent, charged_app_percent)
    if taken_percent > _HUNDRED:
        raise InvalidFees(
            [field_error("app_fee", "fees_exceed_amount", "the app's and the platform's fees exceed 100 %")]
        )

    decimals = currencies.minor_units(currency)
    total = _pass_through(amount, fixed, settings.provider_processing_fee_percent, decimals)
    if money.out_of_bounds(total):
        raise InvalidFees([field_error("amount", "amount_too_large", "its total is beyond what the platform stores")])
    transaction_fee = _sub(total, amount)
    platform = _share(amount, settings.platform_fee_percent, decimals)
    taken = _share(amount, taken_percent, decimals)
    seller = _sub(amount, taken)

    conversion = None
    if rate is not None:
        exchange = _check_rate(rate, currency)
        target = currencies.minor_units(rate.target)
        c_amount = _converted(amount, exchange, target)
        c_total = _converted(total, exchange, target)
        c_platform = _converted(platform, exchange, target)
        c_taken = _converted(taken, exchange, target)
        c_seller = _sub(c_amount, c_taken)
        conversion = Conversion(
            currency=rate.target,
            exchange=exchange,
            converted_amount=c_amount,
            converted_amount_net=c_seller,
            amount=c_amount,
            amount_total=c_total,
            amount_transaction_fee=_sub(c_total, c_amount),
            amount_app_transaction_fee=_sub(c_total, c_seller),
            amount_platform=c_platform,
            amount_seller=c_seller,
            amount_app=_sub(c_taken, c_platform),
        )
    return PriceItem(
        currency=currency,
        provider_min_amount_fee=fixed,
        provider_processing_fee_percent=settings.provider_processing_fee_percent,
        platform_fee=settings.platform_fee_percent,
        app_fee=app_fee_percent,
        app_type=app_type,
        amount=amount,
        amount_total=total,
        amount_transaction_fee=transaction_fee,
        amount_app_transaction_fee=_sub(total, seller),
        amount_platform=platform,
        amount_seller=seller,
        amount_app=_sub(taken, platform),
        processing_fee_amount=_sub(transaction_fee, fixed),
        conversion=conversion,
    )
