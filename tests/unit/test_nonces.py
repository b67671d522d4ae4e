"""The nonce manager's decisions (payments_chain.nonces), on a fake chain with a fake clock: which nonce a send
takes, when it sends again (same nonce, fees bumped), what it does with a dropped, an underpriced, a stuck or a
foreign transaction, and that every wait is bounded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from payments_chain import nonces
from payments_chain.nonces import FEE_BUMP_DENOMINATOR, FEE_BUMP_NUMERATOR, Fees, NonceManager, Refused, bumped
from payments_core.domain.chain_work import ChainError

ADDRESS = "0x" + "a" * 40
GWEI = 10**9


@dataclass
class FakeRpc:
    """One key's view of a chain: mined nonces, a pool (nonce -> hash), the base fee, and a clock that `sleep`
    advances; `on_tick` runs at every sleep (the test's chain: mine, drop, raise the base fee). The pool follows
    geth's rules: a replacement must pay 10 % more on both fees; a max fee below the base fee is refused."""

    base_fee: int = 10 * GWEI
    tip: int = 1 * GWEI
    now: float = 0.0
    mined: dict[int, str] = field(default_factory=dict)  # nonce -> the hash mined at it
    pool: dict[int, str] = field(default_factory=dict)
    signed: dict[str, tuple[int, Fees]] = field(default_factory=dict)  # hash -> (nonce, fees)
    sent: list[str] = field(default_factory=list)  # every hash the pool accepted, in order
    on_tick: Callable[[FakeRpc], None] | None = None

    # -- nonces.Rpc
    def count(self, address: str, block: Literal["latest", "pending"]) -> int:
        mined = len(self.mined)
        if block == "latest":
            return mined
        while mined in self.pool:  # the contiguous pending ones (as geth and anvil count them)
            mined += 1
        return mined

    def fees(self) -> Fees:
        return Fees(max_fee=2 * self.base_fee + self.tip, tip=self.tip)

    def send_raw(self, raw: bytes) -> None:
        tx_hash = raw.decode()
        nonce, fees = self.signed[tx_hash]
        if nonce < len(self.mined):
            raise Refused("nonce too low")
        if fees.max_fee < self.base_fee:
            raise Refused("max fee per gas less than block base fee")
        if nonce in self.pool:
            old = self.signed[self.pool[nonce]][1]
            if fees.max_fee * 10 < old.max_fee * 11 or fees.tip * 10 < old.tip * 11:
                raise Refused("replacement transaction underpriced")
        self.pool[nonce] = tx_hash
        self.sent.append(tx_hash)

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        if tx_hash in self.mined.values():
            return {"transactionHash": tx_hash, "status": 1}
        return None

    def known(self, tx_hash: str) -> bool:
        return tx_hash in self.pool.values() or tx_hash in self.mined.values()

    # -- the test's chain
    def mine(self) -> None:
        """Mine what the pool has, in nonce order, as long as each pays the base fee."""
        while (nonce := len(self.mined)) in self.pool:
            fees = self.signed[self.pool[nonce]][1]
            if fees.max_fee < self.base_fee:
                return
            self.mined[nonce] = self.pool.pop(nonce)

    def foreign(self, nonce: int, max_fee: int = 100 * GWEI) -> str:
        """A transaction of the same key sent by someone else (another process with the key)."""
        tx_hash = f"0xforeign{nonce}-{max_fee}"
        self.signed[tx_hash] = (nonce, Fees(max_fee, min(max_fee, self.tip)))
        return tx_hash

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.on_tick is not None:
            self.on_tick(self)

    def sign(self, nonce: int, fees: Fees) -> tuple[bytes, str]:
        tx_hash = f"0x{nonce}-{fees.max_fee}-{fees.tip}"
        self.signed[tx_hash] = (nonce, fees)
        return tx_hash.encode(), tx_hash


def manager(rpc: FakeRpc, **kwargs: Any) -> NonceManager:
    return NonceManager(rpc, clock=lambda: rpc.now, sleep=rpc.sleep, **kwargs)


def nonce_of(rpc: FakeRpc, tx_hash: str) -> int:
    return rpc.signed[tx_hash][0]


def fees_of(rpc: FakeRpc, tx_hash: str) -> Fees:
    return rpc.signed[tx_hash][1]


def at_least_bumped(new: Fees, old: Fees) -> bool:
    return (
        new.max_fee * FEE_BUMP_DENOMINATOR >= old.max_fee * FEE_BUMP_NUMERATOR
        and new.tip * FEE_BUMP_DENOMINATOR >= old.tip * FEE_BUMP_NUMERATOR
    )


def mine_after(seconds: float) -> Callable[[FakeRpc], None]:
    def tick(rpc: FakeRpc) -> None:
        if rpc.now >= seconds:
            rpc.mine()

    return tick


# ---------------------------------------------------------------------------------------------- fees
@pytest.mark.parametrize(
    ("previous", "market"),
    [(Fees(21 * GWEI, GWEI), Fees(21 * GWEI, GWEI)), (Fees(7, 1), Fees(0, 0)), (Fees(20 * GWEI, GWEI), Fees(90, 2))],
)
def test_a_bump_raises_both_fees_by_at_least_an_eighth_and_at_least_one_wei(previous: Fees, market: Fees) -> None:
    new = bumped(previous, market)
    assert at_least_bumped(new, previous)
    assert new.max_fee > previous.max_fee
    assert new.tip > previous.tip
    assert new.max_fee >= new.tip


def test_a_bump_follows_the_market_when_the_base_fee_rose_more() -> None:
    market = Fees(max_fee=500 * GWEI, tip=3 * GWEI)
    assert bumped(Fees(21 * GWEI, GWEI), market) == market


# ---------------------------------------------------------------------------------------------- send
def test_a_send_takes_the_chains_mined_count_and_waits_for_its_receipt() -> None:
    rpc = FakeRpc(mined={0: "0xold0", 1: "0xold1"}, on_tick=mine_after(1.0))
    log = nonces.Send()
    receipt = manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert receipt["transactionHash"] == rpc.mined[2]
    assert (log.nonce, len(log.hashes), log.resent) == (2, 1, [])
    assert fees_of(rpc, log.hashes[0]) == rpc.fees()


def test_a_dropped_transaction_is_sent_again_with_the_same_nonce_and_bumped_fees() -> None:
    def drop_then_mine(chain: FakeRpc) -> None:
        if len(chain.sent) == 1:
            chain.pool.clear()  # dropped from the pool (anvil_dropTransaction, a node restart)
        elif chain.now >= 5.0:
            chain.mine()

    rpc = FakeRpc(on_tick=drop_then_mine)
    log = nonces.Send()
    receipt = manager(rpc).send(ADDRESS, rpc.sign, log=log)
    first, second = log.hashes
    assert log.resent == ["dropped"]
    assert nonce_of(rpc, first) == nonce_of(rpc, second) == 0
    assert at_least_bumped(fees_of(rpc, second), fees_of(rpc, first))
    assert receipt["transactionHash"] == second
    assert list(rpc.mined) == [0]  # exactly one transaction mined


def test_a_transaction_priced_out_by_a_rising_base_fee_is_replaced_at_the_market_price() -> None:
    def raise_base_fee_then_mine(chain: FakeRpc) -> None:
        chain.base_fee = 100 * GWEI  # the next blocks' base fee: the first transaction no longer pays it
        chain.mine()

    rpc = FakeRpc(on_tick=raise_base_fee_then_mine)
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    first, second = log.hashes
    assert log.resent == ["not mined"]
    assert nonce_of(rpc, second) == nonce_of(rpc, first)
    assert fees_of(rpc, second).max_fee >= 2 * 100 * GWEI
    assert at_least_bumped(fees_of(rpc, second), fees_of(rpc, first))
    assert rpc.mined == {0: second}


def test_a_replacement_waits_the_bound_before_it_is_sent() -> None:
    rpc = FakeRpc(on_tick=lambda chain: setattr(chain, "base_fee", 100 * GWEI))
    with pytest.raises(ChainError):
        manager(rpc, timeout=nonces.REPLACE_AFTER_SECONDS * 1.5).send(ADDRESS, rpc.sign)
    assert len(rpc.sent) == 2  # the first, then one replacement after REPLACE_AFTER_SECONDS: not one per poll


def test_a_stuck_transaction_of_the_key_is_replaced_not_queued_behind() -> None:
    """A worker stopped waiting for nonce 0 (a timeout, a crash): its transaction sits in the pool at a fee
    the chain does not take. The next send takes nonce 0 too (the chain's mined count), outbids it and is mined."""
    rpc = FakeRpc(on_tick=mine_after(0.0))
    stuck = rpc.foreign(0, max_fee=25 * GWEI)
    rpc.pool[0] = stuck
    rpc.base_fee = 30 * GWEI  # the stuck one no longer pays it
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert log.nonce == 0
    assert rpc.mined == {0: log.hashes[-1]}
    assert stuck not in rpc.mined.values()


def test_a_stuck_transaction_paying_more_than_the_market_is_outbid_by_bumps() -> None:
    rpc = FakeRpc(on_tick=mine_after(0.0))
    rpc.pool[0] = rpc.foreign(0, max_fee=int(2.5 * (2 * rpc.base_fee + rpc.tip)))
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert log.resent.count("underpriced") >= 1
    assert rpc.mined == {0: log.hashes[-1]}


def test_a_hole_below_a_queued_transaction_is_filled_by_the_next_send() -> None:
    """Nonce 1 was dropped while nonce 2 waits in the pool (queued behind the hole): the chain's mined count
    (1) is the next nonce, so the send fills the hole and the queued one is mined after it."""
    rpc = FakeRpc(mined={0: "0xold0"}, on_tick=mine_after(0.0))
    queued = rpc.foreign(2, max_fee=50 * GWEI)
    rpc.pool[2] = queued
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert log.nonce == 1
    assert rpc.mined == {0: "0xold0", 1: log.hashes[0], 2: queued}


def test_a_nonce_mined_before_the_first_send_is_decided_again_from_the_chain() -> None:
    rpc = FakeRpc(on_tick=mine_after(0.0))
    real_count = rpc.count
    calls = {"n": 0}

    def stale_count(address: str, block: Literal["latest", "pending"]) -> int:
        calls["n"] += 1
        if calls["n"] == 1:  # the node answered before a block with nonce 0 of another process landed
            rpc.mined[0] = rpc.foreign(0)
            return 0
        return real_count(address, block)

    rpc.count = stale_count  # type: ignore[method-assign]
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert log.nonce == 1
    assert log.resent == ["nonce mined"]
    assert rpc.mined[1] == log.hashes[0]


def test_a_nonce_taken_by_a_transaction_that_is_none_of_ours_ends_the_send() -> None:
    def another_process_wins(chain: FakeRpc) -> None:
        chain.pool[0] = chain.foreign(0)
        chain.mine()

    rpc = FakeRpc(on_tick=another_process_wins)
    with pytest.raises(ChainError, match="mined by another transaction"):
        manager(rpc).send(ADDRESS, rpc.sign)
    assert rpc.now <= nonces.RECEIPT_LAG_SECONDS + 2 * nonces.POLL_SECONDS  # decided within the receipt lag


def test_a_receipt_that_lags_the_transaction_count_is_waited_for_not_taken_for_another_transaction() -> None:
    """The node answers the new count before the receipt (anvil: foundry-rs/foundry#10944): ours, once it shows."""
    rpc = FakeRpc(on_tick=mine_after(1.0))
    real_receipt = rpc.receipt
    shows_at: dict[str, float] = {}

    def lagging_receipt(tx_hash: str) -> dict[str, Any] | None:
        if real_receipt(tx_hash) is None:
            return None
        shows_at.setdefault(tx_hash, rpc.now + nonces.RECEIPT_LAG_SECONDS - 1.0)
        return real_receipt(tx_hash) if rpc.now >= shows_at[tx_hash] else None

    rpc.receipt = lagging_receipt  # type: ignore[method-assign]
    log = nonces.Send()
    receipt = manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert receipt["transactionHash"] == log.hashes[0] == rpc.mined[0]
    assert log.resent == []  # waited for, never sent again


def test_a_send_never_mined_gives_up_within_its_bounds() -> None:
    rpc = FakeRpc(on_tick=lambda chain: None)  # the pool keeps it; nothing is ever mined
    with pytest.raises(ChainError):
        manager(rpc).send(ADDRESS, rpc.sign)
    assert rpc.now <= nonces.SEND_TIMEOUT_SECONDS + nonces.POLL_SECONDS
    assert len(rpc.sent) <= nonces.MAX_REPLACEMENTS + 1
    assert {nonce_of(rpc, h) for h in rpc.sent} == {0}  # one nonce, however often it was sent


def test_a_node_refusal_other_than_price_or_nonce_is_a_chain_error_at_once() -> None:
    rpc = FakeRpc()

    def refuse(raw: bytes) -> None:
        raise Refused("insufficient funds for gas * price + value")

    rpc.send_raw = refuse  # type: ignore[method-assign]
    with pytest.raises(ChainError, match="insufficient funds"):
        manager(rpc).send(ADDRESS, rpc.sign)


def test_the_same_transaction_already_known_to_the_node_is_waited_for() -> None:
    rpc = FakeRpc(on_tick=mine_after(0.0))
    accept = rpc.send_raw

    def known_already(raw: bytes) -> None:
        accept(raw)
        raise Refused("already known")  # a load balancer that sent it twice

    rpc.send_raw = known_already  # type: ignore[method-assign]
    log = nonces.Send()
    manager(rpc).send(ADDRESS, rpc.sign, log=log)
    assert len(log.hashes) == 1
    assert rpc.mined == {0: log.hashes[0]}


# ---------------------------------------------------------------------------------------------- settle
def test_settle_with_nothing_pending_sends_nothing() -> None:
    rpc = FakeRpc(mined={0: "0xold0"})
    assert manager(rpc).settle(ADDRESS, rpc.sign) == 0
    assert rpc.sent == []


def test_settle_waits_for_a_pending_transaction_that_is_mined() -> None:
    rpc = FakeRpc(on_tick=mine_after(1.0))
    pending = rpc.foreign(0)
    rpc.pool[0] = pending
    assert manager(rpc).settle(ADDRESS, rpc.sign) == 0
    assert rpc.mined == {0: pending}
    assert rpc.sent == []


def test_settle_replaces_a_stuck_transaction_with_a_no_op_so_it_can_never_be_mined() -> None:
    """A createDeal whose worker stopped waiting, priced out: settle mines a no-op at its nonce."""

    def mine_when_no_op_arrives(chain: FakeRpc) -> None:
        if chain.sent:
            chain.mine()

    rpc = FakeRpc(on_tick=mine_when_no_op_arrives)
    stuck = rpc.foreign(0, max_fee=25 * GWEI)
    rpc.pool[0] = stuck
    rpc.base_fee = 30 * GWEI
    assert manager(rpc).settle(ADDRESS, rpc.sign) == 1
    assert list(rpc.mined) == [0]
    assert rpc.mined[0] != stuck
    assert rpc.pool == {}
    assert rpc.now >= nonces.REPLACE_AFTER_SECONDS  # it was given its chance first


def test_settle_gives_up_within_its_bound() -> None:
    rpc = FakeRpc(on_tick=lambda chain: None)
    rpc.pool[0] = rpc.foreign(0, max_fee=1000 * GWEI)  # outbids every no-op we may send

    def refuse(raw: bytes) -> None:
        raise Refused("replacement transaction underpriced")

    rpc.send_raw = refuse  # type: ignore[method-assign]
    with pytest.raises(ChainError):
        manager(rpc, timeout=30.0).settle(ADDRESS, rpc.sign)
    assert rpc.now <= 30.0 + nonces.SEND_TIMEOUT_SECONDS
