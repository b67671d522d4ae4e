"""NoRamp's checkout and app-scoped payment view over HTTP, on the local stack's demo app (`.dev/demo.json`:
app_id, app_api_key, price_id): the seed's example fees (50 usd, 2.9 % + 0.25, 3.9 %) come out at 51.75."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from payments_core.http.json_codec import loads
from tests.e2e.helpers import Client, assert_error, wait_for_logs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _key(client: Client) -> dict[str, str]:
    return {"x-api-key": client.demo["app_api_key"]}


def _checkout(client: Client, price_id: str | None = None, **body: Any) -> httpx.Response:
    return client.http.post(
        f"/checkout/{price_id or client.demo['price_id']}", json={"payment_provider": "card", **body}
    )


def test_a_checkout_of_the_demo_price_is_pending_with_noramps_published_fees(client: Client) -> None:
    r = _checkout(client)
    assert r.status_code == 201, r.text
    body = loads(r.text)  # Decimal, as written
    assert body["status"] == "pending"
    assert body["id"].startswith("pay_")
    assert body["payment_provider"] == "card"
    item = body["price_item"]
    assert (item["amount"], item["amount_total"], item["currency"]) == (Decimal(50), Decimal("51.75"), "usd")
    assert body["final_amount"] == Decimal("51.75")
    assert item["amount_total"] == item["amount"] + item["amount_transaction_fee"]
    assert item["amount_seller"] + item["amount_platform"] + item["amount_app"] == item["amount"]
    assert body["app"]["id"] == client.demo["app_id"]
    assert body["price"]["id"] == client.demo["price_id"]
    assert body["payment_token"]
    assert body["trigger_data_input"]["params_data_input"]  # all of them from the price's trigger_data
    assert '"amount_total":51.75' in r.text.replace(" ", "")  # a JSON number, from the Decimal's text


def test_the_app_reads_its_payment_with_its_key_in_every_form_and_lists_it_first(client: Client) -> None:
    created = _checkout(client).json()
    key = client.demo["app_api_key"]
    forms = [
        {"x-api-key": key},
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        client.auth("root"),  # an integration of the app's node
    ]
    for headers in forms:
        r = client.http.get(f"/payments/{client.demo['app_id']}/{created['id']}", headers=headers)
        assert r.status_code == 200, (headers.keys(), r.text)
        read = r.json()
        assert read["app"]["id"] == created["app"]["id"]  # its permissions are the caller's
        assert {k: v for k, v in read.items() if k != "app"} == {k: v for k, v in created.items() if k != "app"}
    listed = client.http.get(f"/payments/{client.demo['app_id']}", params={"per_page": 5}, headers=_key(client))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["items"][0]["id"] == created["id"]
    assert page["total"] >= 1
    assert (page["page"], page["per_page"]) == (1, 5)


def test_an_unknown_payment_and_another_apps_are_the_same_404(client: Client) -> None:
    created = _checkout(client).json()
    unknown = "pay_" + uuid.uuid4().hex
    r = client.http.get(f"/payments/{client.demo['app_id']}/{unknown}", headers=_key(client))
    assert_error(r, 404, "payment_not_found")
    other_app = client.http.get(f"/payments/app_{uuid.uuid4().hex}/{created['id']}", headers=client.auth("root"))
    assert_error(other_app, 404, "app_not_found")
    stranger = client.http.get(f"/payments/{client.demo['app_id']}/{created['id']}", headers=client.auth("other"))
    assert_error(stranger, 404, "app_not_found")


def test_no_key_or_a_wrong_key_is_401(client: Client) -> None:
    path = f"/payments/{client.demo['app_id']}"
    assert_error(client.http.get(path), 401, "unauthorized")
    wrong = "nrk_" + "0" * 16 + "_" + "A" * 43
    assert_error(client.http.get(path, headers={"x-api-key": wrong}), 401, "unauthorized")


def test_a_checkout_is_logged_like_any_payment(client: Client) -> None:
    created = _checkout(client).json()
    logs = wait_for_logs(client, created["id"], 1)
    assert logs["items"][0]["event_type"] == "created"
    assert logs["items"][0]["actor_type"] == "payer"


def test_bad_checkouts_are_4xx_naming_what_is_wrong(client: Client) -> None:
    assert_error(_checkout(client, price_id=f"price_{uuid.uuid4().hex}"), 404, "price_not_found")
    bad_provider = client.http.post(f"/checkout/{client.demo['price_id']}", json={"payment_provider": "cash"})
    details = assert_error(bad_provider, 422, "validation_error")["details"]
    assert details[0]["field"] == "body.payment_provider"
    unknown_param = _checkout(client, trigger_data_input={"params_data_input": {"nope": 1}})
    details = assert_error(unknown_param, 422, "validation_error")["details"]
    assert details[0]["field"].startswith("body.trigger_data_input.params_data_input")
