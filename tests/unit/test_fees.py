"""The fee engine (payments_core.fees): NoRamp's example and hand-worked ones, then its invariants over amounts,
currencies with 0/2/3 decimals, fee settings, app types and conversions (hypothesis). The rounding is checked
against an independent oracle: exact fractions rounded half-even."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments_core import currencies, fees, money
from payments_core.domain.rates import ExchangeRate
from payments_core.fees import Conversion, FeeSettings, FeeSettingsMissing, InvalidFees, PriceItem, price_item

NORAMP = FeeSettings(
    provider_processing_fee_percent=Decimal("2.9"),
    provider_fixed_fees={"usd": Decimal("0.25"), "eur": Decimal("0.25"), "jpy": Decimal(0), "kwd": Decimal("0.075")},
    platform_fee_percent=Decimal("3.9"),
)
D = Decimal


def rate(base: str, target: str, value: str) -> ExchangeRate:
    return ExchangeRate(base, target, D(value), "2026-12-07T12:00:00Z", "operator")


def half_even(value: Fraction, decimals: int) -> Fraction:
    """The oracle: `value` rounded half-even to `decimals` decimals, exactly."""
    scaled = value * 10**decimals
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    up = rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1)
    return Fraction(floor + up, 10**decimals)


# ---------------------------------------------------------------------------------------------- examples
def test_noramps_published_example() -> None:
    item = price_item(D(50), "usd", NORAMP, app_fee_percent=D(0), app_type="individual")
    assert item.amount_total == D("51.75")  # (50 + 0.25) / 0.971 = 51.7507...
    assert item.amount_transaction_fee == D("1.75")
    assert item.processing_fee_amount == D("1.50")
    assert item.provider_min_amount_fee == D("0.25")
    assert item.amount_platform == D("1.95")  # 3.9 % of 50, out of the seller's share, not added to the total
    assert item.amount_app == 0
    assert item.amount_seller == D("48.05")
    assert item.amount_app_transaction_fee == D("3.70")  # 51.75 - 48.05: all kept back from the seller
    assert (item.currency, item.app_type, item.conversion) == ("usd", "individual", None)
    assert (item.provider_processing_fee_percent, item.platform_fee, item.app_fee) == (D("2.9"), D("3.9"), D(0))


def test_price_item_has_exactly_the_seeds_keys() -> None:
    assert PriceItem._fields == (
        "currency", "provider_min_amount_fee", "provider_processing_fee_percent", "platform_fee", "app_fee",
        "app_type", "amount", "amount_total", "amount_transaction_fee", "amount_app_transaction_fee",
        "amount_platform", "amount_seller", "amount_app", "processing_fee_amount", "conversion",
    )  # fmt: skip
    assert Conversion._fields == (
        "currency", "exchange", "converted_amount", "converted_amount_net", "amount", "amount_total",
        "amount_transaction_fee", "amount_app_transaction_fee", "amount_platform", "amount_seller", "amount_app",
    )  # fmt: skip


def test_jpy_has_no_decimals() -> None:
    japan = NORAMP._replace(provider_processing_fee_percent=D("3.6"))  # Stripe Japan: 3.6 %, no fixed fee
    item = price_item(D(5000), "jpy", japan, app_fee_percent=D(0), app_type="individual")
    assert item.amount_total == D(5187)  # 5000 / 0.964 = 5186.72...
    assert item.amount_transaction_fee == D(187)
    assert item.processing_fee_amount == D(187)
    assert item.amount_platform == D(195)
    assert item.amount_seller == D(4805)
    amounts = [getattr(item, field) for field in PriceItem._fields if field.startswith(("amount", "processing"))]
    assert len(amounts) == 8
    assert all(value == value.to_integral_value() for value in amounts)


def test_kwd_has_three_decimals_and_a_marketplace_takes_its_fee() -> None:
    item = price_item(D("12.345"), "kwd", NORAMP, app_fee_percent=D(10), app_type="marketplace")
    assert item.amount_total == D("12.791")  # (12.345 + 0.075) / 0.971 = 12.79094...
    assert item.amount_transaction_fee == D("0.446")
    assert item.processing_fee_amount == D("0.371")
    assert item.amount_platform == D("0.481")  # 0.481455
    assert item.amount_app == D("1.235")  # 13.9 % = 1.715955 -> 1.716, less the platform's 0.481
    assert item.amount_seller == D("10.629")
    assert item.amount_app_transaction_fee == D("2.162")


def test_an_individual_app_charges_no_app_fee() -> None:
    individual = price_item(D(100), "usd", NORAMP, app_fee_percent=D(10), app_type="individual")
    marketplace = price_item(D(100), "usd", NORAMP, app_fee_percent=D(10), app_type="marketplace")
    assert (individual.app_fee, individual.amount_app, individual.amount_seller) == (D(10), D(0), D("96.10"))
    assert (marketplace.amount_app, marketplace.amount_seller) == (D("10.00"), D("86.10"))
    assert individual.amount_total == marketplace.amount_total  # the payer pays the same either way


def test_a_conversion_rounds_in_the_target_currency() -> None:
    item = price_item(
        D(50), "usd", NORAMP, app_fee_percent=D(0), app_type="individual", rate=rate("usd", "eur", "0.9213")
    )
    conv = item.conversion
    assert conv is not None
    assert (conv.currency, conv.exchange) == ("eur", D("0.9213"))
    assert conv.amount == conv.converted_amount == D("46.06")  # 46.065, half-even
    assert conv.amount_total == D("47.68")  # 51.75 * 0.9213 = 47.677275
    assert conv.amount_transaction_fee == D("1.62")
    assert conv.amount_platform == D("1.80")  # 1.95 * 0.9213 = 1.796535
    assert conv.amount_app == 0
    assert conv.amount_seller == conv.converted_amount_net == D("44.26")
    assert conv.amount_app_transaction_fee == D("3.42")


def test_a_conversion_into_jpy() -> None:
    item = price_item(
        D(50), "usd", NORAMP, app_fee_percent=D(0), app_type="individual", rate=rate("usd", "jpy", "152.0201")
    )
    assert item.conversion is not None
    assert item.conversion.amount == D(7601)  # 7601.005
    assert item.conversion.amount_total == D(7867)  # 51.75 * 152.0201 = 7867.040175


def test_ties_round_half_even() -> None:
    one_percent = NORAMP._replace(platform_fee_percent=D(1))
    assert price_item(D("0.50"), "usd", one_percent, app_fee_percent=D(0), app_type="individual").amount_platform == 0
    assert price_item(D("1.50"), "usd", one_percent, app_fee_percent=D(0), app_type="individual").amount_platform == D(
        "0.02"
    )


def test_a_currency_without_a_fixed_fee_is_refused_never_guessed() -> None:
    with pytest.raises(FeeSettingsMissing) as missing:
        price_item(D(50), "chf", NORAMP, app_fee_percent=D(0), app_type="individual")
    assert missing.value.status_code == 503
    assert missing.value.body()["error"]["code"] == "fee_settings_missing"
    assert "chf" in missing.value.message


def test_fees_over_the_amount_are_refused() -> None:
    greedy = NORAMP._replace(platform_fee_percent=D(60))
    with pytest.raises(InvalidFees) as refused:
        price_item(D(50), "usd", greedy, app_fee_percent=D(50), app_type="marketplace")
    assert refused.value.details[0]["code"] == "fees_exceed_amount"
    assert price_item(D(50), "usd", greedy, app_fee_percent=D(50), app_type="individual").amount_app == 0


@pytest.mark.parametrize(
    ("amount", "currency", "app_type", "app_fee", "field"),
    [
        (D("5.5"), "jpy", "individual", D(0), "amount"),
        (D("1.001"), "usd", "individual", D(0), "amount"),
        (D(-1), "usd", "individual", D(0), "amount"),
        (D("NaN"), "usd", "individual", D(0), "amount"),
        (D(5), "usd", "shop", D(0), "app_type"),
        (D(5), "usd", "marketplace", D(101), "app_fee"),
        (D(5), "usd", "marketplace", D("0.00001"), "app_fee"),
        (D(5), "USD", "individual", D(0), "currency"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    amount: Decimal, currency: str, app_type: str, app_fee: Decimal, field: str
) -> None:
    with pytest.raises(InvalidFees) as refused:
        price_item(amount, currency, NORAMP, app_fee_percent=app_fee, app_type=app_type)
    assert refused.value.status_code == 422
    assert field in [d["field"] for d in refused.value.details]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"provider_processing_fee_percent": D(100)}, "provider_processing_fee_percent"),
        ({"provider_processing_fee_percent": D(-1)}, "provider_processing_fee_percent"),
        ({"platform_fee_percent": D("100.5")}, "platform_fee_percent"),
        ({"provider_fixed_fees": {"usd": D("0.255")}}, "provider_fixed_fees.usd"),
        ({"provider_fixed_fees": {"jpy": D("0.5")}}, "provider_fixed_fees.jpy"),
        ({"provider_fixed_fees": {"xyz": D(1)}}, "provider_fixed_fees.xyz"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, object], field: str) -> None:
    bad = NORAMP._replace(**changes)  # type: ignore[arg-type]
    assert field in [d["field"] for d in fees.settings_problems(bad)]
    with pytest.raises(InvalidFees):
        fees.check_settings(bad)
    assert fees.settings_problems(NORAMP) == []


def test_a_rate_of_another_currency_is_refused() -> None:
    with pytest.raises(InvalidFees) as refused:
        price_item(D(5), "usd", NORAMP, app_fee_percent=D(0), app_type="individual", rate=rate("eur", "usd", "1.1"))
    assert refused.value.details[0]["field"] == "conversion.base"


# ---------------------------------------------------------------------------------------------- properties
CURRENCIES = ["jpy", "usd", "kwd"]


def _decimal(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Decimal, str, FeeSettings, Decimal, str, ExchangeRate | None]:
    currency = draw(st.sampled_from(CURRENCIES))
    d = currencies.minor_units(currency)
    amount = _decimal(draw(st.integers(0, 10 ** draw(st.sampled_from([3, 8, 20])))), d)
    processing = _decimal(draw(st.integers(0, 999_999)), 4)  # 0 to 99.9999 %
    platform = _decimal(draw(st.integers(0, 1_000_000)), 4)  # 0 to 100 %
    app_type = draw(st.sampled_from(fees.APP_TYPES))
    app_fee = _decimal(draw(st.integers(0, 1_000_000 - int(platform.scaleb(4)))), 4)  # platform + app <= 100 %
    fixed = {c: _decimal(draw(st.integers(0, 10**4)), currencies.minor_units(c)) for c in CURRENCIES}
    settings = FeeSettings(processing, fixed, platform)
    conversion = None
    if draw(st.booleans()):
        target = draw(st.sampled_from([c for c in [*CURRENCIES, "eur"] if c != currency]))
        value = _decimal(draw(st.integers(1, 10**12 - 1)), draw(st.integers(0, 10)))
        conversion = ExchangeRate(currency, target, value, "2026-12-07T12:00:00Z", "ecb")
    return amount, currency, settings, app_fee, app_type, conversion


def _is_minor_multiple(value: Decimal, decimals: int) -> bool:
    # money.decimals_of reads the digits: no context, so no InvalidOperation on 30-digit converted totals
    return value >= 0 and money.decimals_of(value) <= decimals and value.as_tuple().sign == 0


def _check_sums(item: PriceItem | Conversion) -> None:
    """The sums of the price item or its conversion (the same field names)."""
    assert item.amount_total == item.amount + item.amount_transaction_fee
    assert item.amount_seller + item.amount_platform + item.amount_app == item.amount
    assert item.amount_app_transaction_fee + item.amount_seller == item.amount_total
    assert item.amount_transaction_fee <= item.amount_total
    assert item.amount_platform + item.amount_app <= item.amount
    assert item.amount_seller <= item.amount


@settings(max_examples=400, deadline=None)
@given(cases())
def test_invariants(case: tuple[Decimal, str, FeeSettings, Decimal, str, ExchangeRate | None]) -> None:
    amount, currency, settings_, app_fee, app_type, conversion = case
    item = price_item(amount, currency, settings_, app_fee_percent=app_fee, app_type=app_type, rate=conversion)
    d = currencies.minor_units(currency)
    amounts = [
        item.amount, item.amount_total, item.amount_transaction_fee, item.amount_app_transaction_fee,
        item.amount_platform, item.amount_seller, item.amount_app, item.processing_fee_amount,
        item.provider_min_amount_fee,
    ]  # fmt: skip
    assert all(_is_minor_multiple(v, d) for v in amounts), item
    _check_sums(item)
    assert item.processing_fee_amount + item.provider_min_amount_fee == item.amount_transaction_fee
    # Each rounded output is the exact value rounded once, half-even (the oracle: fractions).
    fixed = Fraction(settings_.provider_fixed_fees[currency])
    keeps = 1 - Fraction(settings_.provider_processing_fee_percent) / 100
    assert Fraction(item.amount_total) == half_even((Fraction(amount) + fixed) / keeps, d)
    assert Fraction(item.amount_platform) == half_even(
        Fraction(amount) * Fraction(settings_.platform_fee_percent) / 100, d
    )
    charged = app_fee if app_type == "marketplace" else 0
    taken = half_even(Fraction(amount) * (Fraction(settings_.platform_fee_percent) + Fraction(charged)) / 100, d)
    assert Fraction(item.amount_seller) == Fraction(amount) - taken
    if app_type == "individual":
        assert item.amount_app == 0
    # Deterministic: the same inputs, the same outputs.
    assert price_item(amount, currency, settings_, app_fee_percent=app_fee, app_type=app_type, rate=conversion) == item

    if conversion is None:
        assert item.conversion is None
        return
    conv = item.conversion
    assert conv is not None
    t = currencies.minor_units(conversion.target)
    converted = [
        conv.converted_amount, conv.converted_amount_net, conv.amount, conv.amount_total, conv.amount_transaction_fee,
        conv.amount_app_transaction_fee, conv.amount_platform, conv.amount_seller, conv.amount_app,
    ]  # fmt: skip
    assert all(_is_minor_multiple(v, t) for v in converted), conv
    _check_sums(conv)
    r = Fraction(conversion.rate)
    assert Fraction(conv.amount) == half_even(Fraction(amount) * r, t)
    assert Fraction(conv.amount_total) == half_even(Fraction(item.amount_total) * r, t)
    assert (conv.converted_amount, conv.converted_amount_net) == (conv.amount, conv.amount_seller)
    assert (conv.currency, conv.exchange) == (conversion.target, conversion.rate)
