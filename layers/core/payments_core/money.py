"""Money: `Decimal` from the moment it is parsed, integers in the token's smallest unit on chain.

The one rounding rule of the platform lives here: an amount is never rounded silently. A price with
more decimals than its currency has is rejected at the edge (`check_scale`), so the conversion to
the token's smallest unit (`to_minor_units`) is exact and needs no rounding at all. Any future
computed amount (fees, conversions) is rounded with `quantize` (ROUND_HALF_EVEN) and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal

MAX_DIGITS = 38
"""DynamoDB numbers hold 38 significant digits; an amount with more is refused at the edge."""

# Every operation here runs in this context: wide enough that nothing up to MAX_DIGITS is ever
# rounded by Python's default 28-digit context.
_EXACT = Context(prec=2 * MAX_DIGITS + 2)


def decimals_of(amount: Decimal) -> int:
    """How many digits after the decimal point `amount` carries, trailing zeros ignored (2.50 -> 1)."""
    exponent = amount.normalize(_EXACT).as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers only; NaN/Infinity are rejected by the models
    return max(0, -exponent)


def check_scale(amount: Decimal, decimals: int) -> bool:
    return decimals_of(amount) <= decimals


def to_minor_units(amount: Decimal, decimals: int) -> int:
    """Exact conversion to the token's smallest unit; raises if it would need rounding."""
    scaled = amount.scaleb(decimals, _EXACT)
    if scaled != scaled.to_integral_value(context=_EXACT):
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(scaled)


def from_minor_units(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals, _EXACT)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """An exact sum."""
    result = Decimal(0)
    for amount in amounts:
        result = _EXACT.add(result, amount)
    return result


def quantize(amount: Decimal, decimals: int) -> Decimal:
    """The platform's single rounding step for computed amounts."""
    return amount.quantize(Decimal(1).scaleb(-decimals, _EXACT), rounding=ROUND_HALF_EVEN, context=_EXACT)
