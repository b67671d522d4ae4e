"""The chain watcher: on a schedule, per network, what the chain says about the payments.

One run of `watch_network`, within the network's time budget (`watch_all` shares the invocation's time out
between the networks: one network's slow RPC never starves another), in this order:

1. Deposits (within DEPOSIT_SHARE of the budget). The network's block cursor (PaymentKeysTable
   `cursor#<network_id>`: the last block whose events were processed, and its hash) says where to read from;
   every run reads the last `required_confirmations` blocks again (overlap: a shallow reorg may have moved a
   deposit there), at most MAX_BLOCKS_PER_RUN blocks, in getLogs chunks of LOG_CHUNK_BLOCKS. The first run
   starts INITIAL_LOOKBACK_BLOCKS before the head; a cursor whose block has another hash now (a reorg under
   it) is rewound REORG_REWIND_BLOCKS; a head behind the cursor is a lagging node (nothing read, no rewind).
   Each `Deposited(dealId, payer, amount)` finds its payment through the deal's ref (the payment id), is
   checked against it (the deal's terms, the amount deposited) and moves it `open -> paid` (`deposit_seen`)
   with `transaction_hash` (the deposit), `payer`, `deposit_block_number`, `deposit_block_hash`,
   `deposit_log_index`, `paid_at` and a first `confirmation_status`. A `sending` payment (the create-deal
   worker has not recorded its deal yet) gets its deal recorded first. A deposit into the deal of a payment
   that ended unpaid (cancelled, expired) queues the cancelDeal that refunds it. Cancelling and confirmed
   payments are left alone: a deal paid while its payment is cancelling is refunded by the cancel worker.
   The cursor moves (conditionally, see store/cursors.py) to the end of the ranges read in full, never past
   a deposit that failed to process (the block before the first one).
2. Expiry, by the chain's clock: the timestamp of the last block whose deposits have all been processed
   (the contract refuses a deposit at or after expiresAt by the same clock). Right after step 1, so that it
   is never skipped because the steps below ran long. `open` and `send-failed` payments, and `pending`
   ones a worker once claimed, go to `cancelling` with `expire_on_cancel` (`cancel_requested`) and a
   cancelDeal message; the cancel worker ends them in `expired` (or `refunded`, for a deposit that still
   landed first). A `pending` payment never claimed has no deal: `expired` at once.
3. Trusted deals (`verify_deals`): an `open` payment's deal, once its createDeal block has the required
   confirmations, is checked against the contract's deal for that id (ref, creator, token, amount, payee,
   expiry) and marked `deal_verified`; a deal of another ref (a reorg reordered two createDeals) is read
   again from `dealIdOf(ref)`. The widget answers verified deals only.
4. Confirmations. Every `paid` payment of the network (from the sparse `by_watch` index, never a scan):
   if the block at `deposit_block_number` still has `deposit_block_hash`, confirmations = head - block + 1,
   and at the network's `required_confirmations` it moves to `confirmed` (`confirmed`). Otherwise the
   deposit's receipt decides: gone, it moves back to `open` (`reorged`; the deposit fields are cleared,
   so a deposit that was reorged out never stays paid); in another block (re-mined), the deposit fields
   follow it. A head behind the deposit's block is a lagging node: decided next run. Progress alone
   (confirmations going up) is written without a new version (no log entry).
5. Stuck work (decision 0041): a `sending` payment claimed more than SENDING_STALE_AFTER ago (its worker
   stopped: killed, timed out, its message dead-lettered) is resolved from the chain: the ref's deal found ->
   recorded (`open`); none -> its create-deal message sent again (at most once per SENDING_STALE_AFTER), and
   past SENDING_GIVE_UP_AFTER `send-failed` (`send_stuck`, metric `StuckSendsFailed`, alarmed). A `cancelling`
   payment whose cancel was requested more than CANCEL_GIVE_UP_AFTER ago is flagged `cancel_failed_reason`
   (`cancel_stuck`, metric `CancelsFailed`, alarmed): visible to the integrator, no longer sent again.
   A `cancelling` payment whose cancel message is older than CANCEL_RESEND_AFTER is sent again (a crash
   between the move and the send must not leave it waiting forever; the cancel worker is idempotent).
   Likewise a `pending` payment whose create-deal message is older than CREATE_RESEND_AFTER (the API
   sends it right after the payment's transaction: a crash between the two, or a lost send, must not
   leave it pending until it expires; the create-deal worker claims before it signs, so a duplicate
   message is a no-op).

Every step is idempotent and every write conditional (status and version), so an overlapping run, a
re-read range or a run after a crash changes nothing twice; a step cut short by the budget is the next
run's. Pure domain: the chain is reached through `WatchedChain` (implemented by
payments_chain.client.DiamondClient).
"""

from __future__ import annotations

import string
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from payments_core import metrics
from payments_core.domain import lifecycle
from payments_core.domain.chain_work import (
    ChainError,
    ChainEvent,
    ChainFailure,
    CreatedDeal,
    DealInfo,
    DealStatus,
    cancel_failed,
    send_failed,
)
from payments_core.domain.entities import Confirmations, FailureReason, Network, Payment, PaymentChanges, Wallet
from payments_core.domain.lifecycle import Actor
from payments_core.domain.payments import create_deal_message, iso, signing_group
from payments_core.domain.stores import CatalogStore, CursorStore, DealQueue, PaymentStore, StaleWrite
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentMethod
from payments_core.models.payments import PaymentStatus as S
from payments_core.observability import logger, set_correlation_id
from payments_core.store.cursors import BlockCursor

MAX_BLOCKS_PER_RUN = 2_000
# Every run reads the last `required_confirmations` blocks again; a window at least twice that long still
# moves the cursor by half of it per run. Checked when a network is created (domain/catalog.py) and on each
# run (a network stored before the check is refused, visibly: WatchFailures).
MAX_REQUIRED_CONFIRMATIONS = MAX_BLOCKS_PER_RUN // 2
LOG_CHUNK_BLOCKS = 500  # many RPC providers refuse wider eth_getLogs ranges
INITIAL_LOOKBACK_BLOCKS = 1_000
REORG_REWIND_BLOCKS = 64
AVERAGE_WINDOW_BLOCKS = 100
DEFAULT_BLOCK_SECONDS = 12
WATCH_LIMIT = 500  # payments of one status handled per run and network; the rest on the next run
CANCEL_RESEND_AFTER = timedelta(minutes=10)
CREATE_RESEND_AFTER = timedelta(minutes=10)
# A claim older than this has no worker on it any more (the worker's timeout is 120 s; a retried message
# comes back within BACKOFF_MAX_SECONDS): resolved from the chain, its message sent again at most this often.
SENDING_STALE_AFTER = timedelta(minutes=6)
SENDING_GIVE_UP_AFTER = timedelta(minutes=30)  # then send-failed (`send_stuck`) and alarmed
CANCEL_GIVE_UP_AFTER = timedelta(hours=1)  # then `cancel_failed_reason` (`cancel_stuck`) and alarmed
# The time budget of a run of every network (watch_all), when the invocation does not say its own: shared
# out between the networks still to run, so one network's slow RPC never starves the others.
DEFAULT_RUN_SECONDS = 45.0
RUN_SAFETY_SECONDS = 12.0  # kept back from the invocation's remaining time: one RPC call's timeout, and the report
DEPOSIT_SHARE = 0.5  # the part of a network's budget the deposit scan may use; expiry, deals and confirmations next

# What a reorg that dropped the deposit clears (what a deposit wrote onto its payment: `_deposit_fields`).
DEPOSIT_CLEARED: PaymentChanges = {
    "transaction_hash": None,
    "payer": None,
    "deposit_amount": None,
    "deposit_block_number": None,
    "deposit_block_hash": None,
    "deposit_log_index": None,
    "paid_at": None,
    "confirmation_status": None,
}


class WatchedChain(Protocol):
    def head(self) -> int: ...
    def block_hash(self, number: int) -> str | None: ...
    def block_timestamp(self, number: int) -> int: ...
    def events(self, from_block: int, to_block: int) -> list[ChainEvent]: ...
    def receipt_block(self, transaction_hash: str) -> tuple[int, str] | None: ...
    def get_deal(self, deal_id: int) -> DealInfo: ...
    def find_created(self, ref: str) -> CreatedDeal | None: ...
    def balance(self, address: str) -> int: ...


@dataclass
class WatcherDeps:
    payments: PaymentStore
    catalog: CatalogStore
    cursors: CursorStore
    deal_queue: DealQueue  # the signers' lanes: the create- and cancel-deal messages it sends again
    chain_for: Callable[[Network], WatchedChain]  # a network -> its diamond
    worker: str = "chain-watcher"
    clock: Callable[[], float] = time.monotonic  # the budgets' clock (seconds)


@dataclass
class WatchSummary:
    network_id: str
    head: int = 0
    from_block: int = 0
    to_block: int = 0
    cursor_moved: bool = False
    rewound: bool = False
    deposits: int = 0  # open -> paid
    redeposits: int = 0  # a paid deposit found in another block after a reorg
    confirmed: int = 0
    progressed: int = 0  # confirmation_status written without a status change
    reorged: int = 0  # paid -> open
    expired: int = 0  # to cancelling (cancelDeal queued) or straight to expired
    cancels_resent: int = 0
    creates_resent: int = 0
    stuck_sends_recorded: int = 0  # sending, stopped: the deal was on chain, recorded (open)
    stuck_sends_resent: int = 0  # sending, stopped, no deal: the create-deal message sent again
    stuck_sends_failed: int = 0  # sending past SENDING_GIVE_UP_AFTER without a deal: send-failed
    cancels_failed: int = 0  # cancelling past CANCEL_GIVE_UP_AFTER: flagged
    ignored_events: int = 0
    skipped: int = 0  # left for the next run (the node did not answer for a block)
    lag_blocks: int = 0  # head - the cursor: what the next runs still have to read
    deposit_failures: int = 0  # deposits that failed to process: the cursor stays before the first one
    mismatched: int = 0  # deposits and deals that do not match their payment (not trusted; DealMismatches)
    deals_verified: int = 0  # deals checked against the contract at the required confirmations
    deals_moved: int = 0  # deals read again from dealIdOf(ref) after a reorg gave the id to another deal
    late_refunds: int = 0  # deposits into deals of cancelled or expired payments: cancelDeal queued (refund)
    node_behind: bool = False  # the node's head is behind the cursor (a lagging node, not a reorg)
    out_of_time: bool = False  # the run stopped at its time budget; the rest is the next run's

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def payment_id_of_ref(ref: str) -> str | None:
    """The payment id behind a deal ref (`payments.deal_ref` is the inverse), None for a foreign ref."""
    raw = ref.removeprefix("0x").lower()
    if len(raw) != 64 or any(c not in string.hexdigits for c in raw) or raw[:32].strip("0"):
        return None
    return str(uuid.UUID(raw[32:]))


def confirmation_status(required: int, confirmations: int, block_seconds: float) -> Confirmations:
    """NoRamp's confirmation_status: confirmations capped at `required`, progress in percent (0-100) and
    the estimated seconds still to wait (missing blocks x average block time)."""
    required = max(1, required)
    count = max(0, min(required, confirmations))
    return Confirmations(
        required_confirmations=required,
        confirmations=count,
        average_seconds=round((required - count) * block_seconds),
        progress=count * 100 // required,
        confirmed=count >= required,
    )


@dataclass
class _Run:
    deps: WatcherDeps
    chain: WatchedChain
    network: Network
    head: int
    now: datetime
    summary: WatchSummary
    deadline: float = float("inf")  # deps.clock() value the whole run must end by
    deposits_deadline: float = float("inf")  # ... and the deposit scan by
    _hashes: dict[int, str | None] = field(default_factory=dict)
    _wallets: dict[str | None, str | None] = field(default_factory=dict)  # wallet id -> its signer's address
    _times: dict[int, int] = field(default_factory=dict)
    _block_seconds: float | None = None

    @property
    def network_id(self) -> str:
        return self.network.id

    @property
    def required(self) -> int:
        return max(1, self.network.required_confirmations)

    def skip(self) -> None:
        """A payment left for the next run (it kept changing, or the node did not answer for a block)."""
        self.summary.skipped += 1

    def out_of_time(self, deadline: float | None = None) -> bool:
        """The budget is spent (the run's, or the one given): what is left is the next run's."""
        if self.deps.clock() >= (self.deadline if deadline is None else deadline):
            self.summary.out_of_time = True
            return True
        return False

    @property
    def chain_actor(self) -> Actor:
        return Actor("chain", self.deps.worker)

    @property
    def system_actor(self) -> Actor:
        return Actor("system", self.deps.worker)

    def block_hash(self, number: int) -> str | None:
        if number not in self._hashes:
            self._hashes[number] = self.chain.block_hash(number) if 0 <= number <= self.head else None
        return self._hashes[number]

    def timestamp(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = self.chain.block_timestamp(number)
        return self._times[number]

    def block_seconds(self) -> float:
        """The network's average block time, measured over its last AVERAGE_WINDOW_BLOCKS blocks (the
        network's `block_time_seconds`, else DEFAULT_BLOCK_SECONDS, when there is nothing to measure)."""
        if self._block_seconds is None:
            window = min(AVERAGE_WINDOW_BLOCKS, self.head)
            measured = (self.timestamp(self.head) - self.timestamp(self.head - window)) / window if window else 0.0
            fallback = float(self.network.block_time_seconds or DEFAULT_BLOCK_SECONDS)
            self._block_seconds = measured if measured > 0 else fallback
        return self._block_seconds


# ---------------------------------------------------------------------------------------------- one network
class ScanWindowTooSmall(Exception):
    """The network's required_confirmations do not fit the watcher's scan window (MAX_REQUIRED_CONFIRMATIONS)."""


def check_required_confirmations(required: int) -> str | None:
    """Why `required` confirmations cannot be watched, None when they can (also domain/catalog.py's check)."""
    if required < 1:
        return "required_confirmations must be at least 1"
    if required > MAX_REQUIRED_CONFIRMATIONS:
        return (
            f"required_confirmations must be at most {MAX_REQUIRED_CONFIRMATIONS} (the watcher re-reads that many "
            f"blocks every run, of at most {MAX_BLOCKS_PER_RUN})"
        )
    return None


def watch_network(deps: WatcherDeps, network: Network, now: datetime, *, deadline: float | None = None) -> WatchSummary:
    """One run for one network (see the module docstring), within `deadline` (a `deps.clock()` value).
    Raises on an RPC failure outside the deposit scan: nothing half-done is lost, the next run reads the same
    range again."""
    problem = check_required_confirmations(network.required_confirmations)
    if problem is not None:
        raise ScanWindowTooSmall(problem)
    chain = deps.chain_for(network)
    run = _Run(deps, chain, network, head=chain.head(), now=now, summary=WatchSummary(network.id))
    if deadline is not None:
        run.deadline = deadline
        run.deposits_deadline = (began := deps.clock()) + max(0.0, deadline - began) * DEPOSIT_SHARE
    run.summary.head = run.head

    cursor = deps.cursors.get(run.network_id)
    safe = _scan_deposits(run, cursor)
    # Expiry first (never skipped because confirmations ran long), by the clock of the last block whose
    # deposits were all processed.
    if safe is not None:
        _expire_due(run, run.timestamp(safe))
    verify_deals(run)
    for payment in deps.payments.watched(run.network_id, S.PAID, limit=WATCH_LIMIT):
        if run.out_of_time():
            break
        _check_paid(run, payment)
    if not run.out_of_time():
        _give_up_stuck_cancels(run)
        _resend_cancels(run)
        _resend_creates(run)
        _resolve_stuck_sends(run)
    set_correlation_id(None)  # the run's own lines are no payment's
    run.summary.lag_blocks = max(0, run.head - (safe if safe is not None else -1))
    _report(run)
    logger.info("chain watched", extra=run.summary.as_dict())
    return run.summary


def _scan_deposits(run: _Run, cursor: BlockCursor | None) -> int | None:
    """Step 1: the Deposited events from the cursor on. Returns the last block whose deposits have all been
    processed (this run or before: the clock expiry may use), None when there is none yet.

    The cursor moves to the end of the last range read in full, but never past a deposit that failed to
    process (an RPC error reading its deal, a payment that kept changing): it stops at the block before the
    first one, so the next run reads it again (the deposits after it are processed now, and seen again then:
    idempotent). A range read past the scan's budget is left for the next run."""
    summary = run.summary
    start = _scan_start(run, cursor)
    end = min(run.head, start + MAX_BLOCKS_PER_RUN - 1)
    summary.from_block, summary.to_block = start, end
    done = start - 1  # the last block of the ranges read in full
    done_hash: str | None = None
    failed: int | None = None  # the block of the first deposit that failed
    for low in range(start, end + 1, LOG_CHUNK_BLOCKS):
        high = min(end, low + LOG_CHUNK_BLOCKS - 1)
        if run.out_of_time(run.deposits_deadline):
            break
        # Read before the events: a reorg while they are read leaves a hash the next run will not find.
        high_hash = run.block_hash(high)
        try:
            events = run.chain.events(low, high)
        except ChainError as exc:
            logger.warning("deposits not read", extra={"network_id": run.network_id, "error": str(exc)})
            break
        complete = True
        for ev in sorted(events, key=lambda e: (e.block_number, e.log_index)):
            if ev.name != "Deposited" or ev.removed:
                continue
            if run.out_of_time(run.deposits_deadline):
                complete = False  # this range is the next run's, from its start (idempotent)
                break
            if not _deposit_done(run, ev):
                summary.deposit_failures += 1
                failed = ev.block_number if failed is None else min(failed, ev.block_number)
        if not complete:
            break
        done, done_hash = high, high_hash
    if failed is not None:
        done, done_hash = failed - 1, None
    summary.to_block = max(done, start - 1)
    previous = cursor.block if cursor is not None else -1
    if done >= start and done > previous:
        block_hash = done_hash if done_hash is not None else run.block_hash(done)
        summary.cursor_moved = run.deps.cursors.advance(
            run.network_id, previous=cursor, block=done, block_hash=block_hash, at=iso(run.now)
        )
    if failed is not None:
        return done if done >= 0 else None
    if done >= start:
        return done
    if cursor is not None and not summary.rewound:
        return min(cursor.block, run.head)  # nothing new read: what earlier runs processed
    return None


def _deposit_done(run: _Run, ev: ChainEvent) -> bool:
    """Process one deposit; False when it failed (left for the next run, which reads it again)."""
    try:
        return _on_deposit(run, ev)
    except Exception as exc:  # noqa: BLE001 - reported; the cursor stays before it and the next run retries
        # ChainError messages are redacted by the client (no RPC URL); of anything else only the type.
        error = f"ChainError: {exc}" if isinstance(exc, ChainError) else type(exc).__name__
        logger.error(
            "deposit not processed: read again next run",
            extra={"network_id": run.network_id, "deal_id": ev.deal_id, "block": ev.block_number, "error": error},
        )
        metrics.count("DepositFailures", network=run.network.name or run.network_id, rollup=True)
        return False


def _follow(payment: Payment) -> None:
    """The watcher's lines, changes and messages for a payment carry the payment's correlation id."""
    set_correlation_id(payment.last_event.correlation_id if payment.last_event else None)


NATIVE_DECIMALS = 18  # an EVM chain's native coin (ether, POL, ...) in wei


def _report(run: _Run) -> None:
    """The run's metrics, per network (and rolled up, for the alarms): see docs/operations.md."""
    name, summary = run.network.name or run.network_id, run.summary
    for metric, value in (
        ("DepositsSeen", summary.deposits + summary.redeposits),
        ("Confirmations", summary.confirmed),
        ("Reorgs", summary.reorged),
        ("Expiries", summary.expired),
    ):
        metrics.count(metric, value, network=name, rollup=True)
    metrics.gauge("WatcherLagBlocks", summary.lag_blocks, unit=metrics.COUNT, network=name, rollup=True)
    # The lowest balance of the platform signers (the platform wallet and its pool): the one to fund first.
    lowest: tuple[int, str] | None = None
    for wallet_id in run.network.platform_signers:
        wallet = run.deps.catalog.get(Wallet, wallet_id)
        if not wallet or not wallet.address:
            continue
        try:
            wei = run.chain.balance(wallet.address)
        except ChainError as exc:  # reported; the deposits and confirmations above are done
            logger.warning("platform wallet balance not read", extra={"network_id": run.network_id, "error": str(exc)})
            return
        lowest = (wei, wallet_id) if lowest is None or wei < lowest[0] else lowest
    if lowest is None:
        return
    # A metric value is a float: the balance in whole coins, converted from the exact Decimal at the last step.
    coins = Decimal(lowest[0]).scaleb(-NATIVE_DECIMALS)
    metrics.gauge("PlatformWalletBalance", float(coins), network=name, rollup=True, metadata={"wallet_id": lowest[1]})


def _scan_start(run: _Run, cursor: BlockCursor | None) -> int:
    if cursor is None:
        return max(0, run.head - INITIAL_LOOKBACK_BLOCKS + 1)
    if cursor.block > run.head:
        # The node is behind the one that answered the last run (a load-balanced RPC): not a reorg. Nothing
        # new to read until it catches up; a reorg under the cursor is seen then, by its block's hash.
        run.summary.node_behind = True
        logger.info(
            "node behind the cursor: waiting for it",
            extra={"network_id": run.network_id, "cursor": cursor.block, "head": run.head},
        )
        return run.head + 1
    if cursor.block_hash is not None and run.block_hash(cursor.block) != cursor.block_hash:
        run.summary.rewound = True
        logger.warning(
            "chain reorganised under the cursor: reading again",
            extra={"network_id": run.network_id, "cursor": cursor.block, "head": run.head},
        )
        return max(0, cursor.block - max(REORG_REWIND_BLOCKS, run.required) + 1)
    return max(0, cursor.block - run.required + 1)


# ---------------------------------------------------------------------------------------------- deposits
def _deposit_fields(run: _Run, ev: ChainEvent) -> PaymentChanges:
    paid_at = datetime.fromtimestamp(run.timestamp(ev.block_number), UTC)
    return {
        "transaction_hash": ev.transaction_hash,
        "payer": str(ev.args.get("payer", "")),
        "deposit_amount": str(ev.args.get("amount", "")),  # token units may exceed DynamoDB's 38 digits
        "deposit_block_number": ev.block_number,
        "deposit_block_hash": ev.block_hash,
        "deposit_log_index": ev.log_index,
        "paid_at": iso(paid_at),
    }


def _on_deposit(run: _Run, ev: ChainEvent) -> bool:
    """One Deposited event; False when it could not be decided (the payment kept changing)."""
    try:
        deal = run.chain.get_deal(ev.deal_id)
    except ChainError as exc:
        if not exc.reverted:
            raise
        run.summary.ignored_events += 1  # no such deal (any more): an event of a fork being dropped
        return True
    payment_id = payment_id_of_ref(deal.ref)
    store = run.deps.payments

    def decide(payment: Payment | None) -> bool:
        if payment is not None:
            _follow(payment)
        if (
            payment is None
            or payment.network_id != run.network_id
            or payment.payment_method is not PaymentMethod.WEB3
            or (payment.deal_ref or "").lower() != deal.ref.lower()
        ):
            run.summary.ignored_events += 1  # not one of ours (another user of the diamond, another network)
            return True
        # The deal of the payment's ref is the payment's deal (a ref has one deal), whatever id was recorded.
        status = payment.status
        if status is S.SENDING and payment.deal_id is None:
            # The deal exists (it was paid): record it as the create-deal worker would, then decide again.
            created = run.chain.find_created(deal.ref)
            lifecycle.record_deal_created(
                store, payment, deal_id=ev.deal_id, transaction_hash=created.transaction_hash if created else "",
                worker=run.deps.worker, block_number=(created.block_number or None) if created else None,
                block_hash=created.block_hash if created else None,
            )  # fmt: skip
            raise lifecycle.ReadAgain
        if status in (S.CANCELLED, S.EXPIRED):
            if deal.status is DealStatus.PAID:
                _refund_late_deposit(run, payment, ev)
            return True
        if status is S.OPEN:
            problem = _deposit_mismatch(run, payment, deal, ev)
            if problem is not None:
                _mismatch(run, payment, "deposit", problem)  # not paid: at expiry cancelDeal refunds the payer
                return True
            fields = _deposit_fields(run, ev)
            confirmations = run.head - ev.block_number + 1
            moved = lifecycle.move(
                store, payment, to=S.PAID, actor=run.chain_actor, event_type="deposit_seen",
                message=f"Deposit {ev.transaction_hash} by {fields.get('payer')} seen in block {ev.block_number}"
                + (f" (into deal {ev.deal_id}, the deal of its ref)" if payment.deal_id != ev.deal_id else ""),
                changes={
                    **fields,
                    **(_deal_moved(ev.deal_id) if payment.deal_id != ev.deal_id else {}),
                    "confirmation_status": confirmation_status(run.required, confirmations, run.block_seconds()),
                },
            )  # fmt: skip
            run.summary.deposits += 1
            _check_paid(run, moved)  # enough confirmations already (a watcher catching up): confirmed now
            return True
        if status is S.PAID and (
            payment.transaction_hash != ev.transaction_hash or payment.deposit_block_hash != ev.block_hash
        ):
            # Only one deposit per deal exists on a chain: the one recorded was on a fork that is gone.
            lifecycle.move(
                store, payment, to=None, actor=run.chain_actor, event_type="deposit_seen",
                message=f"Deposit {ev.transaction_hash} now in block {ev.block_number} (a reorg moved it)",
                changes={
                    **_deposit_fields(run, ev), **(_deal_moved(ev.deal_id) if payment.deal_id != ev.deal_id else {}),
                },
            )  # fmt: skip
            run.summary.redeposits += 1
        # else: seen before, or cancelling (the cancel worker refunds it), confirmed, refunded
        return True

    def exhausted() -> bool:
        run.skip()
        return False

    return lifecycle.optimistic(lambda: store.get(payment_id) if payment_id else None, decide, exhausted=exhausted)


def _deal_moved(deal_id: int) -> PaymentChanges:
    """A payment's deal is another id than the one recorded (a reorg reordered createDeals): the new id,
    unverified, its block unknown until the watcher verifies it."""
    return {
        "deal_id": deal_id, "deal_transaction_hash": None, "deal_block_number": None, "deal_block_hash": None,
        "deal_verified": False,
    }  # fmt: skip


def _refund_late_deposit(run: _Run, payment: Payment, ev: ChainEvent) -> None:
    """A deposit into the deal of a payment that ended unpaid (cancelled, expired): cancelDeal refunds it. The
    cancel worker, given a final payment, refunds a paid deal of its ref (chain_work._refund_late_deposit)."""
    body = {**lifecycle.cancel_message(payment), "deal_id": str(ev.deal_id)}
    run.deps.deal_queue.send(body, group=signing_group(payment), dedup_id=f"{payment.id}:refund:{ev.deal_id}")
    run.summary.late_refunds += 1
    logger.warning(
        "deposit into the deal of a payment that ended: refund queued",
        extra={"payment_id": payment.id, "deal_id": ev.deal_id, "status": payment.status.value},
    )


# ---------------------------------------------------------------------------------------------- trusted deals
def _expected_creator(run: _Run, payment: Payment) -> str | None:
    """The address that signs the payment's deals: its signer (`signer_wallet_id`, resolved when it was
    created: its lane); a payment stored before that as chain_work.signing_wallet_id resolves it (its wallet's
    owner, its wallet, else the network's platform wallet). None when the catalog has none."""
    wallet_id = payment.signer_wallet_id or payment.wallet_id or run.network.platform_wallet_id
    if wallet_id not in run._wallets:
        wallet = run.deps.catalog.get(Wallet, wallet_id) if wallet_id else None
        if wallet is not None and not payment.signer_wallet_id and payment.wallet_id and wallet.owner_wallet_id:
            wallet = run.deps.catalog.get(Wallet, wallet.owner_wallet_id)
        run._wallets[wallet_id] = wallet.address if wallet is not None else None
    return run._wallets[wallet_id]


def _same_address(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def deal_mismatch(run: _Run, payment: Payment, deal: DealInfo) -> str | None:
    """Why the contract's deal is not the payment's (its ref, creator, token, amount, payee, expiry), None
    when it is."""
    expires_at = int(datetime.fromisoformat(payment.expires_at).timestamp())
    for name, ok in (
        ("ref", (payment.deal_ref or "").lower() == deal.ref.lower()),
        ("creator", _same_address(deal.creator, _expected_creator(run, payment))),
        ("token", _same_address(deal.token, payment.token_address)),
        ("amount", deal.amount == payment.amount_units),
        ("payee", _same_address(deal.payee, payment.payment_address)),
        ("expiry", deal.expires_at == expires_at),
    ):
        if not ok:
            return f"the deal's {name} is not the payment's"
    return None


def _deposit_mismatch(run: _Run, payment: Payment, deal: DealInfo, ev: ChainEvent) -> str | None:
    """Why a deposit does not pay the payment: the deal's terms, or the amount the event says was deposited."""
    problem = deal_mismatch(run, payment, deal)
    if problem is None and str(ev.args.get("amount", "")) != str(payment.amount_units):
        problem = "the amount deposited is not the payment's"
    return problem


def _mismatch(run: _Run, payment: Payment, kind: str, problem: str) -> None:
    run.summary.mismatched += 1
    logger.error(
        f"{kind} does not match its payment: not trusted",
        extra={"payment_id": payment.id, "deal_id": payment.deal_id, "problem": problem},
    )
    metrics.count(
        "DealMismatches", network=run.network.name or run.network_id, rollup=True,
        metadata={"payment_id": payment.id, "kind": kind},
    )  # fmt: skip


def verify_deals(run: _Run) -> None:
    """Step 2: every `open` payment whose deal is not verified yet, once its createDeal block has the
    network's required confirmations: the contract's deal for the recorded id must be the payment's (ref,
    creator, token, amount, payee, expiry). A deal of another ref (a reorg reordered two createDeals, so the
    id is another payment's now) is read again from `dealIdOf(ref)` and verified in its turn; a deal the
    chain no longer has is cleared until its createDeal is mined again. The widget answers a verified deal
    only."""
    for payment in run.deps.payments.watched(run.network_id, S.OPEN, limit=WATCH_LIMIT):
        if payment.deal_verified:
            continue
        if run.out_of_time():
            return
        block = payment.deal_block_number
        if payment.deal_id is not None and block is not None and run.head - block + 1 < run.required:
            continue  # not deep enough yet (or the node is behind that block): nothing to read
        _verify_deal(run, payment)


def _deal_or_none(run: _Run, deal_id: int) -> DealInfo | None:
    try:
        return run.chain.get_deal(deal_id)
    except ChainError as exc:
        if not exc.reverted:
            raise
        return None  # no such deal on this chain


def _verify_deal(run: _Run, payment: Payment) -> None:
    store = run.deps.payments

    def decide(current: Payment | None) -> None:
        if current is None or current.status is not S.OPEN or current.deal_verified or current.deal_ref is None:
            return
        _follow(current)
        ref = current.deal_ref
        deal = _deal_or_none(run, current.deal_id) if current.deal_id is not None else None
        block, block_hash = current.deal_block_number, current.deal_block_hash
        if deal is None or deal.ref.lower() != ref.lower():
            found = run.chain.find_created(ref)
            if found is None:
                if current.deal_id is not None:
                    lifecycle.move(
                        store, current, to=None, actor=run.chain_actor, event_type="deal_reorged",
                        message=f"Deal {current.deal_id} is not this payment's on chain any more (a reorg); "
                        "waiting for its createDeal to be mined again",
                        changes={**_deal_moved(0), "deal_id": None},
                    )  # fmt: skip
                    run.summary.deals_moved += 1
                return
            current = lifecycle.move(
                store, current, to=None, actor=run.chain_actor, event_type="deal_reorged",
                message=f"Deal {current.deal_id} is another payment's after a reorg; this payment's deal "
                f"(dealIdOf its ref) is {found.deal_id}",
                changes={
                    **_deal_moved(found.deal_id), "deal_transaction_hash": found.transaction_hash or None,
                    "deal_block_number": found.block_number or None, "deal_block_hash": found.block_hash,
                },
            )  # fmt: skip
            run.summary.deals_moved += 1
            deal = run.chain.get_deal(found.deal_id)
            block, block_hash = found.block_number or None, found.block_hash
        elif block is None or block_hash is None or run.block_hash(block) != block_hash:
            if block is not None and block > run.head:
                return  # the node is behind the deal's block: decide when it has it
            found = run.chain.find_created(ref)  # where the chain has the createDeal now
            if found is None or found.deal_id != current.deal_id:
                run.skip()  # the chain is changing under us: the next run decides
                return
            block, block_hash = found.block_number or None, found.block_hash
        problem = deal_mismatch(run, current, deal)
        if problem is not None:
            _mismatch(run, current, "deal", problem)
            return
        # A createDeal older than the recovery window (block unknown, 0) is deeper than any required count.
        confirmations = run.required if block is None else run.head - block + 1
        if confirmations < run.required:
            if (block, block_hash) != (current.deal_block_number, current.deal_block_hash):
                store.annotate(
                    current.id, expected_status=S.OPEN, expected={"version": current.version},
                    changes={"deal_block_number": block, "deal_block_hash": block_hash},
                )  # fmt: skip
            return
        lifecycle.move(
            store, current, to=None, actor=run.chain_actor, event_type="deal_verified",
            message=f"Deal {deal.deal_id} checked on chain at {min(confirmations, run.required)} confirmations: "
            "its ref, creator, token, amount, payee and expiry are the payment's",
            changes={"deal_verified": True, "deal_block_number": block, "deal_block_hash": block_hash},
        )  # fmt: skip
        run.summary.deals_verified += 1

    payment_id = payment.id
    first: Payment | None = payment
    lifecycle.optimistic(lambda: store.get(payment_id), decide, first=first, exhausted=run.skip)


# ---------------------------------------------------------------------------------------------- confirmations
def _check_paid(run: _Run, payment: Payment) -> None:
    payment_id = payment.id
    _follow(payment)
    first: Payment | None = payment  # as just read (the index, or the move that made it paid)
    lifecycle.optimistic(
        lambda: run.deps.payments.get(payment_id), lambda p: _settle(run, p), first=first, exhausted=run.skip
    )


def _settle(run: _Run, payment: Payment | None) -> None:
    if payment is None or payment.status is not S.PAID or payment.deposit_block_number is None:
        return  # gone, moved on meanwhile, a paid card payment, or a stale index entry
    store = run.deps.payments
    block = payment.deposit_block_number
    stored_hash = payment.deposit_block_hash
    tx = str(payment.transaction_hash)
    if block > run.head:
        run.skip()  # the node is behind the deposit's block (a lagging node, not a reorg): decide next run
        return
    canonical = run.block_hash(block)
    if canonical != stored_hash:
        if canonical is None and block <= run.head:
            run.summary.skipped += 1  # the node did not answer for that block: decide next run
            return
        found = _find_deposit(run, tx, payment.deal_id) if payment.deal_id is not None else None
        if found is None:
            lifecycle.move(
                store, payment, to=S.OPEN, actor=run.chain_actor, event_type="reorged",
                message=f"Deposit {tx} (block {block}) was dropped by a chain reorganisation; waiting for the deposit",
                changes=DEPOSIT_CLEARED,
            )  # fmt: skip
            run.summary.reorged += 1
            return
        payment = lifecycle.move(
            store, payment, to=None, actor=run.chain_actor, event_type="deposit_seen",
            message=f"Deposit {tx} now in block {found.block_number} (a reorg moved it)",
            changes=_deposit_fields(run, found),
        )  # fmt: skip
        run.summary.redeposits += 1
        block = found.block_number
    status = confirmation_status(run.required, run.head - block + 1, run.block_seconds())
    if status.confirmed:
        lifecycle.move(
            store, payment, to=S.CONFIRMED, actor=run.chain_actor, event_type="confirmed",
            message=f"Deposit {tx} has the network's {run.required} confirmations",
            # The deal precedes its deposit: at the deposit's confirmations it is verified too (the deposit
            # was checked against the deal's terms when it was seen).
            changes={"confirmation_status": status, "confirmed_at": iso(utcnow()), "deal_verified": True},
        )  # fmt: skip
        run.summary.confirmed += 1
        return
    stored = payment.confirmation_status
    if (
        stored is None
        or (stored.confirmations, stored.required_confirmations)
        != (
            status.confirmations,
            status.required_confirmations,
        )
    ) and store.annotate(
        payment.id,
        expected_status=S.PAID,
        expected={"transaction_hash": tx, "deposit_block_number": block},
        changes={"confirmation_status": status},
    ):
        run.summary.progressed += 1


def _find_deposit(run: _Run, tx: str, deal_id: int) -> ChainEvent | None:
    """The deposit's Deposited event where the chain has its transaction now, None when it has none."""
    where = run.chain.receipt_block(tx)
    if where is None:
        return None
    for ev in run.chain.events(where[0], where[0]):
        if ev.name == "Deposited" and ev.transaction_hash == tx and ev.deal_id == deal_id and not ev.removed:
            return ev
    return None  # mined again but reverted (the deal was no longer open on that chain)


# ---------------------------------------------------------------------------------------------- expiry
def _expire_due(run: _Run, clock: int) -> None:
    """Payments whose expires_at is at or before the chain's clock (block timestamp, unix seconds)."""
    until = iso(datetime.fromtimestamp(clock, UTC))
    for status in (S.OPEN, S.SEND_FAILED, S.PENDING):
        for payment in run.deps.payments.watched(run.network_id, status, expires_until=until, limit=WATCH_LIMIT):
            _expire(run, payment)


def _expire(run: _Run, payment: Payment) -> None:
    store = run.deps.payments

    def decide(current: Payment | None) -> None:
        if current is None:
            return
        _follow(current)
        status = current.status
        if status in (S.OPEN, S.SEND_FAILED) or (status is S.PENDING and current.deal_may_exist):
            moved = lifecycle.move(
                store, current, to=S.CANCELLING, actor=run.system_actor, event_type="cancel_requested",
                message=f"Expired unpaid at {current.expires_at}; cancelDeal queued",
                changes={"expire_on_cancel": True, "cancel_sent_at": iso(run.now)},
            )  # fmt: skip
            lifecycle.send_cancel_deal(run.deps.deal_queue, moved)
            run.summary.expired += 1
        elif status is S.PENDING:
            lifecycle.move(
                store, current, to=S.EXPIRED, actor=run.system_actor, event_type="expired",
                message=f"Expired at {current.expires_at} before its deal was created",
            )  # fmt: skip
            run.summary.expired += 1
        # else: moved on meanwhile (paid, cancelled, ...): nothing to expire

    payment_id = payment.id
    first: Payment | None = payment  # as the index gave it
    lifecycle.optimistic(lambda: store.get(payment_id), decide, first=first, exhausted=run.skip)


def _resend(
    run: _Run,
    status: S,
    *,
    sent_field: Literal["cancel_sent_at", "create_sent_at"],
    after: timedelta,
    queue: DealQueue,
    message: Callable[[Payment], dict[str, Any]],
    kind: str,
) -> int:
    """Send again the message of every payment of `status` whose message (sent at `sent_field`, else at
    its last versioned change) is older than `after`; a conditional annotate claims each resend, so two
    overlapping runs send it once. Returns how many were sent."""
    cutoff = iso(run.now - after)
    sent = 0
    for payment in run.deps.payments.watched(run.network_id, status, limit=WATCH_LIMIT):
        sent_at = payment.cancel_sent_at if sent_field == "cancel_sent_at" else payment.create_sent_at
        if (sent_at or payment.updated_at) > cutoff:
            continue
        _follow(payment)
        changes: PaymentChanges = (
            {"cancel_sent_at": iso(run.now)} if sent_field == "cancel_sent_at" else {"create_sent_at": iso(run.now)}
        )
        if run.deps.payments.annotate(
            payment.id, expected_status=status, expected={"version": payment.version}, changes=changes
        ):
            # Its own de-duplication id: the first message's must not swallow this one.
            queue.send(
                message(payment),
                group=signing_group(payment),
                dedup_id=f"{payment.id}:{kind}:{int(run.now.timestamp())}",
            )
            sent += 1
    return sent


def _resend_cancels(run: _Run) -> None:
    run.summary.cancels_resent += _resend(
        run, S.CANCELLING, sent_field="cancel_sent_at", after=CANCEL_RESEND_AFTER,
        queue=run.deps.deal_queue, message=lifecycle.cancel_message, kind="cancel",
    )  # fmt: skip


def _resend_creates(run: _Run) -> None:
    # The first create message's de-duplication id is `<id>:<retry_count>`.
    run.summary.creates_resent += _resend(
        run, S.PENDING, sent_field="create_sent_at", after=CREATE_RESEND_AFTER,
        queue=run.deps.deal_queue, message=create_deal_message, kind="create",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- stuck work
def _resolve_stuck_sends(run: _Run) -> None:
    """`sending` payments whose worker stopped (claimed more than SENDING_STALE_AFTER ago), from the chain."""
    stale = iso(run.now - SENDING_STALE_AFTER)
    give_up = iso(run.now - SENDING_GIVE_UP_AFTER)
    for payment in run.deps.payments.watched(run.network_id, S.SENDING, limit=WATCH_LIMIT):
        if payment.updated_at > stale or payment.deal_ref is None:
            continue  # claimed recently: its worker may still be on it
        _follow(payment)
        try:
            found = run.chain.find_created(payment.deal_ref)
        except ChainError as exc:
            logger.warning("stuck send not resolved", extra={"payment_id": payment.id, "error": str(exc)})
            run.skip()
            continue
        try:
            _resolve_stuck_send(run, payment, found, give_up=payment.updated_at <= give_up, stale=stale)
        except (lifecycle.IllegalTransition, StaleWrite):
            run.skip()  # moved meanwhile (its worker came back): the next run sees what it is now


def _resolve_stuck_send(run: _Run, payment: Payment, found: CreatedDeal | None, *, give_up: bool, stale: str) -> None:
    store = run.deps.payments
    if found is not None:
        lifecycle.record_deal_created(
            store, payment, deal_id=found.deal_id, transaction_hash=found.transaction_hash, worker=run.deps.worker
        )
        run.summary.stuck_sends_recorded += 1
        return
    if give_up:
        failure = FailureReason(
            ChainFailure.SEND_STUCK,
            f"no deal on chain {SENDING_GIVE_UP_AFTER} after the create-deal worker claimed it ({payment.updated_at})",
        )
        send_failed(store, payment, failure, actor=run.system_actor)
        metrics.count("StuckSendsFailed", network=run.network.name or run.network_id, rollup=True)
        run.summary.stuck_sends_failed += 1
        return
    if (payment.create_sent_at or "") > stale:
        return  # sent again recently: its worker has not had it yet
    if store.annotate(
        payment.id, expected_status=S.SENDING, expected={"version": payment.version},
        changes={"create_sent_at": iso(run.now)},
    ):  # fmt: skip
        run.deps.deal_queue.send(
            create_deal_message(payment),
            group=signing_group(payment),
            dedup_id=f"{payment.id}:stuck:{int(run.now.timestamp())}",
        )
        run.summary.stuck_sends_resent += 1


def _give_up_stuck_cancels(run: _Run) -> None:
    """`cancelling` payments whose cancel was requested more than CANCEL_GIVE_UP_AFTER ago: flagged (visible,
    alarmed), no longer sent again; a new cancel request tries again."""
    cutoff = iso(run.now - CANCEL_GIVE_UP_AFTER)
    for payment in run.deps.payments.watched(run.network_id, S.CANCELLING, limit=WATCH_LIMIT):
        if payment.updated_at > cutoff or payment.cancel_failed_reason is not None:
            continue
        _follow(payment)
        failure = FailureReason(
            ChainFailure.CANCEL_STUCK, f"cancelDeal not done {CANCEL_GIVE_UP_AFTER} after it was requested"
        )
        try:
            cancel_failed(run.deps.payments, payment, failure, actor=run.system_actor)
        except StaleWrite:
            run.skip()
            continue
        run.summary.cancels_failed += 1


# ---------------------------------------------------------------------------------------------- every network
def watch_all(deps: WatcherDeps, now: datetime, *, seconds: float | None = None) -> dict[str, Any]:
    """A run for every network with a diamond, within `seconds` (the invocation's remaining time less
    RUN_SAFETY_SECONDS; DEFAULT_RUN_SECONDS when not given). Each network gets its own time budget (its
    share, plus what the networks before it left unused) and stops at it, so one network's slow RPC never
    starves another; its failure (its RPC down) never stops the others. The order rotates every minute."""
    report: list[dict[str, Any]] = []
    networks = [n for n in sorted(deps.catalog.list(Network), key=lambda n: n.id) if n.diamond_address]
    if networks:
        turn = int(now.timestamp() // 60) % len(networks)
        networks = networks[turn:] + networks[:turn]
    total = DEFAULT_RUN_SECONDS if seconds is None else max(0.0, seconds - RUN_SAFETY_SECONDS)
    end = deps.clock() + total
    for i, network in enumerate(networks):
        # Its own share at least (a network before it that overran its budget by a call in flight takes it
        # from RUN_SAFETY_SECONDS, not from this one), plus what the ones before it left unused.
        share = max(total / len(networks), (end - deps.clock()) / (len(networks) - i))
        deadline = deps.clock() + share
        try:
            report.append({**watch_network(deps, network, now, deadline=deadline).as_dict(), "ok": True})
        except Exception as exc:  # noqa: BLE001 - reported, and the next run is the retry
            # ChainError messages are redacted by the client (no RPC URL); of anything else only the type.
            if isinstance(exc, ChainError | ScanWindowTooSmall):
                error = f"{type(exc).__name__}: {exc}"
            else:
                error = type(exc).__name__
            set_correlation_id(None)
            logger.error("chain watch failed", extra={"network_id": network.id, "error": error})
            metrics.count("WatchFailures", network=network.name or network.id, rollup=True)
            report.append({"network_id": network.id, "ok": False, "error": error})
    return {"networks": report}
