"""Faults on the local stack's chain, over HTTP: the create-deal worker cut off in the middle of a batch, the RPC
down while payments are created, a reorganisation that drops a deposit, and what one failure does to its group.

anvil is shared by the whole session: each test makes its own payments (and wallets, networks), pauses anvil only
inside `paused(...)` (SIGCONT in a finally), and leaves the chain mining as it found it (mixed mining).

How the faults are made:
- SIGSTOP on anvil (`paused`): the kernel still accepts connections, so every call hangs until anvil continues.
  The chain client's web3 retries a timed-out *read* (web3's default ExceptionRetryConfiguration: 5 retries of
  eth_call, eth_getLogs, eth_getTransactionCount, ...; 10-s timeouts), so a pause shorter than ~60 s mostly
  delays the worker and only an eth_sendRawTransaction caught in it fails (not retried by web3).
- An RPC proxy in front of anvil (devstack.rpc_faults.RpcFaultProxy) for a network of the test's own
  (`proxy_network`: the same anvil and diamond): it can forward a createDeal transaction to anvil and drop the
  worker's connection before the answer (a worker killed right after sending: the deal is mined, the worker never
  hears of it), refuse every call (the RPC down: web3 fails within seconds, the queue's backoff retries), or hold
  calls for a moment.
- Payments of the tests that expect recovery sign through a wallet each (owned by the demo platform wallet, whose
  key signs): each is its own FIFO message group. One failure in a shared group is
  `test_a_failed_message_stalls_the_rest_of_its_wallet_group` (a bug).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devstack import chain
from devstack.launch import LocalStackInfo
from devstack.rpc_faults import RpcFaultProxy
from payments_core.domain import catalog as admin
from payments_core.domain.entities import Network, Wallet
from payments_core.domain.payments import deal_ref
from payments_core.store.catalog import DynamoCatalogStore
from payments_core.store.rpc_urls import RpcUrlStore
from tests.e2e.helpers import (
    CHAIN_WAIT,
    DEAL_STATUS,
    Client,
    deal_created_events,
    diamond,
    get_payment,
    tx_hex,
    wait_for_status,
    widget_data,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

WORKER_RPC_TIMEOUT = 10.0  # payments_chain.client.web3_for
PAUSE_SECONDS = WORKER_RPC_TIMEOUT + 2.0  # anvil paused past the worker's RPC timeout
RECOVERY_SECONDS = 40.0  # after the fault: the worker's backoff is 5 s, then 10 s (payments_chain.workers)
STALL_DEADLINE = 20.0  # 4x the first backoff
PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2


class GroupStalled(AssertionError):
    """Payments of one FIFO group still without their deal long after the fault was over."""


# ------------------------------------------------------------------------------------------------ anvil
def anvil_pid(stack: LocalStackInfo) -> int:
    """The stack's anvil: the child of `python -m devstack` (stack.pid) that listens on the rpc_url's port."""
    assert stack.rpc_url is not None
    port = stack.rpc_url.rsplit(":", 1)[1]
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        names = [a.decode(errors="replace") for a in argv]
        if ppid == stack.pid and names and Path(names[0]).name == "anvil" and port in names:
            found.append(int(entry.name))
    assert len(found) == 1, f"anvil of the stack (pid {stack.pid}, port {port}): found {found}"
    return found[0]


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """anvil stopped (SIGSTOP) inside the block; always continued (SIGCONT), whatever happens."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def rpc(w3: Any, method: str, *params: Any) -> Any:
    from web3.types import RPCEndpoint

    answer = w3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in answer, answer
    return answer["result"]


# ------------------------------------------------------------------------------------------------ catalog
def own_network(
    client: Client, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore, *, rpc_url: str, confirmations: int
) -> dict[str, str]:
    """A network of the test's own over the demo chain's anvil and diamond (reached at `rpc_url`), with the demo
    token as its currency."""
    demo = client.demo
    network = admin.create_network(
        catalog,
        rpc_urls,
        chain_id=demo["chain_id"],
        name=f"e2e faults {uuid.uuid4().hex[:6]}",
        evm_chain_id=demo["evm_chain_id"],
        rpc_url=rpc_url,
        diamond_address=demo["diamond_address"],
        required_confirmations=confirmations,
    )
    currency = admin.create_currency(catalog, symbol="USDT", decimals=6, tokens={network.id: demo["token_address"]})
    return {"network_id": network.id, "currency_id": currency.id}


def retire_network(catalog: DynamoCatalogStore, network_id: str) -> None:
    """Without a diamond the watcher leaves the network alone (after the test's proxy is gone)."""
    network = catalog.get(Network, network_id)
    assert network is not None
    catalog.put(network._replace(diamond_address=None))


@pytest.fixture(scope="module")
def proxy_network(
    client: Client, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore, chain_w3: Any
) -> Iterator[dict[str, Any]]:
    """A network whose RPC is an RpcFaultProxy in front of the stack's anvil (2 confirmations, like the demo)."""
    proxy = RpcFaultProxy(str(client.demo["rpc_url"]))
    try:
        network = own_network(client, catalog, rpc_urls, rpc_url=proxy.url, confirmations=2)
        yield {**network, "proxy": proxy}
        retire_network(catalog, network["network_id"])
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def slow_network(
    client: Client, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore, chain_w3: Any
) -> Iterator[dict[str, str]]:
    """The stack's anvil and diamond as a network that needs 100 confirmations (a real chain's finality rather
    than the demo's 2): a deposit stays `paid` for ~100 s, time to reorganise it away."""
    network = own_network(client, catalog, rpc_urls, rpc_url=str(client.demo["rpc_url"]), confirmations=100)
    yield network
    retire_network(catalog, network["network_id"])


@pytest.fixture
def own_wallet(client: Client, catalog: DynamoCatalogStore) -> Callable[[str], str]:
    """A new wallet of the demo root on a network, owned by the demo platform wallet (whose key signs): the
    payments naming it are a FIFO message group of their own."""
    owner = catalog.get(Wallet, client.demo["wallet_id"])
    assert owner is not None

    def make(network_id: str) -> str:
        wallet = admin.create_wallet(
            catalog,
            node_id=client.demo["nodes"]["root"],
            network_id=network_id,
            address=owner.address,
            owner_wallet_id=owner.id,
            name=f"e2e faults {uuid.uuid4().hex[:8]}",
        )
        return wallet.id

    return make


# ------------------------------------------------------------------------------------------------ helpers
def create_many(client: Client, bodies: list[dict[str, Any]]) -> list[str]:
    """POST the payments at once (a thread each); their ids in order."""

    def create(overrides: dict[str, Any]) -> str:
        r = client.create(payment_address=PAYEE, price=1.25, paid_price=1.25, **overrides)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(create, bodies))


def statuses(client: Client, ids: list[str]) -> list[str]:
    return [get_payment(client, i)["status"] for i in ids]


def wait_until(client: Client, ids: list[str], done: set[str], timeout: float) -> list[dict[str, Any]] | None:
    """Every payment in a `done` status within `timeout` seconds (their GET answers), else None."""
    deadline = time.monotonic() + timeout
    while True:
        payments = [get_payment(client, i) for i in ids]
        if all(p["status"] in done for p in payments):
            return payments
        if time.monotonic() > deadline:
            return None
        time.sleep(0.25)


def worker_failures(stack: LocalStackInfo, since: int, ids: list[str]) -> dict[str, int]:
    """How many create-deal deliveries failed per payment of `ids`: the devstack log's "chain work failed"
    lines from byte `since`."""
    failed: dict[str, int] = {}
    with stack.log_file.open("rb") as log:
        log.seek(since)
        for raw in log:
            if b"chain work failed" not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("payment_id") in ids:
                failed[str(line["payment_id"])] = failed.get(str(line["payment_id"]), 0) + 1
    return failed


def assert_one_deal_each(client: Client, w3: Any, payments: list[dict[str, Any]]) -> None:
    """Each payment is open with the one deal its ref has on chain; the diamond's deals are 1..N."""
    demo = client.demo
    facet = diamond(w3, demo)
    all_deals = deal_created_events(w3, demo)
    ids = [int(e["args"]["dealId"]) for e in all_deals]
    assert ids == list(range(1, len(ids) + 1)), ids  # no gap, no deal id twice
    by_ref: dict[str, list[Any]] = {}
    for e in all_deals:
        by_ref.setdefault(tx_hex(e["args"]["ref"]), []).append(e)
    for payment in payments:
        ref = deal_ref(payment["id"])
        assert payment["status"] == "open", payment
        assert isinstance(payment["deal_id"], int)
        assert facet.functions.dealIdOf(bytes.fromhex(ref[2:])).call() == payment["deal_id"]
        events = by_ref.get(ref, [])
        assert len(events) == 1, (payment["id"], events)
        assert int(events[0]["args"]["dealId"]) == payment["deal_id"]
        assert tx_hex(events[0]["transactionHash"]) == payment["deal_transaction_hash"].lower()
        assert facet.functions.getDeal(payment["deal_id"]).call()[7] == DEAL_STATUS["open"]
    assert len({p["deal_id"] for p in payments}) == len(payments)


def event_types(
    client: Client, payment_id: str, last: str = "deal_created", *, until: list[str] | None = None
) -> list[str]:
    """The payment's log event types, oldest first, once the newest is `last` or, with `until`, once they
    are exactly `until` (bounded wait). Logs follow the stream: a batch the log writer failed comes again
    later, so an older entry can land after a newer one."""
    deadline = time.monotonic() + 15.0
    while True:
        r = client.http.get(f"/api/v1/payments/{payment_id}/logs", params={"per_page": 100}, headers=client.auth())
        assert r.status_code == 200, r.text
        types = [e["event_type"] for e in reversed(r.json()["items"])]
        done = types == until if until is not None else bool(types) and types[-1] == last
        if done or time.monotonic() > deadline:
            return types
        time.sleep(0.1)


def pay_deal(client: Client, w3: Any, deal_id: int, amount_units: int) -> Any:
    """As the demo payer, without the widget: approve the amount for the diamond, then deposit into the deal.
    Returns the deposit's receipt (mined, status 1)."""
    demo, key = client.demo, str(client.demo["payer_private_key"])
    token = chain.contract_at(w3, "MockUSDT", demo["token_address"])
    approve = token.functions.approve(demo["diamond_address"], amount_units)
    assert chain.transact(w3, approve, key, timeout=CHAIN_WAIT)["status"] == 1
    deposited = chain.transact(w3, diamond(w3, demo).functions.deposit(deal_id), key, timeout=CHAIN_WAIT)
    assert deposited["status"] == 1
    return deposited


def retry_send_failed(client: Client, payments: list[dict[str, Any]]) -> list[str]:
    """retry-send every `send-failed` payment (the worker gave up) and wait for its deal; the ids retried."""
    retried: list[str] = []
    for payment in payments:
        if payment["status"] != "send-failed":
            continue
        r = client.http.post(f"/api/v1/payments/{payment['id']}/retry-send", headers=client.auth())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "pending"
        assert r.json()["retry_count"] == payment["retry_count"] + 1
        wait_for_status(client, payment["id"], "open", timeout=RECOVERY_SECONDS)
        types = event_types(client, payment["id"], "deal_verified")  # the watcher verifies the new deal
        assert types[-4:] == ["retry_sent", "deal_sending", "deal_created", "deal_verified"], types
        assert "send_failed" in types
        retried.append(payment["id"])
    return retried


# ------------------------------------------------------------------------------------------------ tests
def test_worker_cut_off_mid_batch_leaves_exactly_one_deal_per_payment(
    stack: LocalStackInfo, client: Client, chain_w3: Any, proxy_network: dict[str, Any], own_wallet: Any
) -> None:
    """Ten payments at once in one lane; the worker's first transaction (a createDeals of the batch's head run,
    decision 0045, or a createDeal) reaches anvil and is mined, but the worker's connection is dropped before the
    answer, as if it were killed right after sending, in the middle of its batch. The payments it carried are
    `sending` with a deal on chain: the worker finds each ref's deal instead of sending another (in the same
    batch, or after a redelivery): every payment ends open with exactly one deal, and the diamond has no extra."""
    proxy: RpcFaultProxy = proxy_network["proxy"]
    network = {"network_id": proxy_network["network_id"], "currency_id": proxy_network["currency_id"]}
    log_start = stack.log_file.stat().st_size
    proxy.cut_send(1)
    ids = create_many(client, [{**network, "wallet_id": own_wallet(network["network_id"])} for _ in range(10)])

    payments = wait_until(client, ids, {"open"}, RECOVERY_SECONDS)
    assert payments is not None, f"not all open after {RECOVERY_SECONDS:.0f}s: {statuses(client, ids)}"
    assert len(proxy.cut) == 1, "no transaction was cut off"
    carried = {p["id"] for p in payments if p["deal_transaction_hash"].lower() == proxy.cut[0].lower()}
    assert carried, "no payment's deal is the one whose answer was cut off"  # recorded from the chain, not sent again
    # Only a payment the cut transaction carried may have failed a delivery; the others were never held.
    assert set(worker_failures(stack, log_start, ids)) <= carried
    assert_one_deal_each(client, chain_w3, payments)
    for payment_id in ids:  # claimed once, one deal: the redelivery recorded the deal it found, and it verified
        expected = ["created", "deal_sending", "deal_created", "deal_verified"]
        assert event_types(client, payment_id, until=expected) == expected


@pytest.mark.parametrize("outage", ["anvil-paused", "connections-refused"])
def test_rpc_down_then_back_every_payment_gets_one_deal(  # noqa: PLR0917 - fixtures
    stack: LocalStackInfo,
    client: Client,
    chain_w3: Any,
    proxy_network: dict[str, Any],
    own_wallet: Any,
    outage: str,
) -> None:
    """The RPC is down for PAUSE_SECONDS while payments are created, then back; each payment ends open with
    exactly one deal. anvil-paused: SIGSTOP on the stack's anvil (demo network): the worker's calls hang, web3
    retries the reads, a send caught in it fails. connections-refused: the proxy network's RPC closes every
    connection: the worker's deliveries fail within seconds and come back with the queue's backoff. Should the
    outage outlast the retries (send-failed), retry-send brings the payment to open with one deal; that path is
    asserted when it happens."""
    log_start = stack.log_file.stat().st_size
    proxy: RpcFaultProxy = proxy_network["proxy"]
    if outage == "anvil-paused":
        network = {"network_id": client.demo["network_id"], "currency_id": client.demo["currency_id"]}
        count, down = 6, paused(anvil_pid(stack))
    else:
        network = {"network_id": proxy_network["network_id"], "currency_id": proxy_network["currency_id"]}
        count, down = 3, refusing(proxy)
    with down:
        started = time.monotonic()
        ids = create_many(client, [{**network, "wallet_id": own_wallet(network["network_id"])} for _ in range(count)])
        time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - started)))
        during = statuses(client, ids)
    assert "open" not in during, during

    settled = wait_until(client, ids, {"open", "send-failed"}, RECOVERY_SECONDS)
    assert settled is not None, f"not settled {RECOVERY_SECONDS:.0f}s after the RPC came back: {statuses(client, ids)}"
    if outage == "connections-refused":
        assert worker_failures(stack, log_start, ids), "no delivery failed while the RPC was down"
    retry_send_failed(client, settled)
    assert_one_deal_each(client, chain_w3, [get_payment(client, i) for i in ids])


@contextmanager
def refusing(proxy: RpcFaultProxy) -> Iterator[None]:
    proxy.refusing = True
    try:
        yield
    finally:
        proxy.refusing = False


def test_reorg_that_drops_the_deposit_moves_the_payment_back_to_open(
    client: Client, chain_w3: Any, slow_network: dict[str, str], own_wallet: Any
) -> None:
    """evm_snapshot before the payer's approve and deposit, `paid` seen, then evm_revert to the snapshot and a few
    blocks mined on top: the deposit's block and its transaction are gone, and the watcher moves the payment back
    to `open` (`reorged`), the deposit fields cleared. Paying again is seen again.

    How it is kept at `paid` until the revert: on the demo network (2 confirmations, a block a second) the watcher
    often confirms a deposit in the run that sees it, and `confirmed` is final by design. Pausing anvil's mining
    (evm_setIntervalMining(0) / evm_setAutomine) was not used: anvil has no RPC to return to the stack's mixed
    mining (a transaction mined at once *and* a block a second) once it was changed, and the chain is shared. The
    payment is on a network of its own over the same anvil and diamond that needs 100 confirmations
    (`slow_network`): the reorg is well inside its confirmation window, as on a real chain.

    The widget answers 202 there until the deal too has 100 confirmations (decision 0042: a verified deal only),
    so the payer pays the deal the worker recorded directly (`pay_deal`: approve, deposit(dealId)), as a wallet
    that read it from the chain could; the watcher checks a deposit against the payment's terms, verified or
    not."""
    w3, demo = chain_w3, client.demo
    r = client.create(
        network_id=slow_network["network_id"],
        currency_id=slow_network["currency_id"],
        wallet_id=own_wallet(slow_network["network_id"]),
        payment_address=PAYEE,
        price=4.75,
        paid_price=4.75,
    )
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    opened = wait_for_status(client, payment_id, "open")
    deal_id = opened["deal_id"]
    facet = diamond(w3, demo)
    token = chain.contract_at(w3, "MockUSDT", demo["token_address"])
    balance = token.functions.balanceOf(demo["payer_address"]).call()

    widget = widget_data(client, opened)
    assert widget.status_code == 202, widget.text  # not verified: 100 confirmations are far off
    assert (widget.json()["deal_id"], widget.json()["amount_units"]) == (None, "4750000")

    snapshot = rpc(w3, "evm_snapshot")
    deposit = pay_deal(client, w3, deal_id, 4_750_000)
    deposit_hash, deposit_block = tx_hex(deposit["transactionHash"]), int(deposit["blockNumber"])
    paid = wait_for_status(client, payment_id, "paid", "confirmed", timeout=15.0)
    assert paid["status"] == "paid", paid
    assert (paid["transaction_hash"], paid["block_number"]) == (deposit_hash, deposit_block)
    assert paid["confirmation_status"]["required_confirmations"] == 100
    assert paid["confirmation_status"]["confirmed"] is False

    assert rpc(w3, "evm_revert", snapshot) is True
    for _ in range(3):
        rpc(w3, "evm_mine")
    from web3.exceptions import TransactionNotFound

    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(deposit_hash)
    assert facet.functions.getDeal(deal_id).call()[7] == DEAL_STATUS["open"]
    assert token.functions.balanceOf(demo["payer_address"]).call() == balance

    back = wait_for_status(client, payment_id, "open", timeout=20.0)
    for field in ("transaction_hash", "payer", "block_number", "confirmation_status"):
        assert back[field] is None, (field, back)
    assert back["deal_id"] == deal_id
    expected = ["created", "deal_sending", "deal_created", "deposit_seen", "reorged"]
    assert event_types(client, payment_id, until=expected) == expected
    r = client.http.get(f"/api/v1/payments/{payment_id}/logs", params={"per_page": 1}, headers=client.auth())
    (reorged,) = r.json()["items"]
    assert (reorged["actor_type"], reorged["status_before"], reorged["status_after"]) == ("chain", "paid", "open")
    assert deposit_hash in reorged["message"]

    # The deal is open again on chain: the payer pays again, and the new deposit is seen.
    again = pay_deal(client, w3, deal_id, 4_750_000)
    repaid = wait_for_status(client, payment_id, "paid", timeout=15.0)
    assert repaid["transaction_hash"] == tx_hex(again["transactionHash"])
    assert repaid["block_number"] == int(again["blockNumber"])


def test_a_failed_message_does_not_stall_the_rest_of_its_wallet_group(
    client: Client, chain_w3: Any, proxy_network: dict[str, Any], own_wallet: Any
) -> None:
    """Six payments of one wallet (one FIFO group, as every payment of a merchant wallet, or of a network's
    platform wallet, is). The first one's calls are held while the other five are queued behind it, so the worker
    gets those five in one batch; the first createDeal of that batch is cut off (as in the mid-batch test). The
    fault is over at once, so each payment should have its deal within a few backoffs (STALL_DEADLINE = 4x the
    first); the four behind the failed one wait for the queue's visibility timeout instead. (The group is this
    test's own wallet: its stalled messages delay no other test's payments.)"""
    proxy: RpcFaultProxy = proxy_network["proxy"]
    network = {"network_id": proxy_network["network_id"], "currency_id": proxy_network["currency_id"]}
    body = {**network, "wallet_id": own_wallet(network["network_id"])}
    proxy.cut_send(2)  # the first (held) payment's createDeal passes; the next one, first of the batch, is cut
    proxy.gate.clear()
    try:
        (first,) = create_many(client, [body])
        wait_for_status(client, first, "sending", timeout=10.0)  # claimed, its RPC calls held at the proxy
        ids = [first, *create_many(client, [body] * 5)]
        time.sleep(1.0)
    finally:
        proxy.gate.set()

    payments = wait_until(client, ids, {"open"}, STALL_DEADLINE)
    assert len(proxy.cut) == 1, "no createDeal was cut off"
    if payments is None:
        # Late, never duplicated: every ref has at most one deal, and what is stored is that deal.
        facet = diamond(chain_w3, client.demo)
        for payment in (get_payment(client, i) for i in ids):
            ref = deal_ref(payment["id"])
            assert len(deal_created_events(chain_w3, client.demo, ref)) <= 1
            on_chain = facet.functions.dealIdOf(bytes.fromhex(ref[2:])).call()
            assert payment["deal_id"] in (None, on_chain), payment
        stalled = statuses(client, ids)
        cancel_all(client, [i for i, status in zip(ids, stalled, strict=True) if status != "open"])
        raise GroupStalled(f"not all open {STALL_DEADLINE:.0f}s after the fault: {stalled}")
    assert_one_deal_each(client, chain_w3, payments)


def cancel_all(client: Client, ids: list[str]) -> None:
    """Cancel the stalled payments (the one whose deal may exist through cancelDeal, on the cancel queue) so
    that their create-deal messages, back after the visibility timeout, are skipped without an RPC call."""
    for payment_id in ids:
        r = client.http.post(f"/api/v1/payments/{payment_id}/cancel", json={}, headers=client.auth())
        assert r.status_code == 202, r.text
    for payment_id in ids:
        wait_for_status(client, payment_id, "cancelled", timeout=15.0)
