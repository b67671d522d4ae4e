"""domain/app_payments.py on fakes: NoRamp's checkout (limits, prices, parameters, fees, conversion, single use)
and the app-scoped view and list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from payments_core.domain import app_payments
from payments_core.domain.access import Principal
from payments_core.domain.app_payments import CheckoutDeps, CheckoutLimits, ViewDeps
from payments_core.domain.entities import App, AppOwner, Price, Trigger
from payments_core.domain.payments import noramp_payment_id
from payments_core.domain.rates import ExchangeRate
from payments_core.errors import Conflict, DomainError, NotFound, ServiceUnavailable, TooManyRequests
from payments_core.fees import FeeSettings
from payments_core.models.app_payments import CheckoutRequest
from payments_core.models.enums import NoRampStatus, PaymentMethod, PaymentStatus
from payments_core.store.payments import app_listing
from tests.unit.fakes import FakeCatalog, FakePaymentStore
from tests.unit.rate_fakes import FakeFeeSettingsStore, FakeRateStore

NODE = "00000000-0000-4000-8000-000000000001"
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
APP_ID = "app_" + "a" * 32
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
SETTINGS = FeeSettings(
    provider_processing_fee_percent=Decimal("2.9"),
    provider_fixed_fees={"usd": Decimal("0.25"), "jpy": Decimal(30)},
    platform_fee_percent=Decimal("3.9"),
    updated_at="2030-01-01T00:00:00Z",
)


class FakeLimiter:
    def __init__(self, limit_of: dict[str, int] | None = None) -> None:
        self.counts: dict[str, int] = {}
        self.limit_of = limit_of or {}

    def take(self, subject: str, *, limit: int, window_seconds: int) -> int | None:
        self.counts[subject] = self.counts.get(subject, 0) + 1
        return 17 if self.counts[subject] > self.limit_of.get(subject.split("#", maxsplit=1)[0], limit) else None


class World:
    def __init__(self, *, limits: dict[str, int] | None = None, settings: FeeSettings | None = SETTINGS) -> None:
        self.catalog = FakeCatalog()
        self.payments = FakePaymentStore(self.catalog)
        self.limiter = FakeLimiter(limits)
        self.rates = FakeRateStore()
        self.deps = CheckoutDeps(
            catalog=self.catalog,
            payments=self.payments,
            limiter=self.limiter,
            fee_settings=FakeFeeSettingsStore(settings),
            rates=self.rates,
            limits=CheckoutLimits(per_price=100, per_address=100, window_seconds=60),
            rate_max_age=timedelta(days=4),
            ttl=timedelta(days=1),
        )
        self.app = self.catalog.add(
            App(
                id=APP_ID,
                node_id=NODE,
                node_path=(NODE,),
                name="Demo",
                type="individual",
                status="active",
                app_fee=Decimal(0),
                owner=AppOwner("u1", "owner"),
                created_at="2030-01-01T00:00:00Z",
                updated_at="2030-01-01T00:00:00Z",
            )
        )
        self.trigger = self.catalog.add(
            Trigger(
                id="tri_" + "b" * 32,
                app_id=APP_ID,
                wallet_id="wal_" + "c" * 32,
                name="Send",
                call_data={"evm": {"contract": ADDRESS}},
                params_data={
                    "to": {"name": "to", "type": "address", "optional": False, "nullable": False},
                    "seat": {"name": "seat", "type": "uint256", "optional": False, "nullable": False},
                },
            )
        )

    def price(self, suffix: str = "d", **fields: Any) -> Price:
        values: dict[str, Any] = {
            "id": "price_" + suffix * 32,
            "app_id": APP_ID,
            "type": "static",
            "name": "Ticket",
            "amount": Decimal(50),
            "currency": "usd",
            "trigger_id": self.trigger.id,
            "trigger_data": {"params_data": {"to": ADDRESS}},
            "created_at": "2030-01-01T00:00:00Z",
            "updated_at": "2030-01-01T00:00:00Z",
            **fields,
        }
        return self.catalog.add(Price(**values))

    def checkout(self, price: Price, ip: str | None = "203.0.113.9", **body: Any) -> Any:
        req = CheckoutRequest.model_validate(
            {"payment_provider": "card", "trigger_data_input": {"params_data_input": {"seat": 7}}, **body}
        )
        return app_payments.checkout(self.deps, price.id, req, source_ip=ip, now=NOW)

    def view_deps(self) -> ViewDeps:
        return ViewDeps(catalog=self.catalog, payments=self.payments)


KEY = Principal(actor_type="app_key", actor_id="key_0123456789abcdef", node_id="", app_id=APP_ID)


def test_noramps_published_example_comes_out_of_a_checkout() -> None:
    world = World()
    answer = world.checkout(world.price())
    item = answer.price_item
    assert (item.amount, item.amount_total, item.amount_transaction_fee) == (
        Decimal(50),
        Decimal("51.75"),
        Decimal("1.75"),
    )
    assert answer.final_amount == Decimal("51.75")
    assert answer.status is NoRampStatus.PENDING
    assert answer.trigger_data_input.params_data_input == {"to": ADDRESS, "seat": 7}
    stored = world.payments.inserted[0]
    assert stored.payment_method is PaymentMethod.CREDIT_CARD
    assert (stored.status, stored.app_id, stored.node_id) == (PaymentStatus.PENDING, APP_ID, NODE)
    assert stored.paid_price == Decimal("51.75")
    assert stored.expires_at == "2030-01-02T12:00:00.000000Z"
    assert answer.id == noramp_payment_id(stored.id)
    assert answer.payment_token == stored.access_token
    assert world.payments.positions[app_listing(APP_ID)] == [stored.id]
    assert world.catalog.get(Price, "price_" + "d" * 32).views == 1  # type: ignore[union-attr]


def test_a_bank_checkout_is_a_bank_transfer_payment() -> None:
    world = World()
    world.checkout(world.price(), payment_provider="us_bank_account")
    assert world.payments.inserted[0].payment_method is PaymentMethod.BANK_TRANSFER


def test_a_dynamic_price_is_sold_once_then_expired() -> None:
    world = World()
    price = world.price(type="dynamic")
    world.checkout(price)
    assert world.catalog.get(Price, price.id).expired  # type: ignore[union-attr]
    with pytest.raises(Conflict) as refused:
        world.checkout(price)
    assert refused.value.code == "price_expired"
    assert len(world.payments.inserted) == 1


def test_a_missing_parameter_or_a_contradicted_one_is_a_422_naming_it() -> None:
    world = World()
    price = world.price()
    with pytest.raises(DomainError) as missing:
        world.checkout(price, trigger_data_input={"params_data_input": {}})
    assert missing.value.status_code == 422
    assert [d["field"] for d in missing.value.details] == ["body.trigger_data_input.params_data_input.seat"]
    with pytest.raises(DomainError) as redirected:
        world.checkout(price, trigger_data_input={"params_data_input": {"seat": 1, "to": "0x" + "1" * 40}})
    assert [d["code"] for d in redirected.value.details] == ["param_fixed_by_price"]
    assert world.payments.inserted == []


def test_the_limits_per_price_and_per_address_answer_429_before_anything_is_read() -> None:
    world = World(limits={"ip": 1})
    price = world.price()
    world.checkout(price)
    with pytest.raises(TooManyRequests) as limited:
        world.checkout(price)
    assert limited.value.code == "checkout_rate_limited"
    world.checkout(price, ip="198.51.100.1")  # another address
    assert len(world.payments.inserted) == 2


def test_unknown_deleted_expired_prices_and_a_disabled_app_are_refused() -> None:
    world = World()
    with pytest.raises(NotFound):
        world.checkout(world.price("e", deleted=True))
    with pytest.raises(Conflict) as expired:
        world.checkout(world.price("f", expired=True))
    assert expired.value.code == "price_expired"
    world.catalog.add(world.app._replace(status="disabled"))
    with pytest.raises(Conflict) as disabled:
        world.checkout(world.price())
    assert disabled.value.code == "app_not_active"


def test_a_price_whose_trigger_was_deleted_is_not_sold() -> None:
    world = World()
    price = world.price()
    world.catalog.add(world.trigger._replace(deleted=True))
    with pytest.raises(Conflict) as refused:
        world.checkout(price)
    assert refused.value.code == "trigger_not_found"
    assert world.payments.inserted == []


def test_no_fee_settings_or_no_fixed_fee_for_the_currency_is_503() -> None:
    unset = World(settings=None)
    with pytest.raises(ServiceUnavailable) as none:
        unset.checkout(unset.price())
    assert none.value.code == "fee_settings_missing"
    world = World()
    with pytest.raises(ServiceUnavailable) as eur:
        world.checkout(world.price(currency="eur"))
    assert eur.value.code == "fee_settings_missing"


def test_a_conversion_is_frozen_at_the_checkouts_rate_and_a_stale_rate_is_503() -> None:
    world = World()
    world.rates.put_rate(ExchangeRate("usd", "eur", Decimal("0.9213"), "2030-01-01T00:00:00Z", "operator"))
    answer = world.checkout(world.price(currency_conversion="eur"))
    conversion = answer.price_item.conversion
    assert conversion is not None
    assert (conversion.currency, conversion.exchange) == ("eur", Decimal("0.9213"))
    assert conversion.amount_seller + conversion.amount_platform + conversion.amount_app == conversion.amount
    stale = World()
    stale.rates.put_rate(ExchangeRate("usd", "eur", Decimal("0.9"), "2029-12-01T00:00:00Z", "operator"))
    with pytest.raises(ServiceUnavailable) as refused:
        stale.checkout(stale.price(currency_conversion="eur"))
    assert refused.value.code == "exchange_rate_unavailable"


def test_the_view_answers_the_app_and_another_apps_payment_is_the_same_404() -> None:
    world = World()
    created = world.checkout(world.price())
    got = app_payments.get_app_payment(world.view_deps(), KEY, APP_ID, created.id)
    assert got.model_dump() == created.model_dump() | {"app": got.app.model_dump()}
    assert got.app.id == APP_ID
    other = Principal(actor_type="app_key", actor_id="key_1", node_id="", app_id="app_" + "9" * 32)
    with pytest.raises(NotFound) as stranger:
        app_payments.get_app_payment(world.view_deps(), other, APP_ID, created.id)
    assert stranger.value.code == "app_not_found"
    for unknown in ("pay_" + "0" * 32, "nope", created.id.upper()):
        with pytest.raises(NotFound) as missing:
            app_payments.get_app_payment(world.view_deps(), KEY, APP_ID, unknown)
        assert missing.value.code == "payment_not_found"


def test_the_list_is_newest_first_with_the_exact_total() -> None:
    world = World()
    price = world.price()
    ids = [world.checkout(price).id for _ in range(3)]
    page = app_payments.list_app_payments(world.view_deps(), KEY, APP_ID, page=1, per_page=2)
    assert [p.id for p in page.items] == ids[::-1][:2]
    assert (page.total, page.page, page.per_page) == (3, 1, 2)
    rest = app_payments.list_app_payments(world.view_deps(), KEY, APP_ID, page=2, per_page=2)
    assert [p.id for p in rest.items] == [ids[0]]


def test_every_platform_status_reads_as_noramps_in_the_view() -> None:
    world = World()
    created = world.checkout(world.price())
    stored = world.payments.inserted[0]
    for status in (PaymentStatus.HOLD, PaymentStatus.CONFIRMED, PaymentStatus.EXPIRED):
        world.payments.items[stored.id] = stored._replace(status=status)
        got = app_payments.get_app_payment(world.view_deps(), KEY, APP_ID, created.id)
        assert got.status.value == {"hold": "hold", "confirmed": "paid", "expired": "cancelled"}[status.value]
