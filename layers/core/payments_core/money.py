"""Money: `Decimal` from the moment it is parsed, integers in the token's smallest unit on chain.

The one rounding rule of the platform lives here: an amount is never rounded silently. A price with
more decimals than its currency has is rejected at the edge (`check_scale`), so the conversion to
the token's smallest unit (`to_minor_units`) is exact and needs no rounding at all. A computed amount
(the fee engine's outputs and their conversions: payments_core.fees, the one place they are computed) is
rounded with `quantize` (ROUND_HALF_EVEN, to the currency's minor unit), once, and nowhere else.

The bounds every amount meets (checked at the edge, before anything is stored):
- an amount has at most `MAX_DIGITS` (38) significant digits and is under 10^38 (`MAX_DIGITS` integer
  digits), and has at most `MAX_DECIMALS` (36, the most a catalog currency can have) decimals: what a
  DynamoDB number holds;
- its value in the currency's smallest unit is under 10^38 too (it is stored as a DynamoDB number), which
  also keeps it far inside a `uint256` (the on-chain amount); `default_max_amount(decimals)` is the largest
  amount that meets both, and a currency's `max_amount` (catalog) may only lower it.

Nothing here uses a `decimal.Context` on a number that was not bounded first: the checks read the
number's digits and exponent (`as_tuple`, `adjusted`), which cannot overflow whatever the JSON said
(`1e999999999999` is a valid JSON number).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal

MAX_DIGITS = 38
"""DynamoDB numbers hold 38 significant digits; an amount with more is refused at the edge."""

MAX_DECIMALS = 36
"""The most decimals a catalog currency has (and so the most an amount may carry)."""

UINT256_MAX = 2**256 - 1
"""The largest on-chain amount (the diamond's amounts are uint256)."""

MAX_UNITS = 10**MAX_DIGITS - 1
"""The largest smallest-unit value the platform stores (a DynamoDB number; far under UINT256_MAX)."""

# Every operation here runs in this context, on bounded numbers: wide enough that nothing up to
# MAX_DIGITS integer digits and MAX_DECIMALS decimals is ever rounded by Python's default 28-digit context.
_EXACT = Context(prec=2 * MAX_DIGITS + 2)


def _significant(amount: Decimal) -> tuple[int, int]:
    """(number of significant digits, exponent of the last one) of a finite amount; 0 is (0, 0)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite numbers only; NaN/Infinity are refused by the models
    end = len(digits)
    while end and digits[end - 1] == 0:
        end -= 1
    start = 0
    while start < end and digits[start] == 0:
        start += 1
    if start == end:
        return 0, 0
    return end - start, exponent + (len(digits) - end)


def significant_digits(amount: Decimal) -> int:
    """How many significant digits `amount` has, leading and trailing zeros ignored (100.50 -> 4)."""
    return _significant(amount)[0]


def decimals_of(amount: Decimal) -> int:
    """How many digits after the decimal point `amount` carries, trailing zeros ignored (2.50 -> 1)."""
    return max(0, -_significant(amount)[1])


def integer_digits(amount: Decimal) -> int:
    """How many digits `amount` has before its decimal point (0.5 -> 0, 100.5 -> 3)."""
    if significant_digits(amount) == 0:
        return 0
    return max(0, amount.adjusted() + 1)


def out_of_bounds(amount: Decimal) -> tuple[str, str] | None:
    """Why a finite amount cannot be stored (see the module's bounds): (error code, message), or None."""
    if significant_digits(amount) > MAX_DIGITS:
        return "too_many_digits", f"must have at most {MAX_DIGITS} significant digits"
    if integer_digits(amount) > MAX_DIGITS:
        return "amount_too_large", f"must be less than 10^{MAX_DIGITS}"
    if decimals_of(amount) > MAX_DECIMALS:
        return "too_many_decimals", f"must have at most {MAX_DECIMALS} decimals"
    return None


def canonical(amount: Decimal) -> Decimal:
    """The amount as DynamoDB keeps it: trailing zeros of the fraction trimmed, no exponent (1E+2 -> 100,
    100.50 -> 100.5). Only for amounts within bounds (`out_of_bounds` is None)."""
    _, exponent = _significant(amount)
    return amount.quantize(Decimal(1).scaleb(min(exponent, 0)), context=_EXACT)


def check_scale(amount: Decimal, decimals: int) -> bool:
    return decimals_of(amount) <= decimals


def default_max_amount(decimals: int) -> Decimal:
    """The largest amount of a currency with `decimals` whose smallest-unit value is stored exactly:
    MAX_UNITS smallest units (38 nines: 99999999999999999999999999999999.999999 for 6 decimals)."""
    return from_minor_units(MAX_UNITS, decimals)


def max_amount_of(decimals: int, configured: Decimal | None) -> Decimal:
    """A currency's maximum amount: its catalog `max_amount` if set, else `default_max_amount`."""
    ceiling = default_max_amount(decimals)
    return ceiling if configured is None else min(Decimal(configured), ceiling)


def to_minor_units(amount: Decimal, decimals: int) -> int:
    """Exact conversion to the token's smallest unit; raises if it would need rounding or cannot be stored."""
    if not check_scale(amount, decimals):
        raise ValueError(f"{amount} has more than {decimals} decimals")
    if out_of_bounds(amount):
        raise ValueError(f"{amount} cannot be stored")
    scaled = amount.scaleb(decimals, _EXACT)
    if scaled != scaled.to_integral_value(context=_EXACT):
        raise ValueError(f"{amount} has more than {decimals} decimals")
    units = int(scaled)
    if not 0 <= units <= min(MAX_UNITS, UINT256_MAX):
        raise ValueError(f"{amount} is beyond the largest amount in the smallest unit")
    return units


def to_card_units(amount: Decimal, currency: str) -> int:
    """A fiat amount in its currency's minor unit (ISO 4217: 5000 for 50 usd, 50 for 50 jpy, 50000 for 50
    kwd), exactly: ValueError if it has more decimals than the currency (a fee engine output never does:
    it is `quantize`d to them). The one place a card or bank amount becomes the provider's integer."""
    from payments_core import currencies

    return to_minor_units(amount, currencies.minor_units(currency))


def from_card_units(units: int, currency: str) -> Decimal:
    """The inverse of `to_card_units` (a provider's integer back to the currency's amount)."""
    from payments_core import currencies

    return from_minor_units(units, currencies.minor_units(currency))


def from_minor_units(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals, _EXACT)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """An exact sum, whatever the amounts' magnitudes: integer arithmetic on their coefficients, so no
    context can round it (the default context would at 28 digits). Finite amounts, within bounds (the
    work grows with the spread of their exponents)."""
    terms = []
    for amount in amounts:
        sign, digits, exponent = amount.as_tuple()
        assert isinstance(exponent, int)
        terms.append(((-1) ** sign * int(Decimal((0, digits, 0))), exponent))  # the coefficient, unrounded
    if not terms:
        return Decimal(0)
    low = min(exponent for _, exponent in terms)
    units = sum(coefficient * 10 ** (exponent - low) for coefficient, exponent in terms)
    result = Decimal(units)  # exact: int -> Decimal is never rounded
    return result.scaleb(low, Context(prec=max(1, result.adjusted() + 1), Emin=-(10**9), Emax=10**9))


def quantize(amount: Decimal, decimals: int) -> Decimal:
    """The platform's single rounding step for computed amounts."""
    return amount.quantize(Decimal(1).scaleb(-decimals, _EXACT), rounding=ROUND_HALF_EVEN, context=_EXACT)
