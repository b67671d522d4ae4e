"""Lanes, nonces and recovery on a chain the test controls, over HTTP (issue 11 §6): two wallets with one owner and
cancels at once, a dropped and an underpriced pending createDeal, a cancel racing an in-flight createDeal, a reorg
that reorders two createDeals, and 40 payments with 5 % of RPC calls failing and a worker cut off mid-batch.

The stack's own anvil is shared by the session and mines in a mode no RPC restores once changed (mixed mining), so
these tests run on an anvil of this module's own (`own_chain`): the same deployment (a fresh anvil: the same diamond
and token addresses), networks of the tests' own on it, and signing keys of their own (random keys, funded with
anvil_setBalance, authorised as platform wallets of its diamond, stored as the wallets' keys): every lane here is
the tests' own, shared with no other test. Its mining is the module's: automine plus a block a second (`Miner`,
as the stack's mixed mining) unless a test holds it (`held`: nothing is mined until the block ends, so a
transaction the worker sent stays pending for the test to drop, underprice or race).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack import chain, deal_worker
from devstack.launch import LocalStackInfo, free_port
from devstack.rpc_faults import RpcFaultProxy
from payments_core.domain import catalog as admin
from payments_core.domain.entities import Network
from payments_core.domain.payments import deal_ref
from payments_core.store.catalog import DynamoCatalogStore
from payments_core.store.rpc_urls import RpcUrlStore
from payments_core.store.wallet_keys import WalletKeyStore
from tests.e2e.helpers import (
    DEAL_STATUS,
    Client,
    aws_client,
    get_payment,
    tx_hex,
    wait_for_status,
    wait_for_widget,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2
SETTLE_SECONDS = 60.0  # bounded waits for payments to reach their end
STAGGER_SECONDS = 0.4  # between two creates of the concurrency test (a block is a second)
DROPPED_RESENT_WITHIN = 8.0  # the nonce manager sees a dropped transaction after 2 s (nonces.DROPPED_AFTER_SECONDS);
# a manager that does not look re-sends only as "not mined" after 12 s (REPLACE_AFTER_SECONDS)


# ------------------------------------------------------------------------------------------------ the chain
def rpc(url: str, method: str, *params: Any) -> Any:
    return chain.rpc(url, method, list(params))


class Miner:
    """A block a second on the module's anvil while `ticking` (with automine: the stack's mixed mining)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ticking = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="own-anvil-miner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            if self.ticking.is_set():
                try:
                    rpc(self.url, "evm_mine")
                except (OSError, chain.ChainError):
                    continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


@dataclass
class OwnChain:
    url: str
    w3: Any
    deployment: chain.Deployment
    miner: Miner
    networks: list[str] = field(default_factory=list)

    def mixed(self) -> None:
        rpc(self.url, "evm_setAutomine", True)
        self.miner.ticking.set()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Nothing mined inside the block (automine off, no blocks); mixed mining again after it, whatever
        happens."""
        self.miner.ticking.clear()
        rpc(self.url, "evm_setAutomine", False)
        try:
            yield
        finally:
            self.mixed()

    @contextmanager
    def block_a_second(self) -> Iterator[None]:
        """Interval mining inside the block (automine off, a block a second: a transaction waits for its block,
        as on a real chain); mixed mining again after it."""
        rpc(self.url, "evm_setAutomine", False)
        self.miner.ticking.set()
        try:
            yield
        finally:
            self.mixed()

    def pending(self, address: str) -> dict[int, dict[str, Any]]:
        """The pool's transactions of `address` by nonce (txpool_content: pending and queued)."""
        pool = rpc(self.url, "txpool_content")
        found: dict[int, dict[str, Any]] = {}
        for part in ("pending", "queued"):
            for sender, txs in (pool.get(part) or {}).items():
                if sender.lower() == address.lower():
                    found.update({int(n): tx for n, tx in txs.items()})
        return found

    def wait_pending(
        self,
        address: str,
        *,
        besides: frozenset[str] = frozenset(),
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """The first transaction of `address` in the pool whose hash is not in `besides` (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            for tx in self.pending(address).values():
                if str(tx["hash"]).lower() not in besides:
                    return tx
            if time.monotonic() > deadline:
                raise AssertionError(f"no new pending transaction of {address} after {timeout:.0f}s")
            time.sleep(0.1)

    def facet(self) -> Any:
        return chain.contract_at(self.w3, "PaymentsFacet", self.deployment.diamond_address)

    def deal_created(self, ref: str) -> list[Any]:
        event = self.facet().events.DealCreated()
        return list(event.get_logs(from_block=0, to_block="latest", argument_filters={"ref": bytes.fromhex(ref[2:])}))

    def deal_of(self, ref: str) -> int:
        return int(self.facet().functions.dealIdOf(bytes.fromhex(ref[2:])).call())

    def deal_status(self, deal_id: int) -> int:
        return int(self.facet().functions.getDeal(deal_id).call()[7])


@pytest.fixture(scope="module")
def own_chain(
    tmp_path_factory: pytest.TempPathFactory, chain_w3: Any, catalog: DynamoCatalogStore
) -> Iterator[OwnChain]:
    """An anvil of this module's own with the local stack's deployment on it (the networks the tests make over
    it are retired before it stops: the watcher leaves a network without a diamond alone)."""
    log = Path(tmp_path_factory.mktemp("own-anvil")) / "anvil.log"
    anvil = chain.start_anvil(free_port(), log_file=log)
    miner: Miner | None = None
    own: OwnChain | None = None
    try:
        w3 = chain.connect(anvil.url)
        deployment = chain.deploy(w3)
        miner = Miner(anvil.url)
        own = OwnChain(anvil.url, w3, deployment, miner)
        own.mixed()
        yield own
    finally:
        if own is not None:
            for network_id in own.networks:
                network = catalog.get(Network, network_id)
                if network is not None:
                    catalog.put(network._replace(diamond_address=None))
        if miner is not None:
            miner.stop()
        anvil.stop()


@dataclass
class Lanes:
    """Networks over the module's anvil and signing wallets with keys of their own."""

    client: Client
    catalog: DynamoCatalogStore
    rpc_urls: RpcUrlStore
    keys: WalletKeyStore
    own: OwnChain

    def network(self, rpc_url: str | None = None, *, confirmations: int = 2) -> dict[str, str]:
        demo = self.client.demo
        network = admin.create_network(
            self.catalog,
            self.rpc_urls,
            chain_id=demo["chain_id"],
            name=f"e2e lanes {uuid.uuid4().hex[:6]}",
            evm_chain_id=demo["evm_chain_id"],
            rpc_url=rpc_url or self.own.url,
            diamond_address=self.own.deployment.diamond_address,
            required_confirmations=confirmations,
        )
        self.own.networks.append(network.id)
        currency = admin.create_currency(
            self.catalog, symbol="USDT", decimals=6, tokens={network.id: self.own.deployment.token_address}
        )
        return {"network_id": network.id, "currency_id": currency.id}

    def retire(self, network_id: str) -> None:
        """Without a diamond the watcher leaves the network alone."""
        network = self.catalog.get(Network, network_id)
        if network is not None:
            self.catalog.put(network._replace(diamond_address=None))

    def signer(self, network_id: str) -> tuple[str, str]:
        """A new signing wallet on the network (a random key: funded, a platform wallet of the diamond, its key
        stored): (its wallet id, its address)."""
        from eth_account import Account

        account = Account.create()
        address = str(account.address)
        w3, deployment = self.own.w3, self.own.deployment
        rpc(self.own.url, "anvil_setBalance", address, hex(10**20))
        facet = chain.contract_at(w3, "PaymentsFacet", deployment.diamond_address)
        chain.transact(w3, facet.functions.setPlatformWallet(address, True), chain.OWNER_KEY)
        wallet = admin.create_wallet(
            self.catalog,
            node_id=self.client.demo["nodes"]["root"],
            network_id=network_id,
            address=address,
            name=f"e2e lanes signer {uuid.uuid4().hex[:6]}",
        )
        self.keys.put(wallet.id, "0x" + bytes(account.key).hex())
        return wallet.id, address

    def merchant(self, network_id: str, owner_wallet_id: str) -> str:
        """A wallet of the demo root owned by `owner_wallet_id` (whose key signs its deals): its lane is the owner's."""
        address = "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
        wallet = admin.create_wallet(
            self.catalog,
            node_id=self.client.demo["nodes"]["root"],
            network_id=network_id,
            address=address,
            owner_wallet_id=owner_wallet_id,
            name=f"e2e lanes merchant {uuid.uuid4().hex[:6]}",
        )
        return wallet.id

    def create(self, network: dict[str, str], wallet_id: str, price: float = 1.5) -> str:
        # One body (one external_id) for every try: a 503 create_contended wrote nothing and says "try again"
        # (docs/api.md); forty creates of one node at once on a loaded 2-core machine can wait out its 8 s.
        body = self.client.payment_body(payment_address=PAYEE, price=price, paid_price=price, wallet_id=wallet_id,
                                        **network)  # fmt: skip
        for _ in range(3):
            r = self.client.http.post("/api/v1/payments", json=body, headers=self.client.auth())
            if not (r.status_code == 503 and r.json()["error"]["code"] == "create_contended"):
                break
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def cancel(self, payment_id: str) -> None:
        r = self.client.http.post(f"/api/v1/payments/{payment_id}/cancel", json={}, headers=self.client.auth())
        assert r.status_code == 202, r.text


@pytest.fixture(scope="module")
def lanes(
    stack: LocalStackInfo, client: Client, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore, own_chain: OwnChain
) -> Lanes:
    keys = WalletKeyStore(aws_client(stack, "secretsmanager"), stack.environment["WALLET_SECRET_PREFIX"])
    return Lanes(client, catalog, rpc_urls, keys, own_chain)


# ------------------------------------------------------------------------------------------------ the proxy
@contextmanager
def recording(lanes: Lanes, **kwargs: Any) -> Iterator[tuple[RpcFaultProxy, dict[str, str]]]:
    """An RpcFaultProxy in front of the module's anvil (it records every raw transaction sent through it, fails
    `fail_rate` of the calls, can cut a send) and a network over it (retired when the proxy stops)."""
    proxy = RpcFaultProxy(lanes.own.url, **kwargs)
    network: dict[str, str] | None = None
    try:
        network = lanes.network(proxy.url)
        yield proxy, network
    finally:
        if network is not None:
            lanes.retire(network["network_id"])
        proxy.stop()


# ------------------------------------------------------------------------------------------------ checks
def settle(client: Client, ids: list[str], done: set[str], timeout: float = SETTLE_SECONDS) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        payments = [get_payment(client, i) for i in ids]
        if all(p["status"] in done for p in payments):
            return payments
        if time.monotonic() > deadline:
            raise AssertionError(f"not all in {done} after {timeout:.0f}s: {[p['status'] for p in payments]}")
        time.sleep(0.25)


def assert_its_one_deal(own: OwnChain, payment: dict[str, Any], status: str = "open") -> None:
    """The payment is on the one deal its ref has on chain (one DealCreated, dealIdOf), in `status` there."""
    ref = deal_ref(payment["id"])
    events = own.deal_created(ref)
    assert len(events) == 1, (payment["id"], events)
    deal_id = int(events[0]["args"]["dealId"])
    assert payment["deal_id"] == deal_id == own.deal_of(ref), payment
    assert own.deal_status(deal_id) == DEAL_STATUS[status], (payment, own.deal_status(deal_id))


@contextmanager
def second_deal_worker(stack: LocalStackInfo, log_file: Path, seconds: float) -> Iterator[None]:
    """Deal worker invocations beside the stack's, for `seconds` (`python -m devstack.deal_worker`, one poller): two
    batches of the DealQueue at once in two processes, as Lambda runs them. Its log in `log_file`; stopped
    (bounded) when the block ends."""
    worker = deal_worker.start(stack.environment, log_file, seconds, pollers=1)
    try:
        yield
    finally:
        worker.stop()


def failures_in_log(
    stack: LocalStackInfo, since: int, ids: list[str], *, more: Path | None = None
) -> list[dict[str, Any]]:
    """The "chain work failed" lines of the payments `ids` in the devstack log from byte `since` (and in
    `more`: a second deal worker's log)."""
    found = failures_in(stack.log_file, since, ids)
    return found + (failures_in(more, 0, ids) if more is not None else [])


def failures_in(path: Path, since: int, ids: list[str]) -> list[dict[str, Any]]:
    found = []
    with path.open("rb") as log:
        log.seek(since)
        for raw in log:
            if b"chain work failed" not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("payment_id") in ids:
                found.append(line)
    return found


# ------------------------------------------------------------------------------------------------ tests
def test_two_wallets_of_one_owner_and_cancels_at_once_share_one_lane_without_a_nonce_race(
    stack: LocalStackInfo, client: Client, lanes: Lanes, tmp_path: Path
) -> None:
    """Two merchant wallets owned by one signing wallet, six payments on each created in turn (a few a second, from
    threads of their own), and every third cancelled right after its create answered (its create in flight or
    still queued), with two deal worker invocations running at once (as Lambda runs them) and a block a second:
    one lane (the owner's key), so no delivery fails, the key never sends two transactions at one nonce (no
    replacement) and the node refuses none; each payment ends open on its own deal, or cancelled with no open deal
    of its ref on chain."""
    own = lanes.own
    second_log = tmp_path / "second-deal-worker.log"
    with (
        recording(lanes) as (proxy, network),
        own.block_a_second(),
        second_deal_worker(stack, second_log, SETTLE_SECONDS),
    ):
        owner_id, owner_address = lanes.signer(network["network_id"])
        wallets = [lanes.merchant(network["network_id"], owner_id) for _ in range(2)]
        log_start = stack.log_file.stat().st_size

        def create_and_maybe_cancel(i: int) -> tuple[str, bool]:
            time.sleep(STAGGER_SECONDS * i)  # the wallets' payments come in turn, while earlier ones are in flight
            payment_id = lanes.create(network, wallets[i % 2])
            cancelled = i % 3 == 2
            if cancelled:
                lanes.cancel(payment_id)
            return payment_id, cancelled

        with ThreadPoolExecutor(12) as pool:
            made = list(pool.map(create_and_maybe_cancel, range(12)))
        ids = [payment_id for payment_id, _ in made]
        payments = settle(client, ids, {"open", "cancelled", "send-failed", "refunded"})
        sent = proxy.sent_by(owner_address)

    failed = failures_in_log(stack, log_start, ids, more=second_log)
    assert failed == [], [{k: f.get(k) for k in ("payment_id", "receives", "error_type", "raised_at")} for f in failed]
    nonces = [nonce for nonce, _, _ in sent]
    assert len(nonces) == len(set(nonces)), f"a nonce sent twice (a replacement): {sent}"
    assert [a for _, _, a in sent if "error" in a] == []
    assert nonces == list(range(len(nonces))), nonces  # the key's transactions, one nonce after the other
    for payment, (_, cancelled) in zip(payments, made, strict=True):
        if not cancelled:
            assert_its_one_deal(own, payment)
            continue
        assert payment["status"] == "cancelled", payment
        ref = deal_ref(payment["id"])
        deal_id = own.deal_of(ref)
        if deal_id:  # its createDeal was mined before the cancel: the deal is cancelled and recorded
            assert_its_one_deal(own, payment, "cancelled")
        else:
            assert own.deal_created(ref) == []
    assert {p["wallet_id"] for p in payments if p["status"] == "open"} == set(wallets)


def test_a_dropped_pending_create_deal_is_sent_again_at_its_nonce_and_ends_with_one_deal(
    stack: LocalStackInfo, lanes: Lanes
) -> None:
    """Mining held: the worker's createDeal is pending; anvil_dropTransaction takes it out of the pool. The nonce
    manager sees it gone and sends it again at the same nonce (before a replacement of a merely slow one would
    be due), within the one delivery; mining back, the payment is open on the re-sent transaction's deal, the
    only deal of its ref."""
    own = lanes.own
    log_start = stack.log_file.stat().st_size
    network = lanes.network()
    signer_id, signer_address = lanes.signer(network["network_id"])
    with own.held():
        payment_id = lanes.create(network, signer_id)
        first = own.wait_pending(signer_address)
        assert rpc(own.url, "anvil_dropTransaction", first["hash"]) is not None
        dropped_at = time.monotonic()
        assert own.pending(signer_address) == {}
        again = own.wait_pending(signer_address, besides=frozenset({str(first["hash"]).lower()}))
        took = time.monotonic() - dropped_at
        assert took < DROPPED_RESENT_WITHIN, f"re-sent {took:.1f}s after the drop: as a slow one, not as dropped"
        assert int(again["nonce"], 16) == int(first["nonce"], 16)
    payment = wait_for_status(lanes.client, payment_id, "open", timeout=SETTLE_SECONDS)
    assert payment["deal_transaction_hash"].lower() == str(again["hash"]).lower()
    assert_its_one_deal(own, payment)
    assert failures_in_log(stack, log_start, [payment_id]) == []  # no delivery failed: no backoff, no retry


def test_an_underpriced_pending_create_deal_is_sent_again_above_the_base_fee_and_ends_with_one_deal(
    stack: LocalStackInfo, lanes: Lanes
) -> None:
    """Mining held: the worker's createDeal is pending; the next block's base fee is raised above its max fee
    (anvil_setNextBlockBaseFeePerGas) and that block mined without it (anvil then evicts it from its pool). The
    nonce manager sends it again at the same nonce, priced above the new base fee (a re-send merely bumped by
    12.5 % is refused as underpriced and priced again), within the one delivery; mining back, the payment is open
    on one deal."""
    own = lanes.own
    log_start = stack.log_file.stat().st_size
    network = lanes.network()
    signer_id, signer_address = lanes.signer(network["network_id"])
    with own.held():
        payment_id = lanes.create(network, signer_id)
        first = own.wait_pending(signer_address)
        offered = int(first["maxFeePerGas"], 16)
        rpc(own.url, "anvil_setNextBlockBaseFeePerGas", hex(4 * offered))
        rpc(own.url, "evm_mine")
        block = own.w3.eth.get_block("latest")
        assert int(block["baseFeePerGas"]) == 4 * offered
        assert str(first["hash"]).lower() not in {tx_hex(h) for h in block["transactions"]}
        again = own.wait_pending(signer_address, besides=frozenset({str(first["hash"]).lower()}), timeout=30.0)
        assert int(again["nonce"], 16) == int(first["nonce"], 16)
        base_fee = int(own.w3.eth.get_block("latest")["baseFeePerGas"])
        assert int(again["maxFeePerGas"], 16) > base_fee
    payment = wait_for_status(lanes.client, payment_id, "open", timeout=SETTLE_SECONDS)
    assert payment["deal_transaction_hash"].lower() == str(again["hash"]).lower()
    assert_its_one_deal(own, payment)
    assert failures_in_log(stack, log_start, [payment_id]) == []  # no delivery failed: no backoff, no retry


def test_a_cancel_racing_an_in_flight_create_deal_leaves_no_untracked_open_deal(lanes: Lanes) -> None:
    """Mining held: the worker's createDeal is sent, not mined, when the integrator cancels. Once it is mined the
    deal exists; the cancel, behind the create in the lane, cancels that deal on chain and the payment records it:
    cancelled, on its deal, the deal cancelled (not an open deal nobody tracks)."""
    own = lanes.own
    network = lanes.network()
    signer_id, signer_address = lanes.signer(network["network_id"])
    with own.held():
        payment_id = lanes.create(network, signer_id)
        own.wait_pending(signer_address)
        lanes.cancel(payment_id)
        time.sleep(1.0)  # the cancel queued while the create waits for its receipt
    payment = wait_for_status(lanes.client, payment_id, "cancelled", timeout=SETTLE_SECONDS)
    assert_its_one_deal(own, payment, "cancelled")


def test_a_reorg_that_reorders_two_create_deals_ends_with_each_payment_on_its_own_deal(lanes: Lanes) -> None:
    """Two payments in two lanes (two keys) get deals d1 then d2; the chain is reverted to before both
    (evm_snapshot / evm_revert) and the two transactions mined again in the other order, so that the first
    payment's ref is now deal d2 and the second's d1. Verified at the network's confirmations, each payment ends on
    its own deal (dealIdOf its ref), and the widget points each payer at that deal."""
    own, client = lanes.own, lanes.client
    network = lanes.network(confirmations=4)
    lane_a, _ = lanes.signer(network["network_id"])
    lane_b, _ = lanes.signer(network["network_id"])
    own.miner.ticking.clear()  # automine only: no confirmation grows until the test mines
    try:
        snapshot = rpc(own.url, "evm_snapshot")
        a = wait_for_status(client, lanes.create(network, lane_a, price=2.0), "open")
        b = wait_for_status(client, lanes.create(network, lane_b, price=3.0), "open")
        assert a["deal_id"] < b["deal_id"]
        raw_a = rpc(own.url, "eth_getRawTransactionByHash", a["deal_transaction_hash"])
        raw_b = rpc(own.url, "eth_getRawTransactionByHash", b["deal_transaction_hash"])
        assert rpc(own.url, "evm_revert", snapshot) is True
        rpc(own.url, "eth_sendRawTransaction", raw_b)
        rpc(own.url, "eth_sendRawTransaction", raw_a)
        ref_a, ref_b = deal_ref(a["id"]), deal_ref(b["id"])
        assert (own.deal_of(ref_a), own.deal_of(ref_b)) == (b["deal_id"], a["deal_id"])  # swapped
    finally:
        own.mixed()

    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        now_a, now_b = get_payment(client, a["id"]), get_payment(client, b["id"])
        if (now_a["deal_id"], now_b["deal_id"]) == (b["deal_id"], a["deal_id"]) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert_its_one_deal(own, now_a)
    assert_its_one_deal(own, now_b)
    for payment in (now_a, now_b):
        r = wait_for_widget(client, payment)
        assert r.status_code == 200, r.text
        assert r.json()["deal_id"] == payment["deal_id"]
        assert r.json()["contract"]["arguments"] == [payment["deal_id"]]


def test_forty_payments_with_5_percent_of_rpc_calls_failing_and_a_send_cut_get_exactly_one_deal_each(
    client: Client, lanes: Lanes
) -> None:
    """40 payments at once in four lanes, through an RPC where 5 % of the calls fail (the connection closed before
    the node sees them) and one createDeal reaches the node but never answers (a worker killed mid-batch). Every
    payment ends open with exactly one deal (retry-send for one the queue gave up on); no ref has two."""
    own = lanes.own
    with recording(lanes, fail_rate=0.05) as (proxy, network):
        owners = [lanes.signer(network["network_id"])[0] for _ in range(4)]
        proxy.cut_send(2)

        def create(i: int) -> str:
            return lanes.create(network, owners[i % 4], price=round(1.0 + i / 100, 2))

        with ThreadPoolExecutor(10) as pool:
            ids = list(pool.map(create, range(40)))
        payments = settle(client, ids, {"open", "send-failed"}, timeout=3 * SETTLE_SECONDS)  # backoffs: 5, 10, 20 s
        for payment in payments:
            if payment["status"] == "send-failed":
                r = client.http.post(f"/api/v1/payments/{payment['id']}/retry-send", headers=client.auth())
                assert r.status_code == 200, r.text
        payments = settle(client, ids, {"open"})
        assert proxy.failed > 0, "no RPC call failed"
        assert len(proxy.cut) == 1, "no createDeal was cut off"
    for payment in payments:
        assert_its_one_deal(own, payment)
    assert len({p["deal_id"] for p in payments}) == 40
