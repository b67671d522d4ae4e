"""The widget route: the payment's own access_token only, and data a wallet can pay with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from payments_chain import workers
from payments_core import deps
from payments_core.domain import watcher
from payments_core.domain.entities import Network, PaymentChanges
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentStatus
from tests.integration.helpers import Api, drain
from tests.integration.test_chain_workers import evm  # noqa: F401 - the fixture
from tests.solidity.evm import System
from tests.support import stored

WIDGET = "/api/v1/widget/payments/{}"


def _create(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    r = api.call(
        "POST",
        "/api/v1/payments",
        token=token,
        json_body=api.payment_body(wallet_id=api.demo["wallet_id"], **overrides),
    )
    assert r.status == 201, r.body
    body: dict[str, Any] = r.json()
    return body


def test_widget_polls_then_pays_with_what_it_is_given(api: Api, evm: System, pollers: list[Any]) -> None:  # noqa: F811
    token = api.token()
    p = _create(api, token, price=25.75, paid_price=25.75)
    waiting = api.call("GET", WIDGET.format(p["id"]), token=p["access_token"])
    assert waiting.status == 202
    assert waiting.headers["Retry-After"] == "2"
    body = waiting.json()
    assert (body["status"], body["deal_id"], body["contract"], body["approve"]) == ("pending", None, None, None)

    drain(pollers)  # the create-deal worker makes the deal
    unverified = api.call("GET", WIDGET.format(p["id"]), token=p["access_token"])
    assert unverified.status == 202  # the deal exists, not yet verified at the network's confirmations
    assert (unverified.json()["status"], unverified.json()["deal_id"]) == ("open", None)
    network = deps.catalog().get(Network, stored(deps.payment_store(), p["id"]).network_id)
    assert network is not None
    evm.tester.mine_blocks(network.required_confirmations)
    watched = watcher.watch_all(workers.watcher_deps(), utcnow())  # the watcher verifies it
    assert [n["deals_verified"] for n in watched["networks"] if n["network_id"] == network.id] == [1]
    ready = api.call("GET", WIDGET.format(p["id"]), token=p["access_token"])
    assert ready.status == 200
    data = ready.json()
    assert data["network_id"] == 31337 or isinstance(data["network_id"], int)
    assert (data["deal_id"], data["price"], data["price_decimals"], data["currency"]) == (1, 25.75, 6, "USDT")
    assert (data["external_id"], data["node_id"], data["payment_address"]) == (
        p["external_id"],
        p["node_id"],
        p["payment_address"],
    )
    assert (data["diamond_address"], data["token_address"]) == (evm.payments.address, evm.usdt.address)
    assert data["amount_units"] == "25750000"
    # a wallet does exactly what the answer says: approve, then the contract call
    evm.usdt.functions.mint(evm.payer, 25_750_000).transact({"from": evm.owner})
    approve, call = data["approve"], data["contract"]
    token_contract = evm.w3.eth.contract(address=approve["address"], abi=approve["abi"])
    getattr(token_contract.functions, approve["function_name"])(*approve["arguments"]).transact({"from": evm.payer})
    assert call["function_name"] == "deposit"
    diamond = evm.w3.eth.contract(address=call["address"], abi=call["abi"])
    getattr(diamond.functions, call["function_name"])(*call["arguments"]).transact({"from": evm.payer})
    assert evm.usdt.functions.balanceOf(evm.payments.address).call() == 25_750_000
    assert evm.payments.functions.getDeal(1).call()[7] == 2  # Paid


def test_widget_refuses_every_other_credential(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    q = _create(api, token, external_id="other")
    url = WIDGET.format(p["id"])
    assert api.call("GET", url).status == 401  # no token
    assert api.call("GET", url, token=token).status == 401  # an integration JWT
    assert api.call("GET", url, token=q["access_token"]).status == 401  # another payment's token
    assert api.call("GET", url, token=p["access_token"] + "x").status == 401  # a wrong secret
    assert api.call("GET", url, token="pwt_garbage").status == 401
    r = api.call("GET", url, token=q["access_token"])
    assert r.json()["error"]["code"] == "unauthorized"
    assert api.call("GET", url, token=p["access_token"]).status == 202  # its own token opens it


def test_an_expired_widget_token_is_401(api: Api) -> None:
    token = api.token()
    p = _create(api, token)
    store = deps.payment_store()
    record = stored(store, p["id"])
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    store.update(record, cast(PaymentChanges, {"expires_at": past}))  # not a change the domain makes
    assert api.call("GET", WIDGET.format(p["id"]), token=p["access_token"]).status == 401


def test_a_card_payment_has_no_widget_data(api: Api) -> None:
    token = api.token()
    p = _create(api, token, payment_method="credit_card")
    r = api.call("GET", WIDGET.format(p["id"]), token=p["access_token"])
    assert (r.status, r.json()["error"]["code"]) == (404, "payment_not_found")


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_a_final_payment_without_deal_answers_200_with_its_status(api: Api, status: str) -> None:
    token = api.token()
    p = _create(api, token)
    store = deps.payment_store()
    record = stored(store, p["id"])
    store.update(record, {"status": PaymentStatus(status)})
    r = api.call("GET", WIDGET.format(p["id"]), token=p["access_token"])
    assert (r.status, r.json()["status"], r.json()["contract"]) == (200, status, None)
