"""The chain watcher on a real EVM (eth-tester, in-process) with the diamond from the committed artifacts:
deposits, confirmations, reorgs, the cursor, expiry. The watcher is run by hand (its schedule is not polled
here, so every run is one the test asked for); the workers and the log writer run through the template's
event source mappings."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from eth_account import Account
from web3 import Web3
from web3.types import TxParams, Wei

from devstack import lambdas
from devstack import template as tpl
from devstack.pollers import build_pollers
from devstack.provision import Stack
from payments_chain import workers
from payments_chain.client import DiamondClient
from payments_core import deps
from payments_core.domain import watcher
from payments_core.domain.chain_work import ChainError
from payments_core.domain.entities import Network
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentStatus as S
from payments_core.settings import get_settings
from payments_core.store.wallet_keys import WalletKeyStore
from tests.integration.helpers import Api, drain
from tests.solidity.evm import System, deploy_system
from tests.support import point_demo_catalog, stored

EVENTS = tpl.ROOT / "events"
DEAL_OPEN, DEAL_PAID, DEAL_CANCELLED, DEAL_REFUNDED = 1, 2, 3, 4


@pytest.fixture
def evm(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """The demo network on a fresh in-process chain (3 confirmations), the demo wallet's key in Secrets Manager."""
    system = deploy_system()
    point_demo_catalog(
        deps.catalog(), api.demo, diamond=system.payments.address, token=system.usdt.address,
        platform=system.platform, confirmations=3,
    )  # fmt: skip
    WalletKeyStore(boto3.client("secretsmanager"), get_settings().wallet_secret_prefix).put(
        api.demo["wallet_id"], system.tester.backend.account_keys[1].to_hex()
    )
    monkeypatch.setattr(workers, "web3_for", lambda url: system.w3)
    monkeypatch.setattr(workers, "BACKOFF_BASE_SECONDS", 0)
    workers.chain_deps.cache_clear()
    workers.watcher_deps.cache_clear()
    yield system
    workers.chain_deps.cache_clear()
    workers.watcher_deps.cache_clear()


@pytest.fixture
def mappings(stack: Stack) -> list[Any]:
    """The template's queue and stream pollers, without its schedules: the tests run the watcher themselves."""
    sources = [s for s in tpl.event_sources() if s.kind != "Schedule"]
    return build_pollers(stack, lambdas.invoke, sources, wait_seconds=0)


# ---------------------------------------------------------------- helpers
def _watch() -> dict[str, Any]:
    """One tick, as EventBridge sends it (the sample event); the demo network's report."""
    event = json.loads((EVENTS / "ChainWatcherFunction.json").read_text())
    report = lambdas.invoke("ChainWatcherFunction", event)
    (mine,) = [n for n in report["networks"] if n["network_id"] == _network_id()]
    assert mine["ok"], mine
    return dict(mine)


def _network_id() -> str:
    (network,) = [n for n in deps.catalog().list(Network) if n.name == "anvil"]
    return network.id


def _watch_with(chain: Any) -> watcher.WatchSummary:
    """One run of the demo network through `chain` (a node that misbehaves)."""
    network = deps.catalog().get(Network, _network_id())
    assert network is not None
    run_deps = dataclasses.replace(workers.watcher_deps(), chain_for=lambda _: chain)
    return watcher.watch_network(run_deps, network, utcnow())


class Node:
    """The diamond client, with some answers replaced."""

    def __init__(self, inner: DiamondClient, **replaced: Any) -> None:
        self._inner = inner
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        return self._replaced.get(name) or getattr(self._inner, name)


def _client(evm: System) -> DiamondClient:
    return DiamondClient(evm.w3, evm.payments.address)


def _open_payment(api: Api, token: str, pollers: list[Any], **overrides: Any) -> dict[str, Any]:
    body = api.payment_body(wallet_id=api.demo["wallet_id"], price=7, paid_price=7, **overrides)
    r = api.call("POST", "/api/v1/payments", token=token, json_body=body)
    assert r.status == 201, r.body
    drain(pollers)
    got = _get(api, token, r.json()["id"])
    assert got["status"] == "open", got
    return got


def _get(api: Api, token: str, payment_id: str) -> dict[str, Any]:
    r = api.call("GET", f"/api/v1/payments/{payment_id}", token=token)
    assert r.status == 200, r.body
    got: dict[str, Any] = r.json()
    return got


def _fund(evm: System, amount: int) -> None:
    evm.usdt.functions.mint(evm.payer, amount).transact({"from": evm.owner})
    evm.usdt.functions.approve(evm.payments.address, amount).transact({"from": evm.payer})


def _deposit(evm: System, deal_id: int, amount: int = 7_000_000) -> tuple[str, int]:
    """Fund the payer and deposit; (transaction hash, block number)."""
    _fund(evm, amount)
    tx = evm.payments.functions.deposit(deal_id).transact({"from": evm.payer})
    receipt = evm.w3.eth.get_transaction_receipt(tx)
    return "0x" + bytes(receipt["transactionHash"]).hex(), int(receipt["blockNumber"])


def _events(api: Api, token: str, payment_id: str, pollers: list[Any]) -> list[tuple[str, str, str]]:
    """(event_type, actor_type, status_after) of the payment's logs, oldest first."""
    drain(pollers)
    r = api.call("GET", f"/api/v1/payments/{payment_id}/logs", token=token, query={"per_page": 100})
    assert r.status == 200, r.body
    return [(e["event_type"], e["actor_type"], e["status_after"]) for e in reversed(r.json()["items"])]


def _version(payment_id: str) -> int:
    return stored(deps.payment_store(), payment_id).version


def _deal_status(evm: System, deal_id: int) -> int:
    return int(evm.payments.functions.getDeal(deal_id).call()[7])


def _expiring(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _past(evm: System, expires_at: str) -> None:
    """Move the chain's clock a few seconds past `expires_at` (time_travel mines a block about then)."""
    target = int(datetime.fromisoformat(expires_at).timestamp()) + 5
    evm.tester.time_travel(target)
    assert evm.now() > target - 5


# ---------------------------------------------------------------- deposits and confirmations
def test_a_deposit_is_paid_then_confirmed_at_the_required_confirmations(
    api: Api, evm: System, mappings: list[Any]
) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings)
    deal_tx = p["deal_transaction_hash"]
    tx, block = _deposit(evm, p["deal_id"])

    summary = _watch()
    assert (summary["deposits"], summary["confirmed"]) == (1, 0)
    paid = _get(api, token, p["id"])
    assert paid["status"] == "paid"
    assert (paid["transaction_hash"], paid["payer"], paid["block_number"]) == (tx, evm.payer, block)
    assert paid["deal_transaction_hash"] == deal_tx  # createDeal's, kept apart from the deposit
    status = paid["confirmation_status"]
    assert (status["required_confirmations"], status["confirmations"], status["progress"]) == (3, 1, 33)
    assert status["confirmed"] is False
    assert status["average_seconds"] > 0
    record = stored(deps.payment_store(), p["id"])
    assert (record.deposit_block_hash, record.deposit_log_index) == (_client(evm).block_hash(block), 1)

    # One more block: progress is written in place, without a new version (no log entry).
    version = _version(p["id"])
    evm.tester.mine_blocks(1)
    assert _watch()["progressed"] == 1
    status = _get(api, token, p["id"])["confirmation_status"]
    assert (status["confirmations"], status["progress"], status["confirmed"]) == (2, 66, False)
    assert _version(p["id"]) == version

    evm.tester.mine_blocks(1)
    assert _watch()["confirmed"] == 1
    confirmed = _get(api, token, p["id"])
    assert confirmed["status"] == "confirmed"
    assert confirmed["confirmation_status"] == {
        "required_confirmations": 3, "confirmations": 3, "average_seconds": 0, "progress": 100, "confirmed": True,
    }  # fmt: skip
    assert confirmed["transaction_hash"] == tx
    # Done: it left the watcher's index, and more blocks change nothing.
    item = boto3.client("dynamodb").get_item(TableName=get_settings().payments_table, Key={"id": {"S": p["id"]}})[
        "Item"
    ]
    assert "watch_pk" not in item
    evm.tester.mine_blocks(5)
    again = _watch()
    assert (again["deposits"], again["confirmed"], again["progressed"]) == (0, 0, 0)

    assert _events(api, token, p["id"], mappings) == [
        ("created", "integration", "pending"),
        ("deal_sending", "system", "sending"),
        ("deal_created", "chain", "open"),
        ("deposit_seen", "chain", "paid"),
        ("confirmed", "chain", "confirmed"),
    ]


def test_a_watcher_catching_up_confirms_at_once(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings)
    _deposit(evm, p["deal_id"])
    evm.tester.mine_blocks(5)
    summary = _watch()
    assert (summary["deposits"], summary["confirmed"]) == (1, 1)
    assert _get(api, token, p["id"])["status"] == "confirmed"
    assert [e for e, _, _ in _events(api, token, p["id"], mappings)][-2:] == ["deposit_seen", "confirmed"]


# ---------------------------------------------------------------- the cursor
def test_the_cursor_resumes_and_a_second_run_changes_nothing(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings)
    _deposit(evm, p["deal_id"])
    first = _watch()
    assert (first["from_block"], first["to_block"], first["cursor_moved"]) == (0, first["head"], True)
    version = _version(p["id"])

    second = _watch()  # no new block: only the overlap (the last required_confirmations blocks) again
    assert second["from_block"] == first["head"] - 3 + 1
    assert (second["deposits"], second["redeposits"], second["progressed"]) == (0, 0, 0)
    assert _version(p["id"]) == version

    evm.tester.mine_blocks(4)
    third = _watch()
    assert (third["from_block"], third["to_block"]) == (first["head"] - 3 + 1, first["head"] + 4)
    cursors = workers.watcher_deps().cursors
    cursor = cursors.get(_network_id())
    assert cursor is not None
    assert (cursor.block, cursor.block_hash) == (third["to_block"], _client(evm).block_hash(third["to_block"]))

    # A run that read the cursor before this one finished cannot move it (back) any more.
    stale = dataclasses.replace(cursor, block=first["head"])
    assert not cursors.advance(_network_id(), previous=stale, block=first["head"] + 1, block_hash=None, at="x")
    assert not cursors.advance(_network_id(), previous=cursor, block=cursor.block - 1, block_hash=None, at="x")
    assert cursors.get(_network_id()) == cursor


def test_a_run_that_dies_half_way_is_done_again_idempotently(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    a = _open_payment(api, token, mappings, external_id="a")
    b = _open_payment(api, token, mappings, external_id="b")
    _deposit(evm, a["deal_id"])
    _, b_block = _deposit(evm, b["deal_id"])
    client = _client(evm)
    calls: list[int] = []

    def get_deal_then_die(deal_id: int) -> Any:
        calls.append(deal_id)
        if len(calls) > 1:
            raise ChainError("ConnectionError: the node went away")
        return client.get_deal(deal_id)

    with contextlib.suppress(ChainError):  # the steps after the scan may meet the dead node too
        _watch_with(Node(client, get_deal=get_deal_then_die))
    assert _get(api, token, a["id"])["status"] == "confirmed"  # b's mint, approve, deposit: 3 blocks on top
    assert _get(api, token, b["id"])["status"] == "open"
    cursor = workers.watcher_deps().cursors.get(_network_id())
    assert cursor is not None
    assert cursor.block == b_block - 1  # it stopped before the deposit that failed
    version_a = _version(a["id"])

    summary = _watch()
    assert summary["deposits"] == 1
    assert _get(api, token, b["id"])["status"] == "paid"
    assert _version(a["id"]) == version_a
    assert [e for e, _, _ in _events(api, token, a["id"], mappings)].count("deposit_seen") == 1


def test_one_networks_rpc_failure_does_not_stop_the_others(
    api: Api, evm: System, mappings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments_core.domain import catalog as admin

    demo = deps.catalog().get(Network, _network_id())
    assert demo is not None
    broken = admin.create_network(
        deps.catalog(), deps.rpc_urls(), chain_id=demo.chain_id, name="down", evm_chain_id=1, rpc_url="http://127.0.0.1:9",
        diamond_address=evm.payments.address,
    )  # fmt: skip
    down = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1}))
    monkeypatch.setattr(workers, "web3_for", lambda url: down if url.endswith(":9") else evm.w3)
    token = api.token()
    p = _open_payment(api, token, mappings)
    _deposit(evm, p["deal_id"])

    event = json.loads((EVENTS / "ChainWatcherFunction.json").read_text())
    report = {n["network_id"]: n for n in lambdas.invoke("ChainWatcherFunction", event)["networks"]}
    assert report[broken.id]["ok"] is False
    assert report[broken.id]["error"].startswith("ChainError: ")
    assert "://" not in report[broken.id]["error"]  # RPC URLs (API keys) stay out of reports
    assert report[_network_id()]["ok"] is True
    assert _get(api, token, p["id"])["status"] == "paid"


# ---------------------------------------------------------------- reorgs
def test_a_deposit_reorged_out_goes_back_to_open(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings)
    _fund(evm, 7_000_000)
    snapshot = evm.tester.take_snapshot()
    evm.payments.functions.deposit(p["deal_id"]).transact({"from": evm.payer})
    _watch()
    assert _get(api, token, p["id"])["status"] == "paid"

    evm.tester.revert_to_snapshot(snapshot)  # the deposit's block is replaced by other blocks
    evm.tester.mine_blocks(3)
    assert _deal_status(evm, p["deal_id"]) == DEAL_OPEN
    summary = _watch()
    assert summary["reorged"] == 1
    assert summary["rewound"] is True  # the cursor's block has another hash now
    back = _get(api, token, p["id"])
    assert back["status"] == "open"
    assert (back["transaction_hash"], back["payer"], back["block_number"], back["confirmation_status"]) == (
        None, None, None, None,
    )  # fmt: skip
    record = stored(deps.payment_store(), p["id"])
    assert not {"deposit_block_hash", "deposit_block_number", "paid_at"} & set(record)
    assert _watch()["reorged"] == 0  # and it stays open
    assert _get(api, token, p["id"])["status"] == "open"

    # The payer deposits again on the chain that won (funds and approval predate the fork): paid, then confirmed.
    again = "0x" + bytes(evm.payments.functions.deposit(p["deal_id"]).transact({"from": evm.payer})).hex()
    _watch()
    evm.tester.mine_blocks(2)
    _watch()
    final = _get(api, token, p["id"])
    assert (final["status"], final["transaction_hash"]) == ("confirmed", again)
    assert [e for e, _, _ in _events(api, token, p["id"], mappings)][3:] == [
        "deposit_seen", "reorged", "deal_verified", "deposit_seen", "confirmed",
    ]  # fmt: skip  # open again, its deal (deep enough by now) is verified for the widget


def test_a_deposit_mined_again_in_another_block_follows_it(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings)
    _fund(evm, 7_000_000)
    key = evm.tester.backend.account_keys[2]  # the payer's
    assert Account.from_key(key.to_hex()).address == evm.payer
    params: TxParams = {
        "from": evm.payer,
        "nonce": evm.w3.eth.get_transaction_count(evm.payer),
        "gas": 300_000,
        "maxFeePerGas": Wei(10**11),
        "maxPriorityFeePerGas": Wei(10**9),
        "chainId": evm.w3.eth.chain_id,
    }
    tx = evm.payments.functions.deposit(p["deal_id"]).build_transaction(params)
    raw = Account.sign_transaction(tx, key.to_hex()).raw_transaction
    snapshot = evm.tester.take_snapshot()
    tx_hash = evm.w3.eth.send_raw_transaction(raw)
    first_block = int(evm.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"])
    _watch()
    assert _get(api, token, p["id"])["block_number"] == first_block

    evm.tester.revert_to_snapshot(snapshot)
    evm.tester.mine_blocks(1)
    assert evm.w3.eth.send_raw_transaction(raw) == tx_hash  # the same transaction, one block later
    summary = _watch()
    assert (summary["redeposits"], summary["reorged"]) == (1, 0)
    moved = _get(api, token, p["id"])
    assert (moved["status"], moved["transaction_hash"]) == ("paid", "0x" + bytes(tx_hash).hex())
    assert moved["block_number"] == first_block + 1
    assert moved["confirmation_status"]["confirmations"] == 1


# ---------------------------------------------------------------- expiry
def test_an_unpaid_deal_expires_by_the_chain_clock(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings, expires_at=_expiring(120))
    assert _watch()["expired"] == 0  # not yet, by the chain's clock
    _past(evm, p["expires_at"])
    assert _watch()["expired"] == 1
    cancelling = stored(deps.payment_store(), p["id"])
    assert (cancelling.status, cancelling.expire_on_cancel) == ("cancelling", True)

    drain(mappings)  # the cancel worker: cancelDeal on chain
    assert _get(api, token, p["id"])["status"] == "expired"
    assert _deal_status(evm, p["deal_id"]) == DEAL_CANCELLED
    assert _events(api, token, p["id"], mappings)[3:] == [
        ("cancel_requested", "system", "cancelling"),
        ("expired", "chain", "expired"),
    ]
    assert _watch()["expired"] == 0


def test_a_payment_never_sent_expires_at_once_and_gets_no_deal(api: Api, evm: System, mappings: list[Any]) -> None:
    token = api.token()
    body = api.payment_body(wallet_id=api.demo["wallet_id"], expires_at=_expiring(120))
    p = api.call("POST", "/api/v1/payments", token=token, json_body=body).json()
    _past(evm, p["expires_at"])
    assert _watch()["expired"] == 1  # before the create-deal worker got to it
    assert _get(api, token, p["id"])["status"] == "expired"
    drain(mappings)  # the create-deal message: the worker skips an expired payment
    assert _get(api, token, p["id"])["status"] == "expired"
    assert evm.payments.functions.dealIdOf(bytes.fromhex(p["id"].replace("-", "").rjust(64, "0"))).call() == 0
    assert [e for e, _, _ in _events(api, token, p["id"], mappings)] == ["created", "expired"]


def test_a_deposit_racing_expiry_is_refunded(api: Api, evm: System, mappings: list[Any]) -> None:
    """The deposit landed just before expiry, but the watcher's node did not show its log yet."""
    token = api.token()
    p = _open_payment(api, token, mappings, expires_at=_expiring(120))
    _deposit(evm, p["deal_id"])
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 0
    _past(evm, p["expires_at"])

    lagging = Node(_client(evm), events=lambda from_block, to_block: [])
    assert _watch_with(lagging).expired == 1
    assert _get(api, token, p["id"])["status"] == "cancelling"
    drain(mappings)  # cancelDeal on a paid deal refunds the payer
    assert _get(api, token, p["id"])["status"] == "refunded"
    assert _deal_status(evm, p["deal_id"]) == DEAL_REFUNDED
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 7_000_000

    summary = _watch()  # the deposit is seen now: a refunded payment stays refunded
    assert (summary["deposits"], summary["redeposits"]) == (0, 0)
    assert _get(api, token, p["id"])["status"] == "refunded"


def test_a_cancel_message_lost_after_expiry_is_sent_again(
    api: Api, evm: System, mappings: list[Any], stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = api.token()
    p = _open_payment(api, token, mappings, expires_at=_expiring(120))
    _past(evm, p["expires_at"])
    _watch()
    sqs = boto3.client("sqs")
    url = stack.physical["DealQueue"]
    lost = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    for message in lost:  # the message never made it
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert _watch()["cancels_resent"] == 0  # too early to tell a lost message from a slow one

    monkeypatch.setattr(watcher, "CANCEL_RESEND_AFTER", timedelta(0))
    assert _watch()["cancels_resent"] == 1
    drain(mappings)
    assert _get(api, token, p["id"])["status"] == "expired"
    assert _deal_status(evm, p["deal_id"]) == DEAL_CANCELLED


def test_payment_id_of_ref_is_the_inverse_of_deal_ref() -> None:
    from payments_core.domain.payments import deal_ref

    pid = "c9e8d7f6-5a4b-4c3d-8e2f-1a0b9c8d7e54"
    assert watcher.payment_id_of_ref(deal_ref(pid)) == pid
    assert watcher.payment_id_of_ref("0x" + "ab" * 32) is None  # a keccak ref of another user of the diamond
    assert watcher.payment_id_of_ref("0x1234") is None


def test_a_create_message_lost_after_the_payment_was_written_is_sent_again(
    api: Api, evm: System, mappings: list[Any], stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API crashed (or its send failed) between the payment's transaction and the create-deal message:
    the watcher sends it again once it is older than CREATE_RESEND_AFTER, and the deal is created once."""
    token = api.token()
    body = api.payment_body(wallet_id=api.demo["wallet_id"], price=7, paid_price=7, external_id="lost-create")
    r = api.call("POST", "/api/v1/payments", token=token, json_body=body)
    assert r.status == 201, r.body
    payment_id = r.json()["id"]
    sqs = boto3.client("sqs")
    url = stack.physical["DealQueue"]
    lost = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(lost) == 1
    sqs.delete_message(QueueUrl=url, ReceiptHandle=lost[0]["ReceiptHandle"])

    assert _watch()["creates_resent"] == 0  # too early to tell a lost message from a slow one
    drain(mappings)
    assert _get(api, token, payment_id)["status"] == "pending"

    monkeypatch.setattr(watcher, "CREATE_RESEND_AFTER", timedelta(0))
    assert _watch()["creates_resent"] == 1
    resent = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert json.loads(resent[0]["Body"]) == json.loads(lost[0]["Body"])  # the same work, a new message
    drain(mappings)
    got = _get(api, token, payment_id)
    assert got["status"] == "open"
    assert _watch()["creates_resent"] == 0  # open now: nothing to send
    # A duplicate of the message (the original turning up late) changes nothing: one deal for the ref.
    sqs.send_message(QueueUrl=url, MessageBody=lost[0]["Body"], MessageGroupId="late", MessageDeduplicationId="late")
    drain(mappings)
    assert _get(api, token, payment_id)["deal_id"] == got["deal_id"]
    assert _deal_status(evm, got["deal_id"]) == DEAL_OPEN


# ---------------------------------------------------------------- trusted deals (issue 11 §3)
def _create_deal_as_platform(evm: System, payment_id: str) -> int:
    """createDeal of the payment's terms, signed by the platform wallet (as the create-deal worker would)."""
    record = stored(deps.payment_store(), payment_id)
    assert record.deal_ref is not None
    assert record.token_address is not None
    assert record.amount_units is not None
    created = _client(evm).create_deal(
        evm.tester.backend.account_keys[1].to_hex(), ref=record.deal_ref, payee=record.payment_address,
        token=record.token_address, amount=record.amount_units,
        expires_at=int(datetime.fromisoformat(record.expires_at).timestamp()),
    )  # fmt: skip
    return created.deal_id


def _widget(api: Api, payment: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = api.call("GET", f"/api/v1/widget/payments/{payment['id']}", token=payment["access_token"])
    return r.status, r.json()


def test_a_reorg_that_reorders_two_create_deals_ends_with_each_payment_on_its_own_deal(
    api: Api, evm: System, mappings: list[Any]
) -> None:
    token = api.token()
    snapshot = evm.tester.take_snapshot()
    a = _open_payment(api, token, mappings, external_id="a")
    b = _open_payment(api, token, mappings, external_id="b")
    assert (a["deal_id"], b["deal_id"]) == (1, 2)
    assert _watch()["deals_verified"] == 0  # not at the network's 3 confirmations yet
    assert _widget(api, a)[0] == 202  # so the widget shows no deal: poll
    assert _widget(api, a)[1]["deal_id"] is None

    # The fork that wins mined b's createDeal first: deal 1 is b's now, deal 2 a's.
    evm.tester.revert_to_snapshot(snapshot)
    assert _create_deal_as_platform(evm, b["id"]) == 1
    assert _create_deal_as_platform(evm, a["id"]) == 2
    evm.tester.mine_blocks(3)
    summary = _watch()
    assert (summary["deals_moved"], summary["deals_verified"], summary["mismatched"]) == (2, 2, 0)
    for payment, deal_id in ((a, 2), (b, 1)):
        record = stored(deps.payment_store(), payment["id"])
        assert (record.status, record.deal_id, record.deal_verified) == ("open", deal_id, True)
        assert "0x" + bytes(evm.payments.functions.getDeal(deal_id).call()[0]).hex() == record.deal_ref
        assert record.deal_block_hash == _client(evm).block_hash(int(record.deal_block_number or 0))
        status, data = _widget(api, payment)
        assert (status, data["deal_id"], data["contract"]["arguments"]) == (200, deal_id, [deal_id])
    assert [e for e, _, _ in _events(api, token, a["id"], mappings)][3:] == ["deal_reorged", "deal_verified"]

    # The payer of a pays what the widget says: a is paid, b stays open.
    _deposit(evm, 2)
    evm.tester.mine_blocks(3)
    _watch()
    assert (_get(api, token, a["id"])["status"], _get(api, token, b["id"])["status"]) == ("confirmed", "open")


def test_a_deposit_between_the_cancel_workers_read_and_its_cancel_deal_is_recorded_refunded(
    api: Api, evm: System, mappings: list[Any]
) -> None:
    from payments_core.domain import chain_work

    token = api.token()
    p = _open_payment(api, token, mappings)
    _fund(evm, 7_000_000)
    client = _client(evm)

    def deposit_then_cancel(private_key: str, deal_id: int) -> Any:
        evm.payments.functions.deposit(deal_id).transact({"from": evm.payer})  # mined just before cancelDeal
        return client.cancel_deal(private_key, deal_id)

    racing = Node(client, cancel_deal=deposit_then_cancel)
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    work = dataclasses.replace(workers.chain_deps(), chain_for=lambda _: racing)
    assert chain_work.cancel_deal(work, p["id"]) == "refunded"  # the worker read the deal Open
    assert _deal_status(evm, p["deal_id"]) == DEAL_REFUNDED
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 7_000_000
    drain(mappings)  # the cancel message itself: a redelivery changes nothing
    record = stored(deps.payment_store(), p["id"])
    assert (record.status, record.cancel_transaction_hash is not None) == ("refunded", True)
    assert [e for e, _, _ in _events(api, token, p["id"], mappings)][-1] == "refunded"


def test_a_deposit_into_the_deal_of_an_expired_payment_is_refunded(api: Api, evm: System, mappings: list[Any]) -> None:
    """The cancel worker found no deal (its createDeal was still in flight) and expired the payment; the deal
    was mined after, and a payer deposited into it: the watcher has cancelDeal refund the payer."""
    token = api.token()
    body = api.payment_body(wallet_id=api.demo["wallet_id"], price=7, paid_price=7, expires_at=_expiring(3600))
    p = api.call("POST", "/api/v1/payments", token=token, json_body=body).json()
    record = stored(deps.payment_store(), p["id"])
    deps.payment_store().update(record, {"status": S.EXPIRED})  # as the worker left it, without a deal
    deal_id = _create_deal_as_platform(evm, p["id"])
    _deposit(evm, deal_id)
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 0
    assert _watch()["late_refunds"] == 1
    drain(mappings)  # the cancel worker: cancelDeal refunds the payer
    assert _deal_status(evm, deal_id) == DEAL_REFUNDED
    assert evm.usdt.functions.balanceOf(evm.payer).call() == 7_000_000
    got = _get(api, token, p["id"])
    assert (got["status"], got["deal_id"]) == ("expired", deal_id)
    assert [e for e, _, _ in _events(api, token, p["id"], mappings)][-1] == "refunded"


def test_recovery_reads_the_deal_created_log_in_bounded_ranges(
    api: Api, evm: System, mappings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments_chain import client as client_module

    token = api.token()
    p = _open_payment(api, token, mappings)
    evm.tester.mine_blocks(12)
    monkeypatch.setattr(client_module, "RECOVERY_CHUNK_BLOCKS", 4)
    client = _client(evm)
    ranges: list[tuple[Any, Any]] = []
    get_logs = evm.w3.eth.get_logs

    def recording(params: Any) -> Any:
        ranges.append((params["fromBlock"], params["toBlock"]))
        return get_logs(params)

    monkeypatch.setattr(evm.w3.eth, "get_logs", recording)
    record = stored(deps.payment_store(), p["id"])
    found = client.find_created(str(record.deal_ref))
    assert found is not None
    assert (found.deal_id, found.transaction_hash) == (p["deal_id"], p["deal_transaction_hash"])
    assert found.block_hash == client.block_hash(found.block_number)
    assert all(isinstance(low, int) and isinstance(high, int) and high - low < 4 for low, high in ranges)
    assert len(ranges) > 1  # read backwards from the head until found

    monkeypatch.setattr(client_module, "RECOVERY_MAX_BLOCKS", 8)  # the deal is older than the window
    ranges.clear()
    older = client.find_created(str(record.deal_ref))
    assert older is not None
    assert (older.deal_id, older.transaction_hash, older.block_number) == (p["deal_id"], "", 0)
    assert len(ranges) == 2


# ---------------------------------------------------------------- budgets and the scan window (issue 11 §4)
def test_a_slow_network_never_starves_the_others(
    api: Api, evm: System, mappings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments_core.domain import catalog as admin
    from tests.unit.fakes import FakeClock

    demo = deps.catalog().get(Network, _network_id())
    assert demo is not None
    slow_network = admin.create_network(
        deps.catalog(), deps.rpc_urls(), chain_id=demo.chain_id, name="slow", evm_chain_id=1, rpc_url="http://slow",
        diamond_address=evm.payments.address, required_confirmations=3,
    )  # fmt: skip
    clock = FakeClock()
    client = _client(evm)

    def slow_events(from_block: int, to_block: int) -> Any:
        clock.advance(60)  # every getLogs of that node takes a minute
        return client.events(from_block, to_block)

    slow = Node(client, events=slow_events)
    token = api.token()
    p = _open_payment(api, token, mappings)
    _deposit(evm, p["deal_id"])
    run_deps = dataclasses.replace(
        workers.watcher_deps(), clock=clock, chain_for=lambda n: slow if n.id == slow_network.id else client
    )
    report = {n["network_id"]: n for n in watcher.watch_all(run_deps, utcnow(), seconds=55)["networks"]}
    assert report[slow_network.id]["ok"]
    assert report[slow_network.id]["out_of_time"] is True
    assert report[_network_id()]["ok"]
    assert report[_network_id()]["deposits"] == 1
    assert _get(api, token, p["id"])["status"] == "paid"
