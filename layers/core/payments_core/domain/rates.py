"""Exchange rates (a price's `currency_conversion`) and the platform's fee settings: where they come from, which
one wins, when one is too old, and the ECB's daily reference rates.

- An operator sets a pair's rate (`paymentsctl rate set usd eur 0.9213`): it wins for that pair, as set (its
  inverse is not derived: an operator who wants eur -> usd sets it too).
- Otherwise the ECB's euro reference rates (1 EUR = `rate` units of the target), fetched by the scheduled
  ExchangeRatesFunction: eur -> x is the ECB's figure exactly; x -> eur and x -> y are computed from them
  (1 / eur->x, eur->y / eur->x), rounded ONCE to CROSS_RATE_DIGITS significant digits (ROUND_HALF_EVEN).
- A rate older than `max_age` (EXCHANGE_RATE_MAX_AGE_SECONDS) is refused, never used: `ExchangeRateUnavailable`
  (503, `exchange_rate_unavailable`), as is a pair with no rate. A stale operator rate is refused too (it is
  not silently replaced by the ECB's figure the operator chose to override). A cross rate is as old as the
  older of its two ECB figures.
- An ECB rate's `as_of` is the start (00:00 UTC) of its reference day: the ECB fixes it at 14:10 CET and
  publishes it around 16:00 CET on TARGET working days, so ages read up to about 14 h older than they are
  (refusing sooner, never later).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from payments_core import currencies, money
from payments_core.errors import ServiceUnavailable, ValidationFailed, field_error
from payments_core.fees import RATE_DIGITS, FeeSettings, check_settings

if TYPE_CHECKING:
    from payments_core.domain.stores import FeeSettingsStore, RateStore

RATE_SOURCES = ("operator", "ecb")
IDENTITY = "identity"  # the source of a currency's rate to itself (1, never stored)
ECB_BASE = "eur"
CROSS_RATE_DIGITS = RATE_DIGITS
"""Significant digits a computed (cross or inverse) ECB rate is rounded to, once: 12, twice what the ECB
publishes, so the rounding moves an amount of 10^9 by under one minor unit."""
_CROSS = Context(prec=CROSS_RATE_DIGITS, rounding=ROUND_HALF_EVEN)
ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
MAX_FEED_BYTES = 1_000_000  # the daily file is about 1.5 kB


class ExchangeRate(NamedTuple):
    """1 `base` = `rate` `target` (lowercase ISO 4217 codes), as of `as_of` (ISO 8601 UTC with Z), from `source`
    ("operator" or "ecb"; "identity" for a currency to itself)."""

    base: str
    target: str
    rate: Decimal
    as_of: str
    source: str


type RateKey = tuple[str, str, str]  # (source, base, target)


class ExchangeRateUnavailable(ServiceUnavailable):
    """No usable rate for the pair: none, or too old. 503: the checkout cannot price the conversion now."""

    code = "exchange_rate_unavailable"

    def __init__(self, base: str, target: str, *, age: timedelta | None = None, max_age: timedelta | None = None):
        pair = f"{base} -> {target}"
        if age is None or max_age is None:
            message = f"No exchange rate {pair} is known"
        else:
            message = f"The exchange rate {pair} is {_duration(age)} old, more than the {_duration(max_age)} allowed"
        super().__init__(message)
        self.base, self.target, self.age = base, target, age


class RateFeedInvalid(Exception):
    """The feed's answer is not the ECB's daily reference-rate document: nothing is written (the run fails and
    its errors alarm says so; the next run tries again)."""


class RateFeedStale(Exception):
    """The feed answers, but its newest rates are older than the allowed age: checkouts are being refused."""


class RateFeed(Protocol):
    """The ECB's daily reference-rate document, fetched (store.rate_feed.HttpRateFeed; a recorded file in tests)."""

    def fetch(self) -> bytes | None:
        """The document's bytes; None when no feed is configured (the local stack). Raises when it fails."""


class FetchReport(NamedTuple):
    configured: bool
    as_of: str | None = None
    rates: int = 0  # in the document
    written: int = 0  # newer than what was stored
    skipped: tuple[str, ...] = ()  # codes in the document ISO 4217 no longer lists


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes)
    return " ".join(parts) if parts else f"{seconds} s"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 UTC time with Z (or +00:00) as an aware datetime; ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{text} is not a UTC time")
    return moment


# ---------------------------------------------------------------------------------------------- checks
def rate_problems(rate: ExchangeRate) -> list[dict[str, Any]]:
    problems = []
    for field in ("base", "target"):
        if not currencies.is_currency(getattr(rate, field)):
            problems.append(field_error(field, "unknown_currency", "must be a lowercase ISO 4217 code"))
    if rate.base == rate.target:
        problems.append(field_error("target", "same_currency", "a currency has no rate to itself"))
    if not isinstance(rate.rate, Decimal) or not rate.rate.is_finite() or rate.rate <= 0:
        problems.append(field_error("rate", "invalid_rate", "must be a decimal over 0"))
    elif money.significant_digits(rate.rate) > RATE_DIGITS or money.out_of_bounds(rate.rate):
        problems.append(field_error("rate", "invalid_rate", f"must have at most {RATE_DIGITS} significant digits"))
    try:
        parse_as_of(rate.as_of)
    except ValueError:
        problems.append(field_error("as_of", "invalid_time", "must be an ISO 8601 UTC time"))
    if rate.source not in RATE_SOURCES:
        problems.append(field_error("source", "invalid_source", f"must be one of {', '.join(RATE_SOURCES)}"))
    return problems


# ---------------------------------------------------------------------------------------------- rates
def set_rate(store: RateStore, rate: ExchangeRate) -> ExchangeRate:
    """Store a rate (the operator CLI's `rate set`, the local stack's seed). The rate stored for its source and
    pair is replaced only by a newer one (`as_of`); an older one is refused (409 would be wrong for a CLI typo:
    ValidationFailed names `as_of`)."""
    problems = rate_problems(rate)
    if problems:
        raise ValidationFailed("Invalid exchange rate", details=problems)
    rate = rate._replace(rate=money.canonical(rate.rate))
    if not store.put_rate(rate):
        raise ValidationFailed(
            "A newer rate is stored for this pair",
            details=[field_error("as_of", "older_than_stored", "a rate as new or newer is stored")],
        )
    return rate


def operator_rate(base: str, target: str, rate: Decimal, *, now: datetime) -> ExchangeRate:
    """An operator's rate of now (what `paymentsctl rate set` stores)."""
    return ExchangeRate(base=base, target=target, rate=rate, as_of=iso_z(now), source="operator")


def list_rates(store: RateStore) -> list[ExchangeRate]:
    return sorted(store.list_rates(), key=lambda r: (r.source, r.base, r.target))


def _fresh(rate: ExchangeRate, base: str, target: str, now: datetime, max_age: timedelta) -> ExchangeRate:
    age = now - parse_as_of(rate.as_of)
    if age > max_age:
        raise ExchangeRateUnavailable(base, target, age=age, max_age=max_age)
    return rate


def rate_for(store: RateStore, base: str, target: str, *, now: datetime, max_age: timedelta) -> ExchangeRate:
    """The rate that converts `base` amounts into `target` now (one batch read): the operator's for the pair,
    else the ECB's (cross rates through EUR); ExchangeRateUnavailable when there is none, or it is older than
    `max_age`. A currency to itself is 1 (source "identity", nothing read)."""
    if base == target:
        return ExchangeRate(base, target, Decimal(1), iso_z(now), IDENTITY)
    keys: list[RateKey] = [("operator", base, target)]
    keys += [("ecb", ECB_BASE, code) for code in (base, target) if code != ECB_BASE]
    found = {(r.source, r.base, r.target): r for r in store.read_rates(keys).run()}
    chosen = found.get(("operator", base, target))
    if chosen is not None:
        return _fresh(chosen, base, target, now, max_age)
    from_eur = {code: found.get(("ecb", ECB_BASE, code)) for code in (base, target) if code != ECB_BASE}
    missing = [code for code, rate in from_eur.items() if rate is None]
    if missing:
        raise ExchangeRateUnavailable(base, target)
    ecb = [rate for rate in from_eur.values() if rate is not None]
    oldest = min(ecb, key=lambda r: parse_as_of(r.as_of))
    _fresh(oldest, base, target, now, max_age)
    units = {code: rate.rate for code, rate in from_eur.items() if rate is not None}  # 1 eur = units[code]
    if base == ECB_BASE:
        value = units[target]  # the ECB's own figure, exact
    elif target == ECB_BASE:
        value = _CROSS.divide(Decimal(1), units[base])
    else:
        value = _CROSS.divide(units[target], units[base])
    return ExchangeRate(base, target, money.canonical(value), oldest.as_of, "ecb")


# ---------------------------------------------------------------------------------------------- the ECB
class EcbDay(NamedTuple):
    """The ECB's daily document: its rates (eur -> each currency the platform knows) and the codes it skipped."""

    as_of: str
    rates: list[ExchangeRate]
    skipped: tuple[str, ...] = ()  # three-letter codes ISO 4217 no longer lists (BGN since the euro: 2026)


def parse_ecb_daily(document: bytes) -> EcbDay:
    """The rates of the ECB's eurofxref-daily.xml (parsed with defusedxml: no entities, no external DTD); each
    `eur -> <currency>`, as of 00:00 UTC of the reference day. A currency ISO 4217 does not list (any more) is
    skipped, named in `skipped`; anything else that is not that document raises RateFeedInvalid."""
    from defusedxml import ElementTree

    if len(document) > MAX_FEED_BYTES:
        raise RateFeedInvalid(f"the feed answered {len(document)} bytes, more than {MAX_FEED_BYTES}")
    try:
        root = ElementTree.fromstring(document)
    except Exception as exc:  # noqa: BLE001 - defusedxml raises ParseError or its own DefusedXmlException kinds
        raise RateFeedInvalid(f"the feed's answer is not XML: {type(exc).__name__}") from None
    days = [cube for cube in root.iter(f"{ECB_NAMESPACE}Cube") if "time" in cube.attrib]
    if len(days) != 1:
        raise RateFeedInvalid(f"expected one reference day, found {len(days)}")
    (day,) = days
    try:
        as_of = iso_z(datetime.combine(date.fromisoformat(day.attrib["time"]), datetime.min.time(), UTC))
    except ValueError:
        raise RateFeedInvalid("the reference day is not a date") from None
    found, skipped = [], []
    for cube in day.iter(f"{ECB_NAMESPACE}Cube"):
        if cube is day:
            continue
        code = cube.attrib.get("currency", "").lower()
        if not re.fullmatch(r"[a-z]{3}", code):
            raise RateFeedInvalid(f"a currency code is not three letters: {code[:8]!r}")
        try:
            value = Decimal(cube.attrib.get("rate", ""))
        except InvalidOperation:
            raise RateFeedInvalid(f"the rate of {code} is not a number") from None
        if not currencies.is_currency(code):
            skipped.append(code)
            continue
        rate = ExchangeRate(ECB_BASE, code, value, as_of, "ecb")
        if rate_problems(rate):
            raise RateFeedInvalid(f"the rate of {code} is not a usable rate")
        found.append(rate._replace(rate=money.canonical(value)))
    if not found:
        raise RateFeedInvalid("the reference day has no rates")
    return EcbDay(as_of, found, tuple(skipped))


def fetch_ecb_rates(feed: RateFeed, store: RateStore, *, now: datetime, max_age: timedelta) -> FetchReport:
    """The scheduled fetch: the ECB's document, parsed whole (a bad one writes nothing), each rate written if it
    is newer than the stored one (one batch read, then a conditional write per newer rate: a late run of an
    older document never overwrites a newer rate). When the document itself is older than `max_age` (the feed
    stopped moving), its rates are written and then RateFeedStale is raised: the run fails and its errors alarm
    tells the operator that checkouts converting through these rates are being refused."""
    document = feed.fetch()
    if document is None:
        return FetchReport(configured=False)
    day = parse_ecb_daily(document)
    keys: list[RateKey] = [("ecb", r.base, r.target) for r in day.rates]
    stored = {(r.base, r.target): r.as_of for r in store.read_rates(keys).run()}
    written = 0
    for rate in day.rates:
        previous = stored.get((rate.base, rate.target))
        if previous is not None and parse_as_of(previous) >= parse_as_of(rate.as_of):
            continue
        written += store.put_rate(rate)
    age = now - parse_as_of(day.as_of)
    if age > max_age:
        raise RateFeedStale(f"the feed's newest rates are of {day.as_of}, {_duration(age)} old")
    return FetchReport(configured=True, as_of=day.as_of, rates=len(day.rates), written=written, skipped=day.skipped)


# ---------------------------------------------------------------------------------------------- fee settings
def set_fee_settings(store: FeeSettingsStore, settings: FeeSettings, *, now: datetime) -> FeeSettings:
    """Store the platform's fee settings (the operator CLI's `fees set`, the local stack's seed), checked
    (InvalidFees names each bad field), as of `now`; a newer stored entry is never overwritten."""
    check_settings(settings)
    settings = settings._replace(
        provider_processing_fee_percent=money.canonical(settings.provider_processing_fee_percent),
        platform_fee_percent=money.canonical(settings.platform_fee_percent),
        provider_fixed_fees={c: money.canonical(v) for c, v in sorted(settings.provider_fixed_fees.items())},
        updated_at=iso_z(now),
    )
    if not store.put_fee_settings(settings):
        raise ValidationFailed(
            "Newer fee settings are stored",
            details=[field_error("updated_at", "older_than_stored", "settings as new or newer are stored")],
        )
    return settings


def fee_settings(store: FeeSettingsStore) -> FeeSettings:
    """The platform's fee settings; FeeSettingsMissing when none were ever set."""
    from payments_core.fees import FeeSettingsMissing

    found = store.get_fee_settings()
    if found is None:
        raise FeeSettingsMissing(None)
    return found


def public_rate(rate: ExchangeRate) -> dict[str, Any]:
    return {**rate._asdict(), "rate": str(rate.rate)}


def public_fee_settings(settings: FeeSettings) -> dict[str, Any]:
    return {
        "provider_processing_fee_percent": str(settings.provider_processing_fee_percent),
        "provider_fixed_fees": {c: str(v) for c, v in settings.provider_fixed_fees.items()},
        "platform_fee_percent": str(settings.platform_fee_percent),
        "updated_at": settings.updated_at,
    }
