"""The chain watcher: on a schedule, per network, what the chain says about the payments.

One run of `watch_network`, in this order:

1. Deposits. The network's block cursor (PaymentKeysTable `cursor#<network_id>`: the last block whose events
   were processed, and its hash) says where to read from; every run reads the last `required_confirmations`
   blocks again (overlap: a shallow reorg may have moved a deposit there), at most MAX_BLOCKS_PER_RUN
   blocks, in getLogs chunks of LOG_CHUNK_BLOCKS. The first run starts INITIAL_LOOKBACK_BLOCKS before the
   head; a cursor whose block has another hash now (a reorg under it) is rewound REORG_REWIND_BLOCKS.
   Each `Deposited(dealId, payer, amount)` finds its payment through the deal's ref (the payment id) and
   moves it `open -> paid` (`deposit_seen`) with `transaction_hash` (the deposit), `payer`,
   `deposit_block_number`, `deposit_block_hash`, `deposit_log_index`, `paid_at` and a first
   `confirmation_status`. A `sending` payment (the create-deal worker has not recorded its deal yet) gets
   its deal recorded first. Cancelling, confirmed and final payments are left alone: a deal paid while its
   payment is cancelling is refunded by the cancel worker (cancelDeal on a Paid deal refunds).
   The cursor moves (conditionally, see store/cursors.py) only after its range was processed.
2. Confirmations. Every `paid` payment of the network (from the sparse `by_watch` index, never a scan):
   if the block at `deposit_block_number` still has `deposit_block_hash`, confirmations = head - block + 1,
   and at the network's `required_confirmations` it moves to `confirmed` (`confirmed`). Otherwise the
   deposit's receipt decides: gone, it moves back to `open` (`reorged`; the deposit fields are cleared,
   so a deposit that was reorged out never stays paid); in another block (re-mined), the deposit fields
   follow it. Progress alone (confirmations going up) is written without a new version (no log entry).
3. Expiry, by the chain's clock: the timestamp of the last block read in step 1 (the contract refuses a
   deposit at or after expiresAt by the same clock, and every deposit up to that block has been seen).
   `open` and `send-failed` payments, and `pending` ones a worker once claimed, go to `cancelling` with
   `expire_on_cancel` (`cancel_requested`) and a cancelDeal message; the cancel worker ends them in
   `expired` (or `refunded`, for a deposit that still landed first). A `pending` payment never claimed has
   no deal: `expired` at once.
4. Stuck work (decision 0041): a `sending` payment claimed more than SENDING_STALE_AFTER ago (its worker
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
re-read range or a run after a crash changes nothing twice. Pure domain: the chain is reached through
`WatchedChain` (implemented by payments_chain.client.DiamondClient).
"""

from __future__ import annotations

import string
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
    lag_blocks: int = 0  # head - the last block read: what the next runs still have to read

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
    _hashes: dict[int, str | None] = field(default_factory=dict)
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
def watch_network(deps: WatcherDeps, network: Network, now: datetime) -> WatchSummary:
    """One run for one network (see the module docstring). Raises on an RPC failure: nothing half-done
    is lost, the next run reads the same range again."""
    chain = deps.chain_for(network)
    run = _Run(deps, chain, network, head=chain.head(), now=now, summary=WatchSummary(network.id))
    run.summary.head = run.head

    cursor = deps.cursors.get(run.network_id)
    start = _scan_start(run, cursor)
    end = min(run.head, start + MAX_BLOCKS_PER_RUN - 1)
    run.summary.from_block, run.summary.to_block = start, end
    # Read before the events: a reorg while they are read leaves a hash the next run will not find.
    end_hash = run.block_hash(end)
    clock = run.timestamp(end)
    for low in range(start, end + 1, LOG_CHUNK_BLOCKS):
        high = min(end, low + LOG_CHUNK_BLOCKS - 1)
        for ev in sorted(chain.events(low, high), key=lambda e: (e.block_number, e.log_index)):
            if ev.name == "Deposited" and not ev.removed:
                _on_deposit(run, ev)
    run.summary.cursor_moved = deps.cursors.advance(
        run.network_id, previous=cursor, block=end, block_hash=end_hash, at=iso(now)
    )

    for payment in deps.payments.watched(run.network_id, S.PAID, limit=WATCH_LIMIT):
        _check_paid(run, payment)
    _expire_due(run, clock)
    _give_up_stuck_cancels(run)
    _resend_cancels(run)
    _resend_creates(run)
    _resolve_stuck_sends(run)
    set_correlation_id(None)  # the run's own lines are no payment's
    run.summary.lag_blocks = run.head - end
    _report(run)
    logger.info("chain watched", extra=run.summary.as_dict())
    return run.summary


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
    wallet_id = run.network.platform_wallet_id
    wallet = run.deps.catalog.get(Wallet, wallet_id) if wallet_id else None
    if not wallet or not wallet.address:
        return
    try:
        wei = run.chain.balance(wallet.address)
    except ChainError as exc:  # reported; the deposits and confirmations above are done
        logger.warning("platform wallet balance not read", extra={"network_id": run.network_id, "error": str(exc)})
        return
    # A metric value is a float: the balance in whole coins, converted from the exact Decimal at the last step.
    coins = Decimal(wei).scaleb(-NATIVE_DECIMALS)
    metrics.gauge("PlatformWalletBalance", float(coins), network=name, rollup=True, metadata={"wallet_id": wallet_id})


def _scan_start(run: _Run, cursor: BlockCursor | None) -> int:
    if cursor is None:
        return max(0, run.head - INITIAL_LOOKBACK_BLOCKS + 1)
    if cursor.block > run.head or (cursor.block_hash is not None and run.block_hash(cursor.block) != cursor.block_hash):
        run.summary.rewound = True
        logger.warning(
            "chain reorganised under the cursor: reading again",
            extra={"network_id": run.network_id, "cursor": cursor.block, "head": run.head},
        )
        return max(0, min(cursor.block, run.head) - max(REORG_REWIND_BLOCKS, run.required) + 1)
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


def _on_deposit(run: _Run, ev: ChainEvent) -> None:
    try:
        deal = run.chain.get_deal(ev.deal_id)
    except ChainError as exc:
        if not exc.reverted:
            raise
        run.summary.ignored_events += 1  # no such deal (any more): an event of a fork being dropped
        return
    payment_id = payment_id_of_ref(deal.ref)
    store = run.deps.payments

    def decide(payment: Payment | None) -> None:
        if payment is not None:
            _follow(payment)
        if (
            payment is None
            or payment.network_id != run.network_id
            or payment.payment_method is not PaymentMethod.WEB3
            or (payment.deal_id is not None and payment.deal_id != ev.deal_id)
        ):
            run.summary.ignored_events += 1  # not one of ours (another user of the diamond, another network)
            return
        status = payment.status
        if status is S.SENDING and payment.deal_id is None:
            # The deal exists (it was paid): record it as the create-deal worker would, then decide again.
            created = run.chain.find_created(deal.ref)
            lifecycle.record_deal_created(
                store, payment, deal_id=ev.deal_id, transaction_hash=created.transaction_hash if created else "",
                worker=run.deps.worker,
            )  # fmt: skip
            raise lifecycle.ReadAgain
        if status is S.OPEN:
            fields = _deposit_fields(run, ev)
            confirmations = run.head - ev.block_number + 1
            moved = lifecycle.move(
                store, payment, to=S.PAID, actor=run.chain_actor, event_type="deposit_seen",
                message=f"Deposit {ev.transaction_hash} by {fields.get('payer')} seen in block {ev.block_number}",
                changes={
                    **fields,
                    "confirmation_status": confirmation_status(run.required, confirmations, run.block_seconds()),
                },
            )  # fmt: skip
            run.summary.deposits += 1
            _check_paid(run, moved)  # enough confirmations already (a watcher catching up): confirmed now
            return
        if status is S.PAID and (
            payment.transaction_hash != ev.transaction_hash or payment.deposit_block_hash != ev.block_hash
        ):
            # Only one deposit per deal exists on a chain: the one recorded was on a fork that is gone.
            lifecycle.move(
                store, payment, to=None, actor=run.chain_actor, event_type="deposit_seen",
                message=f"Deposit {ev.transaction_hash} now in block {ev.block_number} (a reorg moved it)",
                changes=_deposit_fields(run, ev),
            )  # fmt: skip
            run.summary.redeposits += 1
        # else: seen before, or cancelling (the cancel worker refunds it), confirmed, final

    lifecycle.optimistic(lambda: store.get(payment_id) if payment_id else None, decide, exhausted=run.skip)


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
            changes={"confirmation_status": status, "confirmed_at": iso(utcnow())},
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
def watch_all(deps: WatcherDeps, now: datetime) -> dict[str, Any]:
    """A run for every network with a diamond; one network's failure (its RPC down) never stops the others."""
    report: list[dict[str, Any]] = []
    networks = sorted(deps.catalog.list(Network), key=lambda n: n.id)
    for network in networks:
        if not network.diamond_address:
            continue
        try:
            report.append({**watch_network(deps, network, now).as_dict(), "ok": True})
        except Exception as exc:  # noqa: BLE001 - reported, and the next run is the retry
            # ChainError messages are redacted by the client (no RPC URL); of anything else only the type.
            error = f"ChainError: {exc}" if isinstance(exc, ChainError) else type(exc).__name__
            set_correlation_id(None)
            logger.error("chain watch failed", extra={"network_id": network.id, "error": error})
            metrics.count("WatchFailures", network=network.name or network.id, rollup=True)
            report.append({"network_id": network.id, "ok": False, "error": error})
    return {"networks": report}
