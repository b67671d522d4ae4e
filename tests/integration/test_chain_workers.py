"""The chain workers on a real EVM (eth-tester, in-process) with the diamond from the committed
artifacts, fed by the template's queues through the local event source mappings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from web3 import Web3

from devstack.provision import Stack
from payments_chain import workers
from payments_chain.client import DiamondClient
from payments_core import deps
from payments_core.domain import catalog as admin
from payments_core.domain import lifecycle
from payments_core.domain.entities import Wallet
from payments_core.models.payments import PaymentStatus
from payments_core.settings import get_settings
from payments_core.store.wallet_keys import WalletKeyStore
from tests.integration.helpers import Api, create_web3_payment, drain, get_payment
from tests.solidity.evm import System, deploy_system
from tests.support import point_demo_catalog, stored


@pytest.fixture
def evm(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """The demo network pointed at a fresh in-process chain; the demo wallet's key in Secrets Manager."""
    system = deploy_system()
    keys = system.tester.backend.account_keys
    platform_key = keys[1].to_hex()
    point_demo_catalog(
        deps.catalog(), api.demo, diamond=system.payments.address, token=system.usdt.address, platform=system.platform
    )
    WalletKeyStore(boto3.client("secretsmanager"), get_settings().wallet_secret_prefix).put(
        api.demo["wallet_id"], platform_key
    )
    monkeypatch.setattr(workers, "web3_for", lambda url: system.w3)
    monkeypatch.setattr(workers, "BACKOFF_BASE_SECONDS", 0)  # retries come back at once in tests
    workers.chain_deps.cache_clear()
    yield system
    workers.chain_deps.cache_clear()


def _deal(evm: System, deal_id: int) -> tuple[Any, ...]:
    return tuple(evm.payments.functions.getDeal(deal_id).call())


def _ref(payment_id: str) -> bytes:
    return bytes.fromhex(payment_id.replace("-", "").rjust(64, "0"))


def test_a_web3_payment_gets_exactly_one_deal(api: Api, evm: System, pollers: list[Any]) -> None:
    token = api.token()
    p = create_web3_payment(api, token, price=12.5, paid_price=12.5)
    drain(pollers)
    got = get_payment(api, token, p["id"])
    assert got["status"] == "open"
    assert got["deal_id"] == 1
    assert got["deal_transaction_hash"].startswith("0x")
    assert got["transaction_hash"] is None  # the payer's deposit, once the watcher sees it
    ref, creator, payee, token_address, amount, _expires_at, _payer, status = _deal(evm, 1)
    assert (ref, creator, payee, token_address) == (_ref(p["id"]), evm.platform, p["payment_address"], evm.usdt.address)
    assert (amount, status) == (12_500_000, 1)  # 12.5 USDT in its smallest unit; Open
    # a redelivered message (another dedup id, as after the FIFO window) changes nothing
    record = stored(deps.payment_store(), p["id"])
    from payments_core.domain.payments import create_deal_message, signing_group

    deps.payment_deps().deal_queue.send(create_deal_message(record), group=signing_group(record), dedup_id="again")
    drain(pollers)
    assert get_payment(api, token, p["id"])["deal_id"] == 1
    assert evm.payments.functions.dealIdOf(_ref(p["id"])).call() == 1


def test_crash_after_sending_ends_with_the_one_deal(api: Api, evm: System, pollers: list[Any]) -> None:
    """The worker claimed the payment and mined createDeal, then died before recording it."""
    token = api.token()
    p = create_web3_payment(api, token)
    store = deps.payment_store()
    claimed = lifecycle.claim_for_sending(store, stored(store, p["id"]), "dead-worker")
    assert claimed is not None
    key = evm.tester.backend.account_keys[1].to_hex()
    created = DiamondClient(evm.w3, evm.payments.address).create_deal(
        key, ref=str(claimed.deal_ref), payee=claimed.payment_address, token=str(claimed.token_address),
        amount=int(claimed.amount_units or 0), expires_at=evm.now() + 3600,
    )  # fmt: skip
    drain(pollers)  # the message is delivered again
    got = get_payment(api, token, p["id"])
    assert (got["status"], got["deal_id"]) == ("open", created.deal_id)
    assert got["deal_transaction_hash"] == created.transaction_hash
    assert evm.payments.functions.dealIdOf(_ref(p["id"])).call() == created.deal_id
    # no second deal: the next payment gets the next id
    q = create_web3_payment(api, token, external_id="next")
    drain(pollers)
    assert get_payment(api, token, q["id"])["deal_id"] == created.deal_id + 1


def test_rpc_down_then_up_ends_with_one_deal(
    api: Api, evm: System, pollers: list[Any], monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    token = api.token()
    down = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1}))
    monkeypatch.setattr(workers, "web3_for", lambda url: down)
    p = create_web3_payment(api, token)
    drain(pollers)
    failed = get_payment(api, token, p["id"])
    assert failed["status"] == "send-failed"  # at the worker's max receives (CREATE_DEAL_MAX_RECEIVES)
    assert failed["send_failed_reason"]["code"] == "retries_exhausted"
    # Its next delivery found it send-failed and ended it: the dead-letter queue (twice the worker's receives)
    # keeps only what the worker never ends.
    dlq = boto3.client("sqs").receive_message(QueueUrl=stack.physical["DealDeadLetterQueue"])
    assert dlq.get("Messages", []) == []

    monkeypatch.setattr(workers, "web3_for", lambda url: evm.w3)  # the node is back
    r = api.call("POST", f"/api/v1/payments/{p['id']}/retry-send", token=token)
    assert (r.status, r.json()["status"]) == (200, "pending")
    drain(pollers)
    got = get_payment(api, token, p["id"])
    assert (got["status"], got["deal_id"], got["retry_count"]) == ("open", 1, 1)


def test_cancel_of_an_open_deal_voids_it_on_chain(api: Api, evm: System, pollers: list[Any]) -> None:
    token = api.token()
    p = create_web3_payment(api, token)
    drain(pollers)
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    assert get_payment(api, token, p["id"])["status"] == "cancelling"
    drain(pollers)
    assert get_payment(api, token, p["id"])["status"] == "cancelled"
    assert _deal(evm, 1)[7] == 3  # Cancelled
    # a deposit now fails on chain
    evm.usdt.functions.mint(evm.payer, 10**9).transact({"from": evm.owner})
    evm.usdt.functions.approve(evm.payments.address, 10**9).transact({"from": evm.payer})
    with pytest.raises(Exception):  # noqa: B017, PT011 - the revert, whatever web3 wraps it in
        evm.payments.functions.deposit(1).transact({"from": evm.payer})


def test_cancel_worker_retries_a_failed_rpc_call_from_a_container_of_its_own(
    api: Api, evm: System, pollers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancel worker loads its own wallet key and RPC URL (a container of its own, not the create worker's
    caches), and a failed chain call comes back through the queue's visibility: tests/integration/iam.py sees
    the calls its grants are for."""
    token = api.token()
    p = create_web3_payment(api, token)
    drain(pollers)
    workers.chain_deps.cache_clear()
    deps.rpc_urls.cache_clear()
    down = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1}))
    answers = iter([down])
    monkeypatch.setattr(workers, "web3_for", lambda url: next(answers, evm.w3))  # down once, then back
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    drain(pollers)
    assert get_payment(api, token, p["id"])["status"] == "cancelled"
    assert _deal(evm, 1)[7] == 3  # Cancelled


def test_cancel_of_a_paid_deal_refunds_the_payer(api: Api, evm: System, pollers: list[Any]) -> None:
    token = api.token()
    p = create_web3_payment(api, token, price=7, paid_price=7)
    drain(pollers)
    evm.usdt.functions.mint(evm.payer, 7_000_000).transact({"from": evm.owner})
    evm.usdt.functions.approve(evm.payments.address, 7_000_000).transact({"from": evm.payer})
    evm.payments.functions.deposit(1).transact({"from": evm.payer})
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 0
    store = deps.payment_store()
    lifecycle.move(
        store, stored(store, p["id"]), to=PaymentStatus.PAID, actor=lifecycle.Actor("chain", "watcher"),
        event_type="deposit_seen", message="Deposit seen",
    )  # fmt: skip
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    drain(pollers)
    assert get_payment(api, token, p["id"])["status"] == "refunded"
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 7_000_000
    assert _deal(evm, 1)[7] == 4  # Refunded


def test_a_cancel_after_the_signer_changed_address_is_signed_by_the_deals_creator(
    api: Api, evm: System, pollers: list[Any]
) -> None:
    """The deal was created by the platform wallet's key; the wallet was then pointed at another address (its
    key rotated) and the old address kept as a wallet of its own. cancelDeal is signed by the deal's on-chain
    creator, found in the catalog by its address, never by the key the catalog names for the payment now."""
    token = api.token()
    p = create_web3_payment(api, token)
    drain(pollers)
    assert get_payment(api, token, p["id"])["status"] == "open"
    creator = _deal(evm, 1)[1]
    assert creator == evm.platform
    catalog = deps.catalog()
    signer = catalog.get(Wallet, api.demo["wallet_id"])
    assert signer is not None
    rotated = Web3().eth.account.from_key(evm.tester.backend.account_keys[5].to_hex())
    catalog.put(signer._replace(address=rotated.address))
    keys = WalletKeyStore(boto3.client("secretsmanager"), get_settings().wallet_secret_prefix)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=keys.secret_id(signer.id), SecretString=rotated.key.to_0x_hex()
    )
    old = admin.create_wallet(catalog, node_id=signer.node_id, network_id=signer.network_id, address=evm.platform)
    keys.put(old.id, evm.tester.backend.account_keys[1].to_hex())
    workers.chain_deps.cache_clear()  # a new container: the catalog as it is now

    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    drain(pollers)
    cancelled = get_payment(api, token, p["id"])
    assert cancelled["status"] == "cancelled", cancelled
    assert _deal(evm, 1)[7] == 3  # Cancelled
    (event,) = evm.payments.events.DealCancelled().get_logs(from_block=0, argument_filters={"dealId": 1})
    assert evm.w3.eth.get_transaction(event["transactionHash"])["from"] == evm.platform


def test_private_keys_stay_out_of_the_payment_and_the_environment(api: Api, evm: System, pollers: list[Any]) -> None:
    token = api.token()
    p = create_web3_payment(api, token)
    drain(pollers)
    key = evm.tester.backend.account_keys[1].to_hex()
    record = stored(deps.payment_store(), p["id"])
    assert key[2:] not in json.dumps(record, default=str)
    assert all(key[2:] not in v for v in os.environ.values())
