"""NoRamp checkout's writes on moto: the app's listing, a dynamic price taken once, the rate windows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments_core import deps
from payments_core.domain.entities import Price
from payments_core.domain.stores import PriceTaken
from payments_core.settings import get_settings
from payments_core.store import aws
from payments_core.store.payments import DynamoPaymentStore, app_listing
from payments_core.store.rate_limits import DynamoRateLimiter
from tests.integration.helpers import Api
from tests.support import a_payment


def _price(kind: str) -> Price:
    return Price(
        id=f"price_{kind}",
        app_id="app_1",
        type=kind,
        name="A ticket",
        amount=Decimal(50),
        currency="usd",
        created_at="2030-01-01T00:00:00Z",
        updated_at="2030-01-01T00:00:00Z",
    )


def test_a_dynamic_price_is_checked_out_once_and_the_loser_writes_nothing(api: Api) -> None:
    store = deps.checkout_store()
    assert isinstance(store, DynamoPaymentStore)
    deps.catalog().put_new(_price("dynamic"))
    first, second = a_payment(id="pay_1", external_id="pay_1"), a_payment(id="pay_2", external_id="pay_2")
    store.insert_checkout(first, app_listing("app_1"), single_use_price="price_dynamic")
    with pytest.raises(PriceTaken):
        store.insert_checkout(second, app_listing("app_1"), single_use_price="price_dynamic")
    stored = deps.catalog().get(Price, "price_dynamic")
    assert stored is not None
    assert (stored.expired, stored.updated_at) == (True, first.created_at)
    assert store.get("pay_2") is None
    total, page = store.page(app_listing("app_1"), 0, 10)
    assert (total, [p.id for p in page]) == (1, ["pay_1"])


def test_a_static_price_lists_every_checkout_newest_first(api: Api) -> None:
    store = deps.checkout_store()
    for i in range(3):
        store.insert_checkout(a_payment(id=f"pay_s{i}", external_id=f"pay_s{i}"), app_listing("app_2"))
    total, page = store.page(app_listing("app_2"), 0, 2)
    assert (total, [p.id for p in page]) == (3, ["pay_s2", "pay_s1"])


def test_a_deleted_dynamic_price_cannot_be_taken(api: Api) -> None:
    deps.catalog().put_new(_price("dynamic")._replace(id="price_gone", deleted=True))
    with pytest.raises(PriceTaken):
        deps.checkout_store().insert_checkout(
            a_payment(id="pay_3", external_id="pay_3"), app_listing("app_1"), "price_gone"
        )


def test_a_rate_window_refuses_past_its_limit_and_the_next_window_starts_afresh(api: Api) -> None:
    now = [1_000_000.5]
    limiter = DynamoRateLimiter(aws.dynamodb(), get_settings().payment_index_table, clock=lambda: now[0])
    answers = [limiter.take("price#p1", limit=3, window_seconds=60) for _ in range(5)]
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None
    assert 1 <= answers[3] <= 60
    assert limiter.take("ip#1.2.3.4", limit=3, window_seconds=60) is None  # another subject: its own window
    now[0] += 60
    assert limiter.take("price#p1", limit=3, window_seconds=60) is None
