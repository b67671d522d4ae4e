from payments_core import currencies


def test_minor_units_follow_iso_4217() -> None:
    assert currencies.minor_units("usd") == 2
    assert currencies.minor_units("jpy") == 0
    assert currencies.minor_units("kwd") == 3
    assert currencies.minor_units("eur") == 2


def test_only_lowercase_codes_with_minor_units_are_currencies() -> None:
    assert currencies.is_currency("usd")
    assert not currencies.is_currency("USD")
    assert not currencies.is_currency("xau")  # gold: no minor units
    assert not currencies.is_currency("zzz")
    assert "chf" in currencies.codes()
