"""The chain watcher's rules on fakes (issue 11 §3-§4): deals verified against the contract at the required
confirmations (and read again from dealIdOf after a reorg reordered two createDeals), deposits checked against
the payment, the per-network time budget (expiry is never skipped), the cursor held before a deposit that
failed, a lagging node that is no reorg, required_confirmations against the scan window; and the cancel
worker's record of what the chain did (the DealCancelled refunded flag, a deposit into a final payment)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from payments_core.domain import catalog as admin
from payments_core.domain import chain_work, watcher, widget
from payments_core.domain.chain_work import ChainDeps, ChainError, DealInfo
from payments_core.domain.entities import Chain, Network, Payment, Wallet
from payments_core.domain.payments import PaymentDeps, iso
from payments_core.domain.watcher import WatcherDeps
from payments_core.errors import ValidationFailed
from payments_core.models.payments import PaymentStatus as S
from tests.unit.fakes import (
    FakeCatalog,
    FakeChain,
    FakeClock,
    FakeCursorStore,
    FakeDealQueue,
    FakeWalletKeys,
    wallet_address,
)
from tests.unit.test_status_moves import NETWORK, NODE, NOW, PLATFORM_WALLET, RacingStore, _with_deal

OTHER_NETWORK = str(uuid.uuid4())


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain(head=100)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog() -> FakeCatalog:
    catalog = FakeCatalog()
    catalog.add(
        Network(
            id=NETWORK, chain_id="eth", name="test", evm_chain_id=1, diamond_address="0xd",
            required_confirmations=3, platform_wallet_id=PLATFORM_WALLET,
        )
    )  # fmt: skip
    catalog.add(Wallet(id=PLATFORM_WALLET, node_id=NODE, address=wallet_address(PLATFORM_WALLET)))  # it signs the deals
    return catalog


@pytest.fixture
def deal_queue() -> FakeDealQueue:
    return FakeDealQueue()


@pytest.fixture
def deps(
    store: RacingStore, catalog: FakeCatalog, chain: FakeChain, clock: FakeClock, deal_queue: FakeDealQueue
) -> WatcherDeps:
    return WatcherDeps(
        payments=store, catalog=catalog, cursors=FakeCursorStore(), deal_queue=deal_queue,
        chain_for=lambda _: chain, clock=clock,
    )  # fmt: skip


@pytest.fixture
def chain_deps(store: RacingStore, catalog: FakeCatalog, chain: FakeChain) -> ChainDeps:
    return ChainDeps(payments=store, catalog=catalog, wallet_keys=FakeWalletKeys(), chain_for=lambda _: chain)


def _network(catalog: FakeCatalog, network_id: str = NETWORK) -> Network:
    found = catalog.get(Network, network_id)
    assert found is not None
    return found


def _watch(deps: WatcherDeps, catalog: FakeCatalog) -> watcher.WatchSummary:
    return watcher.watch_network(deps, _network(catalog), NOW)


def _recorded(store: RacingStore, chain: FakeChain, status: S = S.OPEN, **fields: Any) -> Payment:
    """A payment whose deal the create-deal worker recorded, as it does: with its block, unverified."""
    item = _with_deal(store, chain, status, **fields)
    created = chain.created[str(item.deal_ref)]
    return store.put(
        item._replace(deal_block_number=created.block_number, deal_block_hash=created.block_hash, deal_verified=False)
    )


# ---------------------------------------------------------------------------------------------- trusted deals
def test_a_deal_is_verified_at_the_required_confirmations_and_only_then_shown_by_the_widget(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain)  # mined in block 100; the network needs 3 confirmations
    widget_deps = PaymentDeps(catalog=catalog, payments=store, deal_queue=FakeDealQueue())
    assert _watch(deps, catalog).deals_verified == 0
    data, ready = widget.widget_data(widget_deps, item.id)
    assert (ready, data.deal_id, data.contract, data.approve) == (False, None, None, None)  # 202: poll

    chain.head_block = 102
    assert _watch(deps, catalog).deals_verified == 1
    stored = store.items[item.id]
    assert (stored.status, stored.deal_verified, stored.version) == ("open", True, item.version + 1)
    assert stored.last_event is not None
    assert stored.last_event.type == "deal_verified"
    data, ready = widget.widget_data(widget_deps, item.id)
    assert (ready, data.deal_id) == (True, item.deal_id)
    assert data.contract is not None
    assert data.contract.arguments == [item.deal_id]
    assert _watch(deps, catalog).deals_verified == 0  # verified once


def test_a_reorg_that_reorders_two_create_deals_ends_with_each_payment_on_its_own_deal(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    a, b = _recorded(store, chain), _recorded(store, chain)
    assert (a.deal_id, b.deal_id) == (1, 2)
    # The fork that won mined b's createDeal first: deal 1 is b's, deal 2 is a's, in other blocks.
    deal_a, deal_b = chain.deals[1], chain.deals[2]
    chain.deals = {1: dataclasses.replace(deal_b, deal_id=1), 2: dataclasses.replace(deal_a, deal_id=2)}
    chain.hashes[100] = "0x" + "e" * 64
    chain.created = {
        str(b.deal_ref): dataclasses.replace(chain.created[str(b.deal_ref)], deal_id=1, block_hash="0x" + "e" * 64),
        str(a.deal_ref): dataclasses.replace(chain.created[str(a.deal_ref)], deal_id=2, block_hash="0x" + "e" * 64),
    }
    chain.head_block = 103
    summary = _watch(deps, catalog)
    assert (summary.deals_moved, summary.deals_verified, summary.mismatched) == (2, 2, 0)
    for item, deal_id in ((a, 2), (b, 1)):
        stored = store.items[item.id]
        assert (stored.deal_id, stored.deal_verified, stored.deal_block_hash) == (deal_id, True, "0x" + "e" * 64)
        assert chain.deals[deal_id].ref == item.deal_ref


def test_a_deal_the_chain_dropped_is_cleared_until_it_is_mined_again(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain)
    chain.deals.clear()
    chain.created.clear()  # the createDeal is back in the mempool
    chain.head_block = 103
    assert _watch(deps, catalog).deals_moved == 1
    stored = store.items[item.id]
    assert (stored.status, stored.deal_id, stored.deal_verified) == ("open", None, False)
    widget_deps = PaymentDeps(catalog=catalog, payments=store, deal_queue=FakeDealQueue())
    assert widget.widget_data(widget_deps, item.id)[1] is False

    key = FakeWalletKeys().private_key(PLATFORM_WALLET)
    chain.create_deal(
        key, ref=str(item.deal_ref), payee=item.payment_address, token=str(item.token_address),
        amount=int(item.amount_units or 0), expires_at=int(datetime.fromisoformat(item.expires_at).timestamp()),
    )  # fmt: skip  # mined again, in block 103
    chain.head_block = 105
    summary = _watch(deps, catalog)
    assert (summary.deals_moved, summary.deals_verified) == (1, 1)
    assert (store.items[item.id].deal_id, store.items[item.id].deal_verified) == (1, True)


@pytest.mark.parametrize(
    "field",
    ["creator", "token", "amount", "payee", "expires_at"],
)
def test_a_deal_on_other_terms_than_its_payment_is_never_verified(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain, field: str
) -> None:
    item = _recorded(store, chain)
    deal = chain.deals[int(item.deal_id or 0)]
    other: dict[str, Any] = {"creator": "0x" + "9" * 40, "token": "0x" + "8" * 40, "payee": "0x" + "6" * 40}
    other |= {"amount": 1, "expires_at": deal.expires_at + 1}
    chain.deals[deal.deal_id] = dataclasses.replace(deal, **{field: other[field]})
    chain.head_block = 110
    summary = _watch(deps, catalog)
    assert (summary.deals_verified, summary.mismatched) == (0, 1)
    assert store.items[item.id].deal_verified is False


def test_addresses_compare_without_their_checksum_case(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain, payment_address="0x" + "aB" * 20)
    deal = chain.deals[int(item.deal_id or 0)]
    chain.deals[deal.deal_id] = dataclasses.replace(deal, payee=deal.payee.lower(), creator=deal.creator.upper())
    chain.head_block = 110
    assert _watch(deps, catalog).deals_verified == 1


# ---------------------------------------------------------------------------------------------- deposits
def test_a_deposit_of_another_amount_or_into_a_deal_on_other_terms_does_not_pay(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    short = _recorded(store, chain)
    other = _recorded(store, chain)
    ev = chain.pay(int(short.deal_id or 0), block=99)
    chain.logged[-1] = dataclasses.replace(ev, args={**ev.args, "amount": 1})  # less than the payment's amount
    deal = chain.deals[int(other.deal_id or 0)]
    chain.deals[deal.deal_id] = dataclasses.replace(deal, token="0x" + "8" * 40)
    chain.pay(deal.deal_id, block=99)
    summary = _watch(deps, catalog)
    assert (summary.deposits, summary.mismatched) == (0, 2)  # (other's deal is not deep enough to verify yet)
    assert (store.items[short.id].status, store.items[other.id].status) == ("open", "open")


def test_a_deposit_into_the_deal_of_its_ref_pays_the_payment_whatever_id_was_recorded(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain)
    store.put(store.items[item.id]._replace(deal_id=7))  # an id a reorg gave to another deal
    chain.pay(int(item.deal_id or 0), block=99)
    summary = _watch(deps, catalog)
    stored = store.items[item.id]
    assert (summary.deposits, stored.status, stored.deal_id, stored.deal_verified) == (1, "paid", 1, False)
    chain.head_block = 101
    _watch(deps, catalog)
    stored = store.items[item.id]
    assert (stored.status, stored.deal_verified) == ("confirmed", True)  # the deal precedes its deposit


def test_a_deposit_into_the_deal_of_a_cancelled_payment_is_refunded_and_the_payment_stays_cancelled(  # noqa: PLR0917
    deps: WatcherDeps,
    chain_deps: ChainDeps,
    catalog: FakeCatalog,
    store: RacingStore,
    chain: FakeChain,
    deal_queue: FakeDealQueue,
) -> None:
    item = _recorded(store, chain, S.CANCELLED)  # its deal was mined after the cancel worker found none
    chain.pay(int(item.deal_id or 0), block=99)
    assert _watch(deps, catalog).late_refunds == 1
    (sent,) = deal_queue.sent
    assert (sent.body["payment_id"], sent.body["deal_id"]) == (item.id, str(item.deal_id))

    assert chain_work.cancel_deal(chain_deps, item.id) == "late deposit refunded"
    assert chain.deals[int(item.deal_id or 0)].status == "refunded"
    stored = store.items[item.id]
    assert stored.status == "cancelled"
    assert stored.last_event is not None
    assert stored.last_event.type == "refunded"
    assert chain_work.cancel_deal(chain_deps, item.id) == "skipped: cancelled"  # a redelivery
    assert chain.cancel_calls == [item.deal_id]


# ---------------------------------------------------------------------------------------------- the cancel worker
def test_a_deposit_between_the_cancel_workers_read_and_its_cancel_deal_is_recorded_refunded(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain, S.CANCELLING, expire_on_cancel=True)
    deal_id = int(item.deal_id or 0)

    def deposit() -> None:
        chain.pay(deal_id, block=101)  # mined between the worker's read of the deal and its cancelDeal

    chain.before_send.append(deposit)
    assert chain_work.cancel_deal(chain_deps, item.id) == "refunded"
    assert (store.items[item.id].status, chain.deals[deal_id].status) == ("refunded", "refunded")


def test_the_cancel_worker_cancels_the_deal_of_its_ref_not_a_reorgs_id(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    mine, theirs = _recorded(store, chain, S.CANCELLING), _recorded(store, chain)
    store.put(store.items[mine.id]._replace(deal_id=theirs.deal_id))  # the id a reorg gave to the other's deal
    assert chain_work.cancel_deal(chain_deps, mine.id) == "cancelled"
    assert chain.cancel_calls == [mine.deal_id]
    assert (chain.deals[int(theirs.deal_id or 0)].status, store.items[mine.id].deal_id) == ("open", mine.deal_id)


# ---------------------------------------------------------------------------------------------- the cursor
class _Failing:
    """The fake chain, with get_deal failing (an RPC error) for some deals."""

    def __init__(self, inner: FakeChain, failing: set[int]) -> None:
        self.inner, self.failing = inner, failing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_deal(self, deal_id: int) -> DealInfo:
        if deal_id in self.failing:
            raise ChainError("ConnectionError: the node went away")
        return self.inner.get_deal(deal_id)


def test_the_cursor_never_moves_past_a_deposit_that_failed(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    first, second = _recorded(store, chain), _recorded(store, chain)
    chain.pay(int(first.deal_id or 0), block=90)
    chain.pay(int(second.deal_id or 0), block=95)
    failing = dataclasses.replace(deps, chain_for=lambda _: _Failing(chain, {int(first.deal_id or 0)}))
    summary = _watch(failing, catalog)
    assert (summary.deposit_failures, summary.deposits, summary.cursor_moved) == (1, 1, True)
    assert (store.items[first.id].status, store.items[second.id].status) == ("open", "confirmed")  # the rest go on
    cursor = deps.cursors.get(NETWORK)
    assert cursor is not None
    assert (cursor.block, cursor.block_hash) == (89, chain.block_hash(89))
    assert summary.lag_blocks == 100 - 89

    summary = _watch(deps, catalog)  # the node is back: read again from the failed deposit on
    assert summary.from_block <= 90
    version = store.items[second.id].version
    assert (summary.deposits, store.items[first.id].status) == (1, "confirmed")
    assert store.items[second.id].version == version  # seen again: nothing written
    cursor = deps.cursors.get(NETWORK)
    assert cursor is not None
    assert cursor.block == 100


def test_a_deposit_that_failed_holds_back_the_expiry_clock(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    """A payment whose deposit failed to process must not be expired by a clock past that deposit."""
    expiry = iso(datetime.fromtimestamp(chain.block_timestamp(92), tz=NOW.tzinfo))
    item = _recorded(store, chain, expires_at=expiry)
    chain.pay(int(item.deal_id or 0), block=90)
    failing = dataclasses.replace(deps, chain_for=lambda _: _Failing(chain, {int(item.deal_id or 0)}))
    assert _watch(failing, catalog).expired == 0  # by block 89's clock, before its expiry
    assert store.items[item.id].status == "open"
    summary = _watch(deps, catalog)
    assert (summary.deposits, store.items[item.id].status) == (1, "confirmed")


def test_a_head_behind_the_cursor_or_a_deposit_is_a_lagging_node_not_a_reorg(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _recorded(store, chain)
    chain.pay(int(item.deal_id or 0), block=99)
    _watch(deps, catalog)
    assert store.items[item.id].status == "paid"
    chain.head_block = 97  # another node of the provider's pool, a few blocks behind
    summary = _watch(deps, catalog)
    assert (summary.node_behind, summary.rewound, summary.reorged, summary.cursor_moved) == (True, False, 0, False)
    assert store.items[item.id].status == "paid"
    cursor = deps.cursors.get(NETWORK)
    assert cursor is not None
    assert cursor.block == 100
    chain.head_block = 101
    assert _watch(deps, catalog).confirmed == 1


# ---------------------------------------------------------------------------------------------- budgets
class _Slow:
    """The fake chain on a slow node: every getLogs takes `seconds` of the run's clock."""

    def __init__(self, inner: FakeChain, clock: FakeClock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def events(self, from_block: int, to_block: int) -> list[Any]:
        self.clock.advance(self.seconds)
        return self.inner.events(from_block, to_block)


def test_a_slow_network_never_starves_another_and_still_expires_its_payments(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain, clock: FakeClock
) -> None:
    catalog.add(
        Network(
            id=OTHER_NETWORK, chain_id="eth", name="other", evm_chain_id=2, diamond_address="0xe",
            required_confirmations=3, platform_wallet_id=PLATFORM_WALLET,
        )
    )  # fmt: skip
    other_chain = FakeChain(head=3_000)  # a first run: it reads 1000 blocks, in two getLogs
    slow = _Slow(other_chain, clock, seconds=30)  # each longer than its scan's share of the budget
    deps = dataclasses.replace(deps, chain_for=lambda n: slow if n.id == OTHER_NETWORK else chain)
    expiring = _recorded(store, other_chain, expires_at=iso(NOW - timedelta(days=1)), network_id=OTHER_NETWORK)
    paid = _recorded(store, chain)
    chain.pay(int(paid.deal_id or 0), block=99)

    report = {n["network_id"]: n for n in watcher.watch_all(deps, NOW, seconds=60)["networks"]}
    assert report[NETWORK]["ok"]
    assert report[NETWORK]["deposits"] == 1
    assert store.items[paid.id].status == "paid"
    assert report[OTHER_NETWORK]["out_of_time"] is True
    assert report[OTHER_NETWORK]["to_block"] < report[OTHER_NETWORK]["head"]  # the rest is the next run's
    assert report[OTHER_NETWORK]["expired"] == 1  # by the clock of what it did read
    assert store.items[expiring.id].status == "cancelling"


def test_the_last_network_gets_what_the_first_left(
    deps: WatcherDeps, catalog: FakeCatalog, chain: FakeChain, clock: FakeClock
) -> None:
    catalog.add(_network(catalog)._replace(id=OTHER_NETWORK, name="other"))
    seen: list[tuple[str, float]] = []

    def watch(deps: WatcherDeps, network: Network, now: datetime, *, deadline: float | None = None) -> Any:
        assert deadline is not None
        seen.append((network.id, deadline - clock()))
        clock.advance(5)  # the first one is quick
        return watcher.WatchSummary(network.id)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(watcher, "watch_network", watch)
        watcher.watch_all(deps, NOW, seconds=52)
    budget = 52 - watcher.RUN_SAFETY_SECONDS
    assert [round(s, 3) for _, s in seen] == [budget / 2, budget - 5]


# ---------------------------------------------------------------------------------------------- the scan window
def test_required_confirmations_must_fit_the_scan_window(deps: WatcherDeps, catalog: FakeCatalog) -> None:
    too_many = watcher.MAX_REQUIRED_CONFIRMATIONS + 1
    chain = admin.create_chain(catalog, "eth")

    class Urls:
        def put(self, network_id: str, url: str) -> None: ...

    with pytest.raises(ValidationFailed, match="at most"):
        admin.create_network(
            catalog, Urls(), chain_id=chain.id, name="x", evm_chain_id=9, rpc_url="http://rpc",  # type: ignore[arg-type]
            required_confirmations=too_many,
        )  # fmt: skip
    assert [n.id for n in catalog.list(Network)] == [NETWORK]
    assert catalog.get(Chain, chain.id) is not None

    catalog.put(_network(catalog)._replace(required_confirmations=too_many))  # stored before the check existed
    (report,) = watcher.watch_all(deps, NOW)["networks"]
    assert report["ok"] is False
    assert report["error"].startswith("ScanWindowTooSmall: required_confirmations must be at most")


def test_a_scan_out_of_time_between_deposits_leaves_their_range_to_the_next_run(
    deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain, clock: FakeClock
) -> None:
    first, second = _recorded(store, chain), _recorded(store, chain)
    chain.pay(int(first.deal_id or 0), block=90)
    chain.pay(int(second.deal_id or 0), block=95)

    class SlowDeals(_Failing):
        def get_deal(self, deal_id: int) -> DealInfo:
            clock.advance(10)  # each deal read takes 10 s
            return self.inner.get_deal(deal_id)

    slow = dataclasses.replace(deps, chain_for=lambda _: SlowDeals(chain, set()))
    summary = watcher.watch_network(slow, _network(catalog), NOW, deadline=clock() + 16)  # the scan gets 8 s
    assert (summary.deposits, summary.out_of_time, summary.cursor_moved) == (1, True, False)
    assert (store.items[first.id].status, store.items[second.id].status) == ("confirmed", "open")
    summary = watcher.watch_network(deps, _network(catalog), NOW)
    assert (summary.deposits, store.items[second.id].status) == (1, "confirmed")
