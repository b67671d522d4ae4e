"""payments_core.money: scale checks and exact conversions to the token's smallest unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments_core import money

# A realistic 18-decimal amount (an ERC-20 like DAI/WETH) with 29 significant digits: more than the
# 28 digits of Python's default decimal context.
BIG_18 = Decimal("12345678901.123456789012345678")
BIG_18_UNITS = 12345678901123456789012345678


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("100"), 0),
        (Decimal("100.5"), 1),
        (Decimal("2.50"), 1),  # trailing zeros do not count
        (Decimal("2.500000"), 1),
        (Decimal("0.1"), 1),
        (Decimal("0.000001"), 6),
        (Decimal("1e-6"), 6),
        (Decimal("1E+3"), 0),  # an exponent above zero is still an integer
        (Decimal("1000.000"), 0),
        (Decimal("0"), 0),
        (Decimal("0.000"), 0),
        (Decimal("-3.14"), 2),
        (Decimal("0.000000000000000001"), 18),
        (Decimal("123456789.123456789"), 9),
    ],
)
def test_decimals_of(amount: Decimal, expected: int) -> None:
    assert money.decimals_of(amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (BIG_18, 18),
        (Decimal("1.00000000000000000000000000001"), 29),
    ],
)
def test_decimals_of_more_than_28_significant_digits(amount: Decimal, expected: int) -> None:
    assert money.decimals_of(amount) == expected


@pytest.mark.parametrize(
    ("amount", "decimals", "ok"),
    [
        (Decimal("100.5"), 0, False),
        (Decimal("100.5"), 1, True),
        (Decimal("100.5"), 6, True),
        (Decimal("100.50"), 1, True),  # 100.50 is 100.5: one decimal, even though written with two
        (Decimal("0.123456"), 6, True),
        (Decimal("0.1234567"), 6, False),
        (Decimal("0.000001"), 6, True),
        (Decimal("0.0000001"), 6, False),
        (Decimal("42"), 0, True),
        (Decimal("4.2E+1"), 0, True),
        (Decimal("0.000000000000000001"), 18, True),
        (Decimal("0.0000000000000000001"), 18, False),
    ],
)
def test_check_scale(amount: Decimal, decimals: int, ok: bool) -> None:
    assert money.check_scale(amount, decimals) is ok


def test_check_scale_rejects_29_decimals_for_a_6_decimal_token() -> None:
    assert money.check_scale(Decimal("1.00000000000000000000000000001"), 6) is False


@pytest.mark.parametrize(
    ("amount", "decimals", "units"),
    [
        (Decimal("100.5"), 6, 100_500_000),
        (Decimal("100.50"), 6, 100_500_000),
        (Decimal("0.1"), 6, 100_000),
        (Decimal("0.000001"), 6, 1),
        (Decimal("1e-6"), 6, 1),
        (Decimal("1"), 0, 1),
        (Decimal("1E+2"), 0, 100),
        (Decimal("12.34"), 2, 1234),
        (Decimal("1"), 18, 10**18),
        (Decimal("0.000000000000000001"), 18, 1),
        (Decimal("1234567.891011121314151617"), 18, 1_234_567_891_011_121_314_151_617),
        (Decimal("999999999.999999"), 6, 999_999_999_999_999),
    ],
)
def test_to_minor_units_is_exact(amount: Decimal, decimals: int, units: int) -> None:
    result = money.to_minor_units(amount, decimals)
    assert result == units
    assert type(result) is int


@pytest.mark.parametrize(
    ("amount", "decimals"),
    [
        (Decimal("100.5"), 0),
        (Decimal("0.0000001"), 6),
        (Decimal("12.345"), 2),
        (Decimal("0.0000000000000000001"), 18),
        (Decimal("1.999"), 2),  # would round up to 2.00 - must refuse instead
    ],
)
def test_to_minor_units_raises_instead_of_rounding(amount: Decimal, decimals: int) -> None:
    with pytest.raises(ValueError, match="more than"):
        money.to_minor_units(amount, decimals)


def test_to_minor_units_exact_beyond_28_digits() -> None:
    assert money.to_minor_units(BIG_18, 18) == BIG_18_UNITS


def test_to_minor_units_refuses_hidden_29th_decimal() -> None:
    with pytest.raises(ValueError, match="more than"):
        money.to_minor_units(Decimal("1.00000000000000000000000000001"), 6)


@pytest.mark.parametrize(
    ("units", "decimals", "expected"),
    [
        (100_500_000, 6, "100.500000"),
        (1, 6, "0.000001"),
        (1, 18, "1E-18"),
        (0, 6, "0.000000"),
        (1234, 2, "12.34"),
        (7, 0, "7"),
    ],
)
def test_from_minor_units(units: int, decimals: int, expected: str) -> None:
    result = money.from_minor_units(units, decimals)
    assert result == Decimal(expected)
    # Not just numerically equal: the result carries exactly `decimals` digits after the point.
    assert result.as_tuple().exponent == -decimals


@pytest.mark.parametrize(
    ("amount", "decimals"),
    [
        (Decimal("100.5"), 6),
        (Decimal("0.000001"), 6),
        (Decimal("12.34"), 2),
        (Decimal("1234567.891011121314151617"), 18),
    ],
)
def test_minor_units_roundtrip(amount: Decimal, decimals: int) -> None:
    assert money.from_minor_units(money.to_minor_units(amount, decimals), decimals) == amount


def test_from_minor_units_exact_beyond_28_digits() -> None:
    assert money.from_minor_units(BIG_18_UNITS, 18) == BIG_18


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        (Decimal("1.005"), 2, "1.00"),  # half to even: down to the even 0
        (Decimal("1.015"), 2, "1.02"),  # half to even: up to the even 2
        (Decimal("1.025"), 2, "1.02"),
        (Decimal("2.5"), 0, "2"),
        (Decimal("3.5"), 0, "4"),
        (Decimal("-2.5"), 0, "-2"),
        (Decimal("1.0049"), 2, "1.00"),
        (Decimal("1.0051"), 2, "1.01"),
        (Decimal("0.1234565"), 6, "0.123456"),
        (Decimal("0.1234575"), 6, "0.123458"),
        (Decimal("7"), 2, "7.00"),
    ],
)
def test_quantize_rounds_half_even(amount: Decimal, decimals: int, expected: str) -> None:
    result = money.quantize(amount, decimals)
    assert result == Decimal(expected)
    assert str(result) == expected  # exactly `decimals` digits after the point


def test_card_units_follow_the_currencys_minor_unit_exactly() -> None:
    from payments_core.money import from_card_units, to_card_units

    assert to_card_units(Decimal("51.75"), "usd") == 5175
    assert to_card_units(Decimal("5000"), "jpy") == 5000
    assert to_card_units(Decimal("1.234"), "kwd") == 1234
    assert from_card_units(1234, "kwd") == Decimal("1.234")
    with pytest.raises(ValueError, match="more than 0 decimals"):
        to_card_units(Decimal("1.5"), "jpy")  # never rounded here
