"""The deal worker's createDeals pass (decision 0045), on fakes: the create messages at the head of each lane
go out in one transaction; everything it does not finish is worked one message at a time, exactly as before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_chain import workers
from payments_core.domain import chain_work, lifecycle
from payments_core.domain.chain_work import ChainDeps, ChainError, ChainFailure, CreatedDeal
from payments_core.domain.entities import Payment, Wallet
from payments_core.models.payments import PaymentStatus as S
from tests.unit.fakes import FakeDealQueue, FakeWalletKeys, wallet_address
from tests.unit.test_status_moves import NODE, PLATFORM_WALLET, RacingStore, payment, status_of
from tests.unit.test_terminal_failures import REFUSED_PAYEE, Context, RefusingChain, failures, sqs_event
from tests.unit.test_terminal_failures import catalog as terminal_catalog


class BatchingChain(RefusingChain):
    """RefusingChain with createDeals: each transaction's refs recorded; a refused payee is skipped in it (the
    contract's DealSkipped), and `batch_error` fails the whole transaction once."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions: list[list[str]] = []
        self.single_sends: list[str] = []
        self.batch_error: ChainError | None = None

    def create_deals(self, key: str, requests: list[tuple[str, str, str, int, int]]) -> list[CreatedDeal | None]:
        if self.batch_error is not None:
            error, self.batch_error = self.batch_error, None
            raise error
        self.transactions.append([r[0] for r in requests])
        sendable = [r for r in requests if r[1] != REFUSED_PAYEE]
        created = iter(super().create_deals(key, sendable))
        return [None if r[1] == REFUSED_PAYEE else next(created) for r in requests]

    def create_deal(
        self, private_key: str, *, ref: str, payee: str, token: str, amount: int, expires_at: int
    ) -> CreatedDeal:
        self.single_sends.append(ref)
        return super().create_deal(private_key, ref=ref, payee=payee, token=token, amount=amount, expires_at=expires_at)


@pytest.fixture
def chain() -> BatchingChain:
    return BatchingChain()


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def lane_deps(store: RacingStore, chain: BatchingChain) -> ChainDeps:
    catalog = terminal_catalog.__wrapped__()  # type: ignore[attr-defined]  # the terminal tests' network and wallet
    catalog.add(Wallet(id=f"{PLATFORM_WALLET}-b", node_id=NODE, address=wallet_address(f"{PLATFORM_WALLET}-b")))
    return ChainDeps(payments=store, catalog=catalog, wallet_keys=FakeWalletKeys(), chain_for=lambda _: chain)


def create(item: Payment) -> str:
    return json.dumps({"type": "create_deal", "payment_id": item.id})


def cancel(item: Payment) -> str:
    return json.dumps({"type": "cancel_deal", "payment_id": item.id})


def run(deps: ChainDeps, event: dict[str, Any], queue: FakeDealQueue | None = None) -> Any:
    return workers.run_batch(
        event, Context(120_000), queue=queue or FakeDealQueue(), max_receives=5, dead_letters=FakeDealQueue(),
        work=lambda message: chain_work.work_message(deps, message),
        together=lambda ids: chain_work.create_deals_together(deps, ids),
    )  # fmt: skip


def test_the_creates_of_a_lane_go_out_in_one_transaction(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    items = [payment(store, S.PENDING) for _ in range(6)]
    response = run(lane_deps, sqs_event([create(p) for p in items]))
    assert failures(response) == []
    assert chain.transactions == [[p.deal_ref for p in items]]  # one createDeals, in the lane's order
    assert chain.single_sends == []
    assert [status_of(store, p) for p in items] == ["open"] * 6
    assert len({store.items[p.id].deal_id for p in items}) == 6
    # Signed by the lane's key: the platform wallet's.
    assert all(
        chain.deals[int(store.items[p.id].deal_id or 0)].creator
        == chain.deals[int(store.items[items[0].id].deal_id or 0)].creator
        for p in items
    )
    assert FakeWalletKeys().private_key(PLATFORM_WALLET)  # the key the fakes sign with


def test_a_lanes_payments_are_claimed_in_one_write_and_their_deals_recorded_in_another(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    items = [payment(store, S.PENDING) for _ in range(4)]
    writes: list[int] = []
    update_all = store.update_all

    def counted(updates: Any) -> Any:
        writes.append(len(updates))
        return update_all(updates)

    store.update_all = counted  # type: ignore[method-assign]
    before = len(store.updates)
    assert failures(run(lane_deps, sqs_event([create(p) for p in items]))) == []
    assert writes == [4, 4]  # the claims, then the deals
    assert len(store.updates) - before == 8  # nothing written twice
    assert [status_of(store, p) for p in items] == ["open"] * 4


def test_a_cancel_between_the_transaction_and_the_record_leaves_each_deal_recorded_alone(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    """One payment cancelled while its createDeals was being mined: the one write recording the lane's deals is
    refused (nothing written), each is recorded alone: the others open, the cancelled one keeps its deal id (its
    cancel message, behind in the lane, cancels the deal)."""
    items = [payment(store, S.PENDING) for _ in range(3)]
    send = chain.create_deals

    def mined_then_cancelled(key: str, requests: list[tuple[str, str, str, int, int]]) -> list[CreatedDeal | None]:
        made = send(key, requests)
        current = store.items[items[1].id]
        store.put(current._replace(status=S.CANCELLING, version=current.version + 1))
        return made

    chain.create_deals = mined_then_cancelled  # type: ignore[method-assign]
    assert failures(run(lane_deps, sqs_event([create(p) for p in items]))) == []
    assert len(chain.transactions) == 1
    assert chain.single_sends == []
    assert [status_of(store, p) for p in items] == ["open", "cancelling", "open"]
    assert all(store.items[p.id].deal_id is not None for p in items)


def test_a_refused_entry_is_worked_alone_and_ends_send_failed_without_holding_the_others(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    good = [payment(store, S.PENDING) for _ in range(2)]
    poison = payment(store, S.PENDING, payment_address=REFUSED_PAYEE)
    behind = [payment(store, S.PENDING) for _ in range(3)]
    response = run(lane_deps, sqs_event([create(p) for p in [*good, poison, *behind]]))
    assert failures(response) == []
    assert len(chain.transactions) == 1
    assert [status_of(store, p) for p in [*good, *behind]] == ["open"] * 5
    assert status_of(store, poison) == "send-failed"
    failed = store.items[poison.id].send_failed_reason
    assert failed is not None
    assert failed.code == ChainFailure.PAYEE_REFUSED
    assert chain.single_sends == [poison.deal_ref]  # one attempt of its own, refused (the contract's revert)


def test_only_the_creates_before_a_lanes_first_cancel_go_together(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    first, second = payment(store, S.PENDING), payment(store, S.PENDING)
    cancelled = payment(store, S.CANCELLING)
    after = [payment(store, S.PENDING) for _ in range(2)]
    run(lane_deps, sqs_event([create(first), create(second), cancel(cancelled), *[create(p) for p in after]]))
    assert chain.transactions == [[first.deal_ref, second.deal_ref]]
    assert chain.single_sends == [p.deal_ref for p in after]  # behind the cancel: one by one, in order
    assert [status_of(store, p) for p in [first, second, *after]] == ["open"] * 4
    assert status_of(store, cancelled) == "cancelled"


def two_lanes(store: RacingStore) -> tuple[list[Payment], list[Payment], dict[str, Any]]:
    """Two pending payments in each of two lanes (the platform wallet's and `-b`'s), in one batch."""
    lane_a = [payment(store, S.PENDING) for _ in range(2)]
    lane_b = [payment(store, S.PENDING, signer_wallet_id=f"{PLATFORM_WALLET}-b") for _ in range(2)]
    event = sqs_event([create(p) for p in lane_a], group=f"signer:{PLATFORM_WALLET}")
    other = sqs_event([create(p) for p in lane_b], group=f"signer:{PLATFORM_WALLET}-b")
    for n, record in enumerate(other["Records"]):
        record["messageId"], record["receiptHandle"] = f"b-{n}", f"rb-{n}"
    event["Records"] += other["Records"]
    return lane_a, lane_b, event


def test_the_lanes_of_one_batch_each_get_their_own_transaction(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    lane_a, lane_b, event = two_lanes(store)
    assert failures(run(lane_deps, event)) == []
    assert sorted(chain.transactions) == sorted([[p.deal_ref for p in lane_a], [p.deal_ref for p in lane_b]])
    creators = {chain.deals[int(store.items[p.id].deal_id or 0)].creator for p in [*lane_a, *lane_b]}
    assert len(creators) == 2  # each lane signed by its own key


def test_the_lanes_of_one_batch_are_in_flight_at_once(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    """Two lanes (two keys) in one batch: both createDeals are sent before either returns (one block's wait for
    the batch, not one per lane). Each waits at a barrier for the other: sent one after the other, it breaks."""
    import threading

    barrier = threading.Barrier(2, timeout=5)
    lock = threading.Lock()
    send = chain.create_deals

    def both_in_flight(key: str, requests: list[tuple[str, str, str, int, int]]) -> list[CreatedDeal | None]:
        barrier.wait()
        with lock:
            return send(key, requests)

    chain.create_deals = both_in_flight  # type: ignore[method-assign]
    lane_a, lane_b, event = two_lanes(store)
    assert failures(run(lane_deps, event)) == []
    assert not barrier.broken
    assert sorted(chain.transactions) == sorted([[p.deal_ref for p in lane_a], [p.deal_ref for p in lane_b]])
    assert chain.single_sends == []
    assert [status_of(store, p) for p in [*lane_a, *lane_b]] == ["open"] * 4


def test_a_redelivered_batch_records_the_deals_it_made_and_creates_none_twice(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    """The worker died after its createDeals was mined, before it recorded the deals: the messages come back,
    the payments are `sending`, the deals are found by their refs and recorded; nothing is sent again."""
    items = [payment(store, S.PENDING) for _ in range(3)]
    for item in items:
        claimed = lifecycle.claim_for_sending(store, store.items[item.id], "died")
        assert claimed is not None
    key = FakeWalletKeys().private_key(PLATFORM_WALLET)
    made = chain.create_deals(key, [(str(p.deal_ref), p.payment_address, "t", 1, 0) for p in items])
    chain.transactions.clear()
    assert failures(run(lane_deps, sqs_event([create(p) for p in items], receives=2))) == []
    assert chain.transactions == []
    assert chain.single_sends == []
    assert [store.items[p.id].deal_id for p in items] == [d.deal_id for d in made if d is not None]
    assert [status_of(store, p) for p in items] == ["open"] * 3


def test_a_transaction_that_fails_leaves_every_message_to_the_one_by_one_path(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    items = [payment(store, S.PENDING) for _ in range(3)]
    chain.batch_error = ChainError("ConnectionError: refused", reason=ChainFailure.RPC_UNAVAILABLE)
    response = run(lane_deps, sqs_event([create(p) for p in items]))
    assert failures(response) == []
    assert chain.transactions == []
    assert chain.single_sends == [p.deal_ref for p in items]  # claimed by the pass, created by the messages
    assert [status_of(store, p) for p in items] == ["open"] * 3


def test_a_payment_cancelled_before_the_transaction_is_not_sent(
    lane_deps: ChainDeps, store: RacingStore, chain: BatchingChain
) -> None:
    items = [payment(store, S.PENDING) for _ in range(3)]

    def cancel_the_second() -> None:  # after the claims, before the transaction
        current = store.items[items[1].id]
        store.put(current._replace(status=S.CANCELLING, version=current.version + 1))

    original = chain.find_created
    calls = {"n": 0}

    def find_then_cancel(ref: str) -> CreatedDeal | None:
        calls["n"] += 1
        if calls["n"] == 1:
            cancel_the_second()
        return original(ref)

    chain.find_created = find_then_cancel  # type: ignore[method-assign]
    for item in items:  # a retried payment: its deal may exist, so the pass asks the chain first
        store.put(store.items[item.id]._replace(deal_may_exist=True))
    run(lane_deps, sqs_event([create(p) for p in items]))
    assert chain.transactions == [[items[0].deal_ref, items[2].deal_ref]]
    assert status_of(store, items[1]) == "cancelling"  # the per-message path found it cancelling: no deal made
    assert items[1].deal_ref not in chain.single_sends
