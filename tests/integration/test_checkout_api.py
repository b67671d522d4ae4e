"""NoRamp's checkout and app-scoped payments through the gateway (the template's routes, authorizers and
functions on moto), on the seeded demo app, key and price."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any
from unittest import mock

from payments_core import deps
from payments_core.domain.entities import Price
from payments_core.http.json_codec import loads
from payments_core.settings import get_settings
from tests.integration.helpers import Api


def _checkout(api: Api, price_id: str | None = None, **body: Any) -> Any:
    return api.call(
        "POST", f"/checkout/{price_id or api.demo['price_id']}", json_body={"payment_provider": "card", **body}
    )


def _as_app(api: Api, path: str) -> Any:
    return api.gateway.request("GET", path, headers={"x-api-key": api.demo["app_api_key"]})


def test_a_checkout_is_201_with_the_published_fees_and_the_app_reads_it_back(api: Api) -> None:
    r = _checkout(api)
    assert r.status == 201, r.body
    created = loads(r.body)
    assert created["price_item"]["amount_total"] == Decimal("51.75")
    assert created["status"] == "pending"
    got = _as_app(api, f"/payments/{api.demo['app_id']}/{created['id']}")
    assert got.status == 200, got.body
    read = loads(got.body)
    assert read["app"]["permissions"]["can_view"]  # computed for the caller: the app's key here
    assert {k: v for k, v in read.items() if k != "app"} == {k: v for k, v in created.items() if k != "app"}
    listed = _as_app(api, f"/payments/{api.demo['app_id']}")
    assert listed.status == 200, listed.body
    assert [p["id"] for p in listed.json()["items"]] == [created["id"]]
    price = deps.catalog().get(Price, api.demo["price_id"])
    assert price is not None
    assert price.views == 1


def test_the_payments_log_is_the_integrator_apis(api: Api, stream_pollers: list[Any]) -> None:
    created = _checkout(api).json()
    for poller in stream_pollers:
        poller.poll_once()
    logs = api.call("GET", f"/api/v1/payments/{created['id']}/logs", token=api.token())
    assert logs.status == 200, logs.body
    assert [e["event_type"] for e in logs.json()["items"]] == ["created"]
    # The integrator API's own views do not show an app's payment (its shape is NoRamp's).
    uuid_form = logs.json()["items"][0]["payment_id"]
    assert api.call("GET", f"/api/v1/payments/{uuid_form}", token=api.token()).status == 404


def test_over_the_per_price_limit_is_429_with_retry_after(api: Api) -> None:
    with mock.patch.dict(os.environ, {"CHECKOUT_LIMIT_PER_PRICE": "2"}):
        deps.checkout_deps.cache_clear()
        get_settings.cache_clear()
        try:
            answers = [_checkout(api) for _ in range(3)]
        finally:
            deps.checkout_deps.cache_clear()
            get_settings.cache_clear()
    assert [a.status for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "checkout_rate_limited"
    assert answers[2].headers.get("Retry-After")


def test_a_price_converting_to_another_currency_checks_out_at_the_operators_rate(api: Api) -> None:
    created = api.call(
        "POST",
        f"/prices/{api.demo['app_id']}",
        token=api.token(),
        json_body={
            "name": "Converted ticket",
            "type": "static",
            "amount": "50",
            "currency": "usd",
            "currency_conversion": "eur",
            "trigger_id": api.demo["trigger_id"],
            "trigger_data": {"params_data": {"to": "0x" + "11" * 20, "amount": 1}},
        },
    )
    assert created.status == 201, created.body
    r = _checkout(api, created.json()["id"])
    assert r.status == 201, r.body
    conversion = loads(r.body)["price_item"]["conversion"]
    assert conversion["currency"] == "eur"
    assert conversion["exchange"] == Decimal("0.9213")  # the seeded operator rate
    assert conversion["converted_amount"] == Decimal("46.06")  # 50 x 0.9213 = 46.065, half to even (docs/fees.md)
