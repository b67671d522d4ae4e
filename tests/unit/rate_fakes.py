"""In-memory RateStore and FeeSettingsStore (payments_core.domain.stores), kept apart from fakes.py: the same
conditional rules as store/rates.py (a write older than or as old as the stored one is refused)."""

from __future__ import annotations

from collections.abc import Sequence

from payments_core.domain.rates import ExchangeRate, RateKey, parse_as_of
from payments_core.domain.stores import FeeSettingsStore, RateStore
from payments_core.fees import FeeSettings
from payments_core.store.batch import PendingRead


class FakeRateStore:
    def __init__(self, *rates: ExchangeRate) -> None:
        self.rates: dict[RateKey, ExchangeRate] = {}
        self.reads: list[list[RateKey]] = []
        self.puts = 0
        for rate in rates:
            self.put_rate(rate)

    def read_rates(self, keys: Sequence[RateKey]) -> PendingRead[list[ExchangeRate]]:
        self.reads.append(list(keys))
        return PendingRead.ready([self.rates[k] for k in dict.fromkeys(keys) if k in self.rates])

    def put_rate(self, rate: ExchangeRate) -> bool:
        key = (rate.source, rate.base, rate.target)
        stored = self.rates.get(key)
        if stored is not None and parse_as_of(stored.as_of) >= parse_as_of(rate.as_of):
            return False
        self.rates[key] = rate
        self.puts += 1
        return True

    def list_rates(self) -> list[ExchangeRate]:
        return list(self.rates.values())


class FakeFeeSettingsStore:
    def __init__(self, settings: FeeSettings | None = None) -> None:
        self.settings = settings

    def get_fee_settings(self) -> FeeSettings | None:
        return self.settings

    def read_fee_settings(self) -> PendingRead[FeeSettings | None]:
        return PendingRead.ready(self.settings)

    def put_fee_settings(self, settings: FeeSettings) -> bool:
        if self.settings is not None and parse_as_of(self.settings.updated_at) >= parse_as_of(settings.updated_at):
            return False
        self.settings = settings
        return True


class FakeRateFeed:
    def __init__(self, document: bytes | None) -> None:
        self.document = document
        self.fetches = 0

    def fetch(self) -> bytes | None:
        self.fetches += 1
        return self.document


def _conforms(rates: FakeRateStore, fees: FakeFeeSettingsStore, feed: FakeRateFeed) -> None:
    """Never called: mypy checks that each fake implements its protocol."""
    from payments_core.domain.rates import RateFeed

    _rates: RateStore = rates
    _fees: FeeSettingsStore = fees
    _feed: RateFeed = feed
