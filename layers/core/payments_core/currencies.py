"""Fiat currencies (ISO 4217): which codes exist and how many decimals (minor units) each has.

NoRamp's prices name a lowercase ISO 4217 code (`usd`, `jpy`, `kwd`); card amounts are integers in the
currency's minor unit (cents for usd, none for jpy, fils for kwd: 3 decimals). The table is the `iso4217`
package's copy of the ISO's own list; only currencies with a defined number of minor units are accepted
(funds and metals such as XAU have none and are refused).

The package parses its XML table when it is imported (~15 ms): it is imported on first use here, so only the
functions that read a currency pay for it.
"""

from __future__ import annotations

from functools import cache


@cache
def _exponents() -> dict[str, int]:
    from iso4217 import Currency

    return {c.code.lower(): c.exponent for c in Currency if isinstance(c.exponent, int)}


def is_currency(code: str) -> bool:
    """Whether `code` is a lowercase ISO 4217 code with minor units (`usd`, not `USD` or `xau`)."""
    return code in _exponents()


def minor_units(code: str) -> int:
    """How many decimals `code` has (2 for usd, 0 for jpy, 3 for kwd); KeyError for an unknown code."""
    return _exponents()[code]


def codes() -> frozenset[str]:
    return frozenset(_exponents())
