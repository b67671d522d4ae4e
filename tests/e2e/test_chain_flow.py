"""A web3 payment end to end over HTTP, on the local stack's chain (anvil, a block a second; the demo network
needs 2 confirmations): the create-deal worker puts the deal on chain, the demo payer pays exactly as the widget
data says, the watcher sees the deposit and its confirmations, and cancel refunds or voids the deal on chain."""

from __future__ import annotations

import time
from typing import Any

import pytest
from web3.logs import DISCARD

from devstack import chain
from tests.e2e.helpers import (
    CHAIN_WAIT,
    DEAL_STATUS,
    Client,
    deal_created_events,
    diamond,
    get_payment,
    pay_as_widget,
    tx_hex,
    wait_for_logs,
    wait_for_status,
    wait_for_widget,
    widget_call,
    widget_data,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2: receives nothing here (escrow)


def _ref(payment_id: str) -> str:
    from payments_core.domain.payments import deal_ref

    return deal_ref(payment_id)


def _open_payment(client: Client, price: float) -> dict[str, Any]:
    r = client.create(price=price, paid_price=price, payment_address=PAYEE)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    assert created["status"] == "pending"
    return wait_for_status(client, created["id"], "open")


def _token(w3: Any, demo: dict[str, Any]) -> Any:
    return chain.contract_at(w3, "MockUSDT", demo["token_address"])


def _logs(client: Client, payment_id: str, total: int) -> list[dict[str, Any]]:
    """The payment's log entries, oldest first."""
    return list(reversed(wait_for_logs(client, payment_id, total)["items"]))


def test_web3_payment_goes_open_paid_confirmed_and_logs_every_step(client: Client, chain_w3: Any) -> None:
    w3, demo = chain_w3, client.demo
    r = client.create(price=7.25, paid_price=7.25, payment_address=PAYEE)
    assert r.status_code == 201, r.text
    created = r.json()
    payment_id = created["id"]

    # Until the worker has the deal, the widget says to poll.
    early = widget_data(client, created)
    if early.status_code == 202:
        assert early.headers["Retry-After"] == "2"
        assert early.json()["deal_id"] is None
        assert early.json()["approve"] is None
        assert early.json()["contract"] is None
    else:
        assert early.status_code == 200, early.text  # the worker was faster than this request

    # The deal is on chain: open, with its deal id and the createDeal transaction.
    opened = wait_for_status(client, payment_id, "open")
    deal_id = opened["deal_id"]
    assert isinstance(deal_id, int)
    assert deal_id > 0
    receipt = w3.eth.get_transaction_receipt(opened["deal_transaction_hash"])
    assert receipt["status"] == 1
    assert tx_hex(receipt["transactionHash"]) == opened["deal_transaction_hash"].lower()
    facet = diamond(w3, demo)
    (event,) = facet.events.DealCreated().process_receipt(receipt)
    assert event["args"]["dealId"] == deal_id
    assert tx_hex(event["args"]["ref"]) == _ref(payment_id)
    assert facet.functions.dealIdOf(bytes.fromhex(_ref(payment_id)[2:])).call() == deal_id
    ref, _creator, payee, token, amount, expires_at, payer, status = facet.functions.getDeal(deal_id).call()
    assert (tx_hex(ref), payee, token, amount, status) == (
        _ref(payment_id),
        PAYEE,
        demo["token_address"],
        7_250_000,
        DEAL_STATUS["open"],
    )
    assert expires_at > w3.eth.get_block("latest")["timestamp"]
    assert payer == "0x" + "00" * 20

    # The widget data with the payment's access_token, once the watcher verified the deal at the network's
    # confirmations: approve the amount for the diamond, then deposit(dealId).
    r = wait_for_widget(client, opened)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["deal_id"] == deal_id
    assert data["network_id"] == demo["evm_chain_id"]
    assert data["amount_units"] == "7250000"
    assert data["approve"]["address"] == demo["token_address"]
    assert data["approve"]["function_name"] == "approve"
    assert data["approve"]["arguments"] == [demo["diamond_address"], 7_250_000]
    assert data["contract"]["address"] == demo["diamond_address"]
    assert data["contract"]["function_name"] == "deposit"
    assert data["contract"]["arguments"] == [deal_id]

    balance = _token(w3, demo).functions.balanceOf(demo["payer_address"]).call()
    _, deposit = pay_as_widget(client, w3, opened)
    deposit_hash, deposit_block = tx_hex(deposit["transactionHash"]), int(deposit["blockNumber"])
    assert _token(w3, demo).functions.balanceOf(demo["payer_address"]).call() == balance - 7_250_000

    # paid: the deposit, its payer and block (the watcher may see it with 2 confirmations at once: confirmed).
    paid = wait_for_status(client, payment_id, "paid", "confirmed")
    assert paid["transaction_hash"] == deposit_hash
    assert paid["payer"] == demo["payer_address"]
    assert paid["block_number"] == deposit_block
    assert paid["deal_transaction_hash"] == opened["deal_transaction_hash"]
    if paid["status"] == "paid":
        # Counted when the deposit is seen (1, or already 2 for a moment before the same run confirms it).
        progress = paid["confirmation_status"]
        assert progress["required_confirmations"] == 2
        assert progress["confirmations"] in (1, 2)
        assert progress["progress"] == 50 * progress["confirmations"]
        assert progress["confirmed"] is (progress["confirmations"] == 2)

    confirmed = wait_for_status(client, payment_id, "confirmed")
    assert w3.eth.block_number >= deposit_block + 1  # 2 confirmations: the deposit's block and one on top
    status = confirmed["confirmation_status"]
    assert {k: status[k] for k in ("required_confirmations", "confirmations", "progress", "confirmed")} == {
        "required_confirmations": 2,
        "confirmations": 2,
        "progress": 100,
        "confirmed": True,
    }
    assert status["average_seconds"] == 0
    assert (confirmed["transaction_hash"], confirmed["payer"], confirmed["block_number"]) == (
        deposit_hash,
        demo["payer_address"],
        deposit_block,
    )
    assert facet.functions.getDeal(deal_id).call()[7] == DEAL_STATUS["paid"]

    # The logs tell every step, in order, each by its actor. The deal is verified (the watcher, at the network's
    # 2 confirmations) before the deposit: the widget gave the payer the deal only once it was.
    logs = _logs(client, payment_id, 6)
    assert [(e["event_type"], e["actor_type"], e["status_before"], e["status_after"]) for e in logs] == [
        ("created", "integration", None, "pending"),
        ("deal_sending", "system", "pending", "sending"),
        ("deal_created", "chain", "sending", "open"),
        ("deal_verified", "chain", "open", "open"),
        ("deposit_seen", "chain", "open", "paid"),
        ("confirmed", "chain", "paid", "confirmed"),
    ]
    assert logs[0]["actor_id"] == demo["integrations"]["root"]["client_id"]
    assert str(deal_id) in logs[2]["message"]
    assert f"Deal {deal_id} checked on chain at 2 confirmations" in logs[3]["message"]
    assert logs[3]["actor_id"] == "chain-watcher"
    assert deposit_hash in logs[4]["message"]
    assert str(deposit_block) in logs[4]["message"]
    assert deposit_hash in logs[5]["message"]
    stamps = [e["created_at"] for e in logs]
    assert stamps == sorted(stamps)


def test_cancel_of_a_paid_payment_refunds_the_payer_on_chain(client: Client, chain_w3: Any) -> None:
    w3, demo = chain_w3, client.demo
    opened = _open_payment(client, 3.5)
    payment_id, deal_id = opened["id"], opened["deal_id"]
    token = _token(w3, demo)
    before = token.functions.balanceOf(demo["payer_address"]).call()
    _, deposit = pay_as_widget(client, w3, opened)
    assert token.functions.balanceOf(demo["payer_address"]).call() == before - 3_500_000
    paid = wait_for_status(client, payment_id, "paid", "confirmed")
    assert paid["transaction_hash"] == tx_hex(deposit["transactionHash"])

    r = client.http.post(f"/api/v1/payments/{payment_id}/cancel", json={}, headers=client.auth())
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted"}
    refunded = wait_for_status(client, payment_id, "refunded")
    assert refunded["deal_id"] == deal_id

    # On chain: the deal is Refunded, the diamond sent the amount back, the payer has what it had.
    facet = diamond(w3, demo)
    assert facet.functions.getDeal(deal_id).call()[7] == DEAL_STATUS["refunded"]
    cancels = facet.events.DealCancelled().get_logs(
        from_block=int(deposit["blockNumber"]), to_block="latest", argument_filters={"dealId": deal_id}
    )
    assert [e["args"]["refunded"] for e in cancels] == [True]
    refund_receipt = w3.eth.get_transaction_receipt(cancels[0]["transactionHash"])
    transfers = token.events.Transfer().process_receipt(refund_receipt, errors=DISCARD)
    assert [(t["args"]["from"], t["args"]["to"], t["args"]["value"]) for t in transfers] == [
        (demo["diamond_address"], demo["payer_address"], 3_500_000)
    ]
    assert token.functions.balanceOf(demo["payer_address"]).call() == before

    # Cancel again: refunded is final.
    again = client.http.post(f"/api/v1/payments/{payment_id}/cancel", json={}, headers=client.auth())
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "payment_already_refunded"

    logs = _logs_until(client, payment_id, "refunded")
    steps = [(e["event_type"], e["actor_type"], e["status_after"]) for e in logs]
    # The deposit may have reached `confirmed` before the cancel (then refunded from there): one entry more.
    confirmed_first = [("confirmed", "chain", "confirmed")] if ("confirmed", "chain", "confirmed") in steps else []
    assert confirmed_first or paid["status"] == "paid"
    assert steps == [
        ("created", "integration", "pending"),
        ("deal_sending", "system", "sending"),
        ("deal_created", "chain", "open"),
        ("deal_verified", "chain", "open"),  # before the widget gave the payer the deal
        ("deposit_seen", "chain", "paid"),
        *confirmed_first,
        ("cancel_requested", "integration", "cancelling"),
        ("refunded", "chain", "refunded"),
    ]
    assert logs[-2]["status_before"] == ("confirmed" if confirmed_first else "paid")


def _logs_until(client: Client, payment_id: str, event_type: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The payment's log entries, oldest first, once the newest is `event_type` (the log writer is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.http.get(f"/api/v1/payments/{payment_id}/logs", params={"per_page": 100}, headers=client.auth())
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        if items and items[0]["event_type"] == event_type:
            return list(reversed(items))
        if time.monotonic() > deadline:
            raise AssertionError(f"no {event_type} log entry after {timeout:.0f}s: {items}")
        time.sleep(0.1)


def test_cancel_of_an_open_payment_voids_the_deal_and_a_later_deposit_reverts(client: Client, chain_w3: Any) -> None:
    w3, demo = chain_w3, client.demo
    opened = _open_payment(client, 2.0)
    payment_id, deal_id = opened["id"], opened["deal_id"]
    r = wait_for_widget(client, opened)
    assert r.status_code == 200, r.text
    data = r.json()  # what the payer's widget shows while the payment is open

    r = client.http.post(f"/api/v1/payments/{payment_id}/cancel", json={}, headers=client.auth())
    assert r.status_code == 202, r.text
    cancelled = wait_for_status(client, payment_id, "cancelled")
    assert cancelled["deal_id"] == deal_id
    facet = diamond(w3, demo)
    assert facet.functions.getDeal(deal_id).call()[7] == DEAL_STATUS["cancelled"]

    # The payer pays later anyway, with the calls the widget gave: the approval goes through, the deposit reverts.
    key = str(demo["payer_private_key"])
    token = _token(w3, demo)
    chain.transact(w3, widget_call(w3, data["approve"]), key, timeout=CHAIN_WAIT)
    before = token.functions.balanceOf(demo["payer_address"]).call()
    deposit = widget_call(w3, data["contract"])
    with pytest.raises(chain.ChainError, match=rf"deposit would revert: DealNotOpen\({deal_id}, 3\)"):
        chain.transact(w3, deposit, key, timeout=CHAIN_WAIT)
    # Sent anyway (a fixed gas limit skips the estimate): mined, and reverted on chain.
    payer = demo["payer_address"]
    tx = deposit.build_transaction(
        {"from": payer, "gas": 200_000, "nonce": w3.eth.get_transaction_count(payer, "pending")}
    )
    signed = w3.eth.account.sign_transaction(tx, key)
    reverted = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=CHAIN_WAIT, poll_latency=0.05
    )
    assert reverted["status"] == 0
    assert token.functions.balanceOf(payer).call() == before
    assert facet.functions.getDeal(deal_id).call()[7] == DEAL_STATUS["cancelled"]
    deposits = facet.events.Deposited().get_logs(
        from_block=_block_of(w3, opened["deal_transaction_hash"]),
        to_block="latest",
        argument_filters={"dealId": deal_id},
    )
    assert list(deposits) == []

    # The watcher has nothing to see: the payment stays cancelled (two watcher runs later).
    time.sleep(4.5)
    after = get_payment(client, payment_id)
    assert after["status"] == "cancelled"
    assert after["transaction_hash"] is None
    logs = _logs(client, payment_id, 6)
    assert [(e["event_type"], e["actor_type"], e["status_after"]) for e in logs] == [
        ("created", "integration", "pending"),
        ("deal_sending", "system", "sending"),
        ("deal_created", "chain", "open"),
        ("deal_verified", "chain", "open"),  # before the widget gave the payer the deal
        ("cancel_requested", "integration", "cancelling"),
        ("cancelled", "chain", "cancelled"),
    ]
    assert len(deal_created_events(w3, demo, _ref(payment_id))) == 1


def _block_of(w3: Any, transaction_hash: str) -> int:
    return int(w3.eth.get_transaction_receipt(transaction_hash)["blockNumber"])
