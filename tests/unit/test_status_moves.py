"""The status machine's moves on fakes (no moto): the lifecycle's cancel and retry-send, the chain workers'
create and cancel, the watcher's deposits, confirmations, reorgs and expiries, and what each does when
someone else writes the payment between its read and its conditional write (the moto tests in
tests/integration run the same moves on the real tables)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from payments_core.domain import chain_work, lifecycle, watcher
from payments_core.domain.access import Principal
from payments_core.domain.chain_work import ChainDeps, ChainError
from payments_core.domain.entities import Network, Payment, PaymentChanges, Wallet
from payments_core.domain.payments import PaymentDeps, deal_ref, iso
from payments_core.domain.stores import StaleWrite
from payments_core.domain.watcher import WatcherDeps
from payments_core.errors import Conflict, DomainError
from payments_core.models.payments import PaymentStatus as S
from payments_core.store.codec import payment_from
from payments_core.store.payments import watch_attributes
from tests.unit.fakes import (
    FakeCatalog,
    FakeChain,
    FakeCursorStore,
    FakeDealQueue,
    FakePaymentStore,
    FakeWalletKeys,
    wallet_address,
)

NODE = str(uuid.uuid4())
NETWORK = str(uuid.uuid4())
PLATFORM_WALLET = str(uuid.uuid4())
NOW = datetime.fromtimestamp(1_800_000_000 + 100 * 12, UTC)  # the fake chain's head block time (the watcher's now)
PRINCIPAL = Principal(actor_type="integration", actor_id="ci_test", node_id=NODE)


class RacingStore(FakePaymentStore):
    """A payment store where someone else writes first: before each of our next `updates`, `other` changes
    the payment (a conditional write of its own, so ours is stale)."""

    def __init__(self) -> None:
        super().__init__()
        self.interleave: list[PaymentChanges] = []  # the changes the other writer makes, one per update of ours

    def update(self, payment: Payment, changes: PaymentChanges) -> Payment:
        if self.interleave:
            theirs = self.interleave.pop(0)
            current = self.items[payment.id]
            self.items[payment.id] = current._replace(**theirs)._replace(version=current.version + 1)
        return super().update(payment, changes)


def payment(store: FakePaymentStore, status: S = S.PENDING, **fields: Any) -> Payment:
    payment_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    item: dict[str, Any] = {
        "id": payment_id,
        "external_id": f"order-{payment_id[:8]}",
        "node_id": NODE,
        "node_path": [NODE],
        "network_id": NETWORK,
        "currency_id": str(uuid.uuid4()),
        "currency_symbol": "USDT",
        "currency_decimals": 6,
        "price": Decimal(10),
        "paid_price": Decimal(10),
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x" + "7" * 40,
        "token_address": "0x" + "5" * 40,
        "amount_units": 10_000_000,
        "deal_ref": deal_ref(payment_id),
        "expires_at": iso(max(now, NOW) + timedelta(days=1)),
        "access_token": "pwt_x",
        "status": status.value,
        "version": 1,
        "retry_count": 0,
        "created_at": iso(now),
        "updated_at": iso(now),
        **fields,
    }
    return store.put(payment_from(item))


def status_of(store: FakePaymentStore, item: Payment) -> str:
    return str(store.items[item.id].status)


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def queue() -> FakeDealQueue:
    return FakeDealQueue()  # the lanes: create- and cancel-deal messages


@pytest.fixture
def payment_deps(store: RacingStore, queue: FakeDealQueue) -> PaymentDeps:
    return PaymentDeps(catalog=FakeCatalog(), payments=store, deal_queue=queue)


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain(head=100)


@pytest.fixture
def catalog() -> FakeCatalog:
    catalog = FakeCatalog()
    catalog.add(
        Network(
            id=NETWORK, chain_id="eth", name="test", evm_chain_id=1, rpc_url="http://rpc", diamond_address="0xd",
            required_confirmations=3, platform_wallet_id=PLATFORM_WALLET,
        )
    )  # fmt: skip
    catalog.add(Wallet(id=PLATFORM_WALLET, node_id=NODE, address=wallet_address(PLATFORM_WALLET)))
    return catalog


@pytest.fixture
def chain_deps(store: RacingStore, catalog: FakeCatalog, chain: FakeChain) -> ChainDeps:
    return ChainDeps(payments=store, catalog=catalog, wallet_keys=FakeWalletKeys(), chain_for=lambda _: chain)


@pytest.fixture
def watcher_deps(store: RacingStore, catalog: FakeCatalog, chain: FakeChain, queue: FakeDealQueue) -> WatcherDeps:
    return WatcherDeps(
        payments=store, catalog=catalog, cursors=FakeCursorStore(), deal_queue=queue,
        chain_for=lambda _: chain,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- lifecycle.move
def test_a_move_writes_status_version_event_and_the_watch_index(store: RacingStore) -> None:
    item = payment(store, S.PENDING)
    assert watch_attributes(store.items[item.id])["watch_pk"] == f"{NETWORK}#pending"
    moved = lifecycle.move(
        store, item, to=S.CANCELLED, actor=lifecycle.Actor("system", "t"), event_type="cancelled", message="m"
    )
    assert (moved.status, moved.version) == ("cancelled", 2)
    assert moved.last_event is not None
    assert moved.last_event.status_before == "pending"
    assert "watch_pk" not in moved  # no more work for the watcher: out of the index


def test_an_illegal_move_writes_nothing(store: RacingStore) -> None:
    item = payment(store, S.CONFIRMED)
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.move(store, item, to=S.PENDING, actor=lifecycle.Actor("system", "t"), event_type="x", message="m")
    assert store.updates == []


def test_a_move_from_a_stale_read_is_refused(store: RacingStore) -> None:
    item = payment(store, S.PENDING)
    store.interleave = [{"status": S.SENDING}]
    with pytest.raises(StaleWrite):
        lifecycle.move(store, item, to=S.CANCELLED, actor=lifecycle.Actor("s", "t"), event_type="x", message="m")
    assert status_of(store, item) == "sending"


# ---------------------------------------------------------------------------------------------- cancel
def test_cancel_of_a_pending_payment_no_worker_claimed_is_immediate(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.PENDING)
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    assert status_of(store, item) == "cancelled"
    assert queue.sent == []


def test_cancel_of_an_open_payment_goes_through_cancel_deal_once(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.OPEN, deal_id=7)
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)  # asked again: accepted, not re-sent
    assert status_of(store, item) == "cancelling"
    assert [m.body["deal_id"] for m in queue.sent] == ["7"]
    assert queue.sent[0].group == f"network:{NETWORK}"


@pytest.mark.parametrize(
    ("status", "code"),
    [(S.EXPIRED, "payment_expired"), (S.REFUNDED, "payment_already_refunded"), (S.FAILED, "payment_failed")],
)
def test_cancel_of_a_final_payment_is_refused_and_writes_nothing(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue, status: S, code: str
) -> None:
    item = payment(store, status)
    with pytest.raises(Conflict) as info:
        lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    assert info.value.code == code
    assert store.updates == []


def test_cancel_that_loses_to_a_worker_claim_decides_again_on_sending(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.PENDING)
    store.interleave = [{"status": S.SENDING, "deal_may_exist": True}]  # the create-deal worker claims it first
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    assert store.stale_writes == 1
    assert status_of(store, item) == "cancelling"  # a deal may exist now: through cancelDeal
    assert len(queue.sent) == 1


def test_cancel_of_a_payment_that_keeps_changing_gives_up_after_bounded_attempts(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.PENDING)
    store.interleave = [{"updated_at": iso(datetime.now(UTC))}] * 10  # a change in place before every write
    with pytest.raises(Conflict) as info:
        lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    assert info.value.code == "concurrent_update"
    assert store.stale_writes == lifecycle.MAX_RACE_ATTEMPTS
    assert status_of(store, item) == "pending"


# ---------------------------------------------------------------------------------------------- retry-send
def test_retry_send_of_a_failed_send_requeues_it_once_per_click(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.SEND_FAILED, deal_may_exist=True)
    first = lifecycle.retry_send(payment_deps, PRINCIPAL, item.id)
    again = lifecycle.retry_send(payment_deps, PRINCIPAL, item.id)  # the double click
    assert first.status is S.PENDING
    assert again.retry_count == first.retry_count == 1
    assert [m.dedup_id for m in queue.sent] == [f"{item.id}:1"]


def test_retry_send_of_a_payment_with_its_deal_is_refused(payment_deps: PaymentDeps, store: RacingStore) -> None:
    item = payment(store, S.OPEN, deal_id=3)
    with pytest.raises(DomainError) as info:
        lifecycle.retry_send(payment_deps, PRINCIPAL, item.id)
    assert info.value.code == "payment_has_deal"
    assert store.updates == []


def test_retry_send_that_loses_to_the_watcher_expiring_it_answers_expired(
    payment_deps: PaymentDeps, store: RacingStore, queue: FakeDealQueue
) -> None:
    item = payment(store, S.SEND_FAILED, deal_may_exist=True)
    store.interleave = [{"status": S.CANCELLING, "expire_on_cancel": True}]
    with pytest.raises(DomainError) as info:
        lifecycle.retry_send(payment_deps, PRINCIPAL, item.id)
    assert info.value.code == "payment_cancelled"
    assert queue.sent == []


# ---------------------------------------------------------------------------------------------- chain workers
def test_create_deal_claims_creates_and_records_the_deal_once(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.PENDING)
    assert chain_work.create_deal(chain_deps, item.id) == "deal created"
    assert chain_work.create_deal(chain_deps, item.id) == "skipped: open"  # a redelivery
    stored = store.items[item.id]
    assert (stored.status, stored.deal_id, stored.deal_may_exist) == ("open", 1, True)
    assert chain.create_calls == [item.deal_ref]
    assert [u["status"] for u in store.updates] == ["sending", "open"]


def test_create_deal_redelivered_after_a_crash_records_the_deal_it_finds(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.SENDING, deal_may_exist=True)
    chain.create_deal(
        "k", ref=str(item.deal_ref), payee="p", token="t", amount=1, expires_at=0
    )  # sent before the crash
    assert chain_work.create_deal(chain_deps, item.id) == "deal created"
    assert len(chain.create_calls) == 1
    assert status_of(store, item) == "open"


def test_create_deal_whose_claim_loses_to_a_cancel_creates_nothing(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.PENDING)
    store.interleave = [{"status": S.CANCELLED}]
    assert chain_work.create_deal(chain_deps, item.id) == "skipped: cancelled"
    assert chain.create_calls == []


def test_create_deal_of_a_cancelling_payment_records_an_existing_deal_and_stays_cancelling(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.CANCELLING, deal_may_exist=True)
    assert chain_work.create_deal(chain_deps, item.id) == "skipped: cancelling"
    created = chain.create_deal("k", ref=str(item.deal_ref), payee="p", token="t", amount=1, expires_at=0)
    assert chain_work.create_deal(chain_deps, item.id) == "recorded deal of a cancelling payment"
    stored = store.items[item.id]
    assert (stored.status, stored.deal_id) == ("cancelling", created.deal_id)


def test_create_deal_of_a_payment_that_keeps_changing_is_retried_by_the_queue(
    chain_deps: ChainDeps, store: RacingStore
) -> None:
    item = payment(store, S.PENDING)
    store.interleave = [{"updated_at": iso(datetime.now(UTC))}] * 10
    with pytest.raises(ChainError) as info:
        chain_work.create_deal(chain_deps, item.id)
    assert not info.value.reverted  # the message comes back, with backoff
    assert store.stale_writes == lifecycle.MAX_RACE_ATTEMPTS


def test_mark_send_failed_moves_a_sending_payment_only(chain_deps: ChainDeps, store: RacingStore) -> None:
    sending, opened = payment(store, S.SENDING), payment(store, S.OPEN, deal_id=1)
    assert chain_work.mark_send_failed(chain_deps, sending.id, "rpc down") is True
    assert chain_work.mark_send_failed(chain_deps, opened.id, "rpc down") is False
    assert store.items[sending.id].status == "send-failed"
    assert store.items[sending.id].deal_may_exist is True
    assert status_of(store, opened) == "open"


def _with_deal(store: RacingStore, chain: FakeChain, status: S, **fields: Any) -> Payment:
    """A payment with its deal on the fake chain, on the payment's terms (the watcher checks them)."""
    item = payment(store, status, **fields)
    key = FakeWalletKeys().private_key(PLATFORM_WALLET)  # the network's platform wallet signs
    created = chain.create_deal(
        key, ref=str(item.deal_ref), payee=item.payment_address, token=str(item.token_address),
        amount=int(item.amount_units or 0), expires_at=int(datetime.fromisoformat(item.expires_at).timestamp()),
    )  # fmt: skip
    return store.put(item._replace(deal_id=created.deal_id))


@pytest.mark.parametrize(
    ("paid", "expire", "final"),
    [(False, False, "cancelled"), (True, False, "refunded"), (False, True, "expired"), (True, True, "refunded")],
)
def test_cancel_deal_ends_in_the_status_the_chain_says(  # noqa: PLR0917 - fixtures and parameters
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain, paid: bool, expire: bool, final: str
) -> None:
    item = _with_deal(store, chain, S.CANCELLING, expire_on_cancel=expire)
    if paid:
        chain.pay(int(item.deal_id or 0), block=90)
    assert chain_work.cancel_deal(chain_deps, item.id) == final
    assert chain_work.cancel_deal(chain_deps, item.id) == f"skipped: {final}"  # a redelivery
    assert chain.cancel_calls == [item.deal_id]
    assert status_of(store, item) == final


def test_cancel_deal_without_a_deal_on_chain_cancels_without_a_transaction(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.CANCELLING, deal_may_exist=True)
    assert chain_work.cancel_deal(chain_deps, item.id) == "cancelled"
    assert chain.cancel_calls == []


def test_cancel_deal_after_a_stale_write_decides_again_without_a_second_transaction(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = _with_deal(store, chain, S.CANCELLING)
    store.interleave = [{"cancel_sent_at": iso(datetime.now(UTC))}]  # the watcher's resend bookkeeping, versioned
    assert chain_work.cancel_deal(chain_deps, item.id) == "cancelled"
    assert store.stale_writes == 1
    assert chain.cancel_calls == [item.deal_id]  # the second decision found the deal cancelled on chain


# ---------------------------------------------------------------------------------------------- the watcher
def _network(catalog: FakeCatalog) -> Network:
    found = catalog.get(Network, NETWORK)
    assert found is not None
    return found


def test_a_deposit_makes_an_open_payment_paid_then_confirmed(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _with_deal(store, chain, S.OPEN)
    ev = chain.pay(int(item.deal_id or 0), block=99)  # 2 confirmations at head 100; the network needs 3
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    stored = store.items[item.id]
    assert (summary.deposits, summary.confirmed, stored.status) == (1, 0, "paid")
    assert (stored.transaction_hash, stored.deposit_block_number) == (ev.transaction_hash, 99)
    assert stored.confirmation_status is not None
    assert stored.confirmation_status.confirmations == 2
    chain.head_block = 101
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    assert (summary.confirmed, status_of(store, item)) == (1, "confirmed")


def test_a_deposit_seen_again_changes_nothing(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _with_deal(store, chain, S.OPEN)
    chain.pay(int(item.deal_id or 0), block=99)
    watcher.watch_network(watcher_deps, _network(catalog), NOW)
    versions = store.items[item.id].version
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)  # the same blocks read again
    assert (summary.deposits, store.items[item.id].version) == (0, versions)


def test_a_deposit_a_reorg_dropped_takes_the_payment_back_to_open(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _with_deal(store, chain, S.OPEN)
    ev = chain.pay(int(item.deal_id or 0), block=99)
    watcher.watch_network(watcher_deps, _network(catalog), NOW)
    chain.hashes[99] = "0x" + "f" * 64  # block 99 replaced by another
    chain.logged.clear()
    del chain.receipts[ev.transaction_hash]  # and the deposit is in no block now
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    stored = store.items[item.id]
    assert (summary.reorged, stored.status) == (1, "open")
    assert "transaction_hash" not in stored
    assert "confirmation_status" not in stored


def test_a_deposit_racing_a_cancel_is_left_to_the_cancel_worker(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, chain: FakeChain
) -> None:
    item = _with_deal(store, chain, S.OPEN)
    chain.pay(int(item.deal_id or 0), block=99)
    store.interleave = [{"status": S.CANCELLING}]  # cancelled between the watcher's read and its write
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    assert (store.stale_writes, summary.deposits, status_of(store, item)) == (1, 0, "cancelling")


def test_expiry_sends_a_deal_through_cancel_and_expires_a_pending_one_at_once(
    watcher_deps: WatcherDeps,
    catalog: FakeCatalog,
    store: RacingStore,
    chain: FakeChain,
    queue: FakeDealQueue,
) -> None:
    past = iso(NOW - timedelta(minutes=1))
    opened = _with_deal(store, chain, S.OPEN, expires_at=past)
    pending = payment(store, S.PENDING, expires_at=past)
    later = payment(store, S.PENDING, expires_at=iso(NOW + timedelta(hours=1)))
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    assert summary.expired == 2
    assert store.items[opened.id].status == "cancelling"
    assert store.items[opened.id].expire_on_cancel is True
    assert [m.body["payment_id"] for m in queue.sent if m.body["type"] == "cancel_deal"] == [opened.id]
    assert (status_of(store, pending), status_of(store, later)) == ("expired", "pending")


def test_an_expiry_racing_a_worker_claim_decides_again_on_what_it_finds(
    watcher_deps: WatcherDeps,
    catalog: FakeCatalog,
    store: RacingStore,
    queue: FakeDealQueue,
) -> None:
    item = payment(store, S.PENDING, expires_at=iso(NOW - timedelta(minutes=1)))
    # claimed between the index read and the write (a claim is a move: it writes updated_at)
    store.interleave = [{"status": S.SENDING, "deal_may_exist": True, "updated_at": iso(NOW)}]
    summary = watcher.watch_network(watcher_deps, _network(catalog), NOW)
    assert store.stale_writes == 1
    assert summary.expired == 0  # sending: the create-deal worker has it; the watcher expires it once it is open
    assert status_of(store, item) == "sending"
    assert queue.sent == []


# ---------------------------------------------------------------------------------------------- lanes: signers
def test_cancel_deal_is_signed_by_the_deals_on_chain_creator_not_the_catalogs_current_signer(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain, catalog: FakeCatalog
) -> None:
    creator = str(uuid.uuid4())
    catalog.add(Wallet(id=creator, node_id=NODE, address=wallet_address(creator)))
    item = payment(store, S.CANCELLING, signer_wallet_id=PLATFORM_WALLET)  # the catalog says: the platform
    created = chain.create_deal(
        FakeWalletKeys().private_key(creator), ref=str(item.deal_ref), payee="p", token="t", amount=1, expires_at=0
    )  # but the deal was created by another key (the catalog changed since)
    store.put(item._replace(deal_id=created.deal_id))
    assert chain_work.cancel_deal(chain_deps, item.id) == "cancelled"
    assert chain.signed_by[-1] == wallet_address(creator)


def test_a_cancel_whose_creator_is_no_wallet_here_ends_with_signer_mismatch(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    item = payment(store, S.CANCELLING, signer_wallet_id=PLATFORM_WALLET)
    created = chain.create_deal(
        "key-of-a-stranger", ref=str(item.deal_ref), payee="p", token="t", amount=1, expires_at=0
    )
    store.put(item._replace(deal_id=created.deal_id))
    # Terminal (decision 0040): the cancel is flagged, visible and alarmed, not retried forever.
    assert chain_work.cancel_deal(chain_deps, item.id) == "cancel-failed: signer_mismatch"
    assert chain.cancel_calls == []  # nothing sent that the contract would refuse
    flagged = store.items[item.id]
    assert flagged.status is S.CANCELLING
    assert flagged.cancel_failed_reason is not None
    assert flagged.cancel_failed_reason.code == chain_work.ChainFailure.SIGNER_MISMATCH


def test_a_cancel_behind_a_create_still_pending_on_chain_cancels_the_deal_it_becomes(
    chain_deps: ChainDeps, store: RacingStore, chain: FakeChain
) -> None:
    """The create worker sent createDeal and stopped waiting (a timeout); the cancel, next in the lane, finds no
    deal yet: it settles the signer's pending transactions first, so the deal is mined (or never will be)
    before it decides, and an open deal is never left untracked."""
    item = payment(store, S.CANCELLING, deal_may_exist=True, signer_wallet_id=PLATFORM_WALLET)
    chain.pending.append((str(item.deal_ref), FakeWalletKeys().private_key(PLATFORM_WALLET), 1))
    assert chain_work.cancel_deal(chain_deps, item.id) == "cancelled"
    assert chain.settled == [wallet_address(PLATFORM_WALLET)]
    deal_id = chain.deal_id_of(str(item.deal_ref))
    assert deal_id != 0
    assert chain.cancel_calls == [deal_id]
    assert chain.deals[deal_id].status == "cancelled"
    assert store.items[item.id].deal_id == deal_id


def test_work_message_dispatches_on_the_message_type(chain_deps: ChainDeps, store: RacingStore) -> None:
    item = payment(store, S.PENDING, signer_wallet_id=PLATFORM_WALLET)
    assert chain_work.work_message(chain_deps, chain_work.ChainMessage("create_deal", item.id)) == "deal created"
    store.put(store.items[item.id]._replace(status=S.CANCELLING))
    assert chain_work.work_message(chain_deps, chain_work.ChainMessage("cancel_deal", item.id)) == "cancelled"


@pytest.mark.parametrize(
    "body",
    ['{"type": "refund", "payment_id": "p1"}', '{"type": "create_deal"}', '{"type": "cancel_deal", "payment_id": 7}',
     '["create_deal"]', "not json", '{"type": "create_deal", "payment_id": ""}'],
)  # fmt: skip
def test_a_message_that_is_not_chain_work_is_not_parsed(body: str) -> None:
    assert chain_work.parse_message(body) is None


def test_a_chain_work_message_is_parsed_to_its_kind_and_payment() -> None:
    body = '{"type": "cancel_deal", "payment_id": "p1", "deal_id": "4"}'
    assert chain_work.parse_message(body) == chain_work.ChainMessage("cancel_deal", "p1")
