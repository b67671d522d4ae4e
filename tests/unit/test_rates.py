"""Exchange rates (payments_core.domain.rates): which rate wins, cross rates through EUR, the age limit and its
503, the ECB's document (the recorded one in tests/data) and the scheduled fetch, the fee settings' entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from payments_core.domain import rates
from payments_core.domain.rates import ExchangeRate, ExchangeRateUnavailable, RateFeedInvalid, RateFeedStale, rate_for
from payments_core.errors import ValidationFailed
from payments_core.fees import FeeSettings, FeeSettingsMissing, InvalidFees
from tests.unit.rate_fakes import FakeFeeSettingsStore, FakeRateFeed, FakeRateStore

ECB_FILE = Path(__file__).parents[1] / "data" / "eurofxref-daily-2025-10-21.xml"
DAY = datetime(2025, 10, 21, tzinfo=UTC)
NOW = DAY + timedelta(hours=17)
MAX_AGE = timedelta(days=6)
D = Decimal


def ecb(target: str, value: str, as_of: str = "2025-10-21T00:00:00Z") -> ExchangeRate:
    return ExchangeRate("eur", target, D(value), as_of, "ecb")


def operator(base: str, target: str, value: str, as_of: str = "2025-10-21T09:00:00Z") -> ExchangeRate:
    return ExchangeRate(base, target, D(value), as_of, "operator")


# ---------------------------------------------------------------------------------------------- rate_for
def test_the_operators_rate_wins_over_the_ecbs() -> None:
    store = FakeRateStore(ecb("usd", "1.1607"), ecb("gbp", "0.86780"), operator("usd", "gbp", "0.75"))
    chosen = rate_for(store, "usd", "gbp", now=NOW, max_age=MAX_AGE)
    assert chosen == operator("usd", "gbp", "0.75")
    assert store.reads == [[("operator", "usd", "gbp"), ("ecb", "eur", "usd"), ("ecb", "eur", "gbp")]]  # one read


def test_eur_to_x_is_the_ecbs_figure_exactly() -> None:
    chosen = rate_for(FakeRateStore(ecb("usd", "1.1607")), "eur", "usd", now=NOW, max_age=MAX_AGE)
    assert (chosen.rate, chosen.source, chosen.as_of) == (D("1.1607"), "ecb", "2025-10-21T00:00:00Z")


def test_x_to_eur_is_the_inverse_rounded_once_to_12_digits() -> None:
    chosen = rate_for(FakeRateStore(ecb("usd", "1.1607")), "usd", "eur", now=NOW, max_age=MAX_AGE)
    assert chosen.rate == D("0.861549065219")  # 1 / 1.1607 = 0.8615490652192642...
    assert chosen.source == "ecb"


def test_a_cross_rate_goes_through_eur_and_is_as_old_as_its_older_figure() -> None:
    store = FakeRateStore(ecb("usd", "1.1607"), ecb("jpy", "176.45", "2025-10-20T00:00:00Z"))
    chosen = rate_for(store, "usd", "jpy", now=NOW, max_age=MAX_AGE)
    assert chosen.rate == D("152.020332558")  # 176.45 / 1.1607 = 152.02033255793917...
    assert chosen.as_of == "2025-10-20T00:00:00Z"


def test_an_operator_rate_for_the_pair_only_not_its_inverse() -> None:
    store = FakeRateStore(operator("usd", "eur", "0.9213"))
    with pytest.raises(ExchangeRateUnavailable):
        rate_for(store, "eur", "usd", now=NOW, max_age=MAX_AGE)


def test_an_unknown_pair_is_a_503_naming_it() -> None:
    with pytest.raises(ExchangeRateUnavailable) as unavailable:
        rate_for(FakeRateStore(ecb("usd", "1.1607")), "usd", "kwd", now=NOW, max_age=MAX_AGE)
    error = unavailable.value
    assert error.status_code == 503
    assert error.body()["error"]["code"] == "exchange_rate_unavailable"
    assert "usd -> kwd" in error.message


def test_a_stale_rate_is_refused_with_its_age() -> None:
    store = FakeRateStore(ecb("usd", "1.1607"))
    later = DAY + timedelta(days=7, hours=2)
    with pytest.raises(ExchangeRateUnavailable) as stale:
        rate_for(store, "eur", "usd", now=later, max_age=MAX_AGE)
    assert stale.value.age == timedelta(days=7, hours=2)
    assert "eur -> usd" in stale.value.message
    assert "7 d 2 h old" in stale.value.message
    assert "6 d allowed" in stale.value.message
    assert rate_for(store, "eur", "usd", now=DAY + MAX_AGE, max_age=MAX_AGE).rate == D("1.1607")  # at the limit


def test_a_stale_operator_rate_is_refused_not_replaced_by_the_ecbs() -> None:
    store = FakeRateStore(ecb("usd", "1.1607"), operator("eur", "usd", "1.2", "2025-10-01T00:00:00Z"))
    with pytest.raises(ExchangeRateUnavailable, match="eur -> usd"):
        rate_for(store, "eur", "usd", now=NOW, max_age=MAX_AGE)


def test_a_currency_to_itself_is_one_and_reads_nothing() -> None:
    store = FakeRateStore()
    assert rate_for(store, "usd", "usd", now=NOW, max_age=MAX_AGE).rate == 1
    assert store.reads == []


# ---------------------------------------------------------------------------------------------- set_rate
def test_set_rate_keeps_the_newest() -> None:
    store = FakeRateStore()
    set_ = rates.set_rate(store, rates.operator_rate("usd", "eur", D("0.92130"), now=NOW))
    assert set_.rate == D("0.9213")
    assert set_.as_of == "2025-10-21T17:00:00Z"
    with pytest.raises(ValidationFailed) as older:
        rates.set_rate(store, rates.operator_rate("usd", "eur", D("0.95"), now=NOW - timedelta(seconds=1)))
    assert older.value.details[0]["code"] == "older_than_stored"
    assert rates.list_rates(store) == [set_]


@pytest.mark.parametrize(
    ("rate", "field"),
    [
        (operator("usd", "usd", "1"), "target"),
        (operator("USD", "eur", "1"), "base"),
        (operator("usd", "eur", "0"), "rate"),
        (operator("usd", "eur", "-1"), "rate"),
        (operator("usd", "eur", "1.23456789012345"), "rate"),
        (operator("usd", "eur", "Infinity"), "rate"),
        (operator("usd", "eur", "1", "yesterday"), "as_of"),
        (operator("usd", "eur", "1", "2025-10-21T09:00:00"), "as_of"),  # no zone
        (ExchangeRate("usd", "eur", D(1), "2025-10-21T09:00:00Z", "guess"), "source"),
    ],
)
def test_set_rate_refuses_bad_rates_naming_the_field(rate: ExchangeRate, field: str) -> None:
    store = FakeRateStore()
    with pytest.raises(ValidationFailed) as refused:
        rates.set_rate(store, rate)
    assert field in [d["field"] for d in refused.value.details]
    assert store.rates == {}


# ---------------------------------------------------------------------------------------------- the ECB
def test_the_recorded_ecb_document_parses_whole() -> None:
    day = rates.parse_ecb_daily(ECB_FILE.read_bytes())
    parsed = day.rates
    assert len(parsed) == 29
    assert day.skipped == ("bgn",)  # the lev: ISO 4217 withdrew it when Bulgaria took the euro (2026)
    assert day.as_of == "2025-10-21T00:00:00Z"
    by_code = {r.target: r for r in parsed}
    assert by_code["usd"] == ecb("usd", "1.1607")
    assert by_code["gbp"].rate == D("0.8678")  # '0.86780', trailing zero trimmed (as stored)
    assert by_code["idr"].rate == D("19272.67")
    assert {r.base for r in parsed} == {"eur"}
    assert {r.source for r in parsed} == {"ecb"}


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"<html>Service unavailable</html>",
        b"not xml at all",
        ECB_FILE.read_bytes().replace(b"time='2025-10-21'", b"time='yesterday'"),
        ECB_FILE.read_bytes().replace(b"rate='1.1607'", b"rate='n/a'"),
        ECB_FILE.read_bytes().replace(b"rate='1.1607'", b"rate='-1.1607'"),
        ECB_FILE.read_bytes().replace(b"currency='USD'", b"currency='US'"),
        ECB_FILE.read_bytes().replace(b"currency='USD'", b"currency=''"),
        ECB_FILE.read_bytes().replace(b'eurofxref">', b'other">'),  # another namespace: not the ECB's
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',  # entities: refused by defusedxml
    ],
)
def test_anything_but_the_ecbs_document_is_refused(document: bytes) -> None:
    with pytest.raises(RateFeedInvalid):
        rates.parse_ecb_daily(document)


def test_the_fetch_writes_newer_rates_only() -> None:
    store = FakeRateStore(ecb("usd", "1.15", "2025-10-20T00:00:00Z"), ecb("jpy", "176.45"))
    feed = FakeRateFeed(ECB_FILE.read_bytes())
    report = rates.fetch_ecb_rates(feed, store, now=NOW, max_age=MAX_AGE)
    assert report == rates.FetchReport(
        configured=True, as_of="2025-10-21T00:00:00Z", rates=29, written=28, skipped=("bgn",)
    )
    assert store.rates[("ecb", "eur", "usd")].rate == D("1.1607")
    assert len(store.reads) == 1  # the stored ones in one read
    again = rates.fetch_ecb_rates(feed, store, now=NOW, max_age=MAX_AGE)
    assert (again.rates, again.written) == (29, 0)


def test_a_bad_document_writes_nothing() -> None:
    store = FakeRateStore()
    bad = ECB_FILE.read_bytes().replace(b"rate='20.1148'", b"rate=''")  # the last one
    with pytest.raises(RateFeedInvalid):
        rates.fetch_ecb_rates(FakeRateFeed(bad), store, now=NOW, max_age=MAX_AGE)
    assert store.rates == {}


def test_a_stale_document_is_written_then_fails_the_run() -> None:
    store = FakeRateStore()
    with pytest.raises(RateFeedStale, match="2025-10-21"):
        rates.fetch_ecb_rates(FakeRateFeed(ECB_FILE.read_bytes()), store, now=DAY + timedelta(days=8), max_age=MAX_AGE)
    assert len(store.rates) == 29


def test_no_feed_configured_fetches_and_writes_nothing() -> None:
    store = FakeRateStore()
    assert rates.fetch_ecb_rates(FakeRateFeed(None), store, now=NOW, max_age=MAX_AGE) == rates.FetchReport(False)
    assert store.reads == []


def test_the_http_feed_answers_none_without_a_url_and_refuses_plain_http() -> None:
    from payments_core.store.rate_feed import HttpRateFeed

    assert HttpRateFeed("").fetch() is None  # no socket: pytest-socket would refuse one
    assert HttpRateFeed(None).fetch() is None
    with pytest.raises(ValueError, match="https"):
        HttpRateFeed("http://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
    with pytest.raises(ValueError, match="https"):
        HttpRateFeed("file:///etc/passwd")


# ---------------------------------------------------------------------------------------------- fee settings
SETTINGS = FeeSettings(D("2.90"), {"usd": D("0.25"), "eur": D("0.25")}, D("3.9"))


def test_fee_settings_are_checked_stamped_and_kept_newest() -> None:
    store = FakeFeeSettingsStore()
    with pytest.raises(FeeSettingsMissing):
        rates.fee_settings(store)
    stored = rates.set_fee_settings(store, SETTINGS, now=NOW)
    assert stored.provider_processing_fee_percent == D("2.9")
    assert stored.updated_at == "2025-10-21T17:00:00Z"
    assert rates.fee_settings(store) == stored
    assert rates.public_fee_settings(stored) == {
        "provider_processing_fee_percent": "2.9",
        "provider_fixed_fees": {"eur": "0.25", "usd": "0.25"},
        "platform_fee_percent": "3.9",
        "updated_at": "2025-10-21T17:00:00Z",
    }
    with pytest.raises(ValidationFailed):
        rates.set_fee_settings(store, SETTINGS, now=NOW - timedelta(minutes=1))
    with pytest.raises(InvalidFees) as invalid:
        rates.set_fee_settings(store, SETTINGS._replace(platform_fee_percent=D(120)), now=NOW)
    assert invalid.value.details[0]["field"] == "platform_fee_percent"
    assert rates.fee_settings(store) == stored


def test_the_rate_settings_name_their_variables() -> None:
    from payments_core.settings import MissingSetting, Settings

    assert Settings.from_env({"EXCHANGE_RATES_URL": ""}).exchange_rates_url is None  # empty: no feed
    assert Settings.from_env({"EXCHANGE_RATES_URL": "https://x.example/r.xml"}).exchange_rates_url == (
        "https://x.example/r.xml"
    )
    with pytest.raises(MissingSetting, match="EXCHANGE_RATES_URL"):  # absent: not this function's
        _ = Settings.from_env({}).exchange_rates_url
    assert Settings.from_env({"EXCHANGE_RATE_MAX_AGE_SECONDS": "518400"}).exchange_rate_max_age_seconds == 518400
    with pytest.raises(MissingSetting, match="EXCHANGE_RATE_MAX_AGE_SECONDS"):
        _ = Settings.from_env({"EXCHANGE_RATE_MAX_AGE_SECONDS": "6 days"}).exchange_rate_max_age_seconds
