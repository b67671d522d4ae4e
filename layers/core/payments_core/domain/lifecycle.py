"""Moving payments through the status machine: every move is a conditional write on the status and
version the payment was read with, so two racing requests never both win; the loser re-reads and
decides again on what it finds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, NoReturn

from payments_core import metrics
from payments_core.domain import status as machine
from payments_core.domain.access import Principal, ensure_reaches
from payments_core.domain.entities import Payment, PaymentChanges, PaymentEvent
from payments_core.domain.payments import (
    PaymentDeps,
    iso,
    read_payment,
    send_create_deal,
    signing_group,
    to_response,
)
from payments_core.domain.stores import DealQueue, PaymentStore, StaleWrite
from payments_core.errors import Conflict, DomainError
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentMethod, PaymentResponse
from payments_core.models.payments import PaymentStatus as S
from payments_core.observability import correlation_id

MAX_RACE_ATTEMPTS = 5
RETRY_SEND_DEDUP = timedelta(seconds=10)
"""A second retry-send within this window of the last one is the same click: answered, not re-sent."""


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # integration | system | chain | payer
    id: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.actor_type, principal.actor_id)


class IllegalTransition(Conflict):
    code = "illegal_status_transition"


class ReadAgain(Exception):
    """Raised by a `decide` of `optimistic` that wrote a step and must decide again on the result."""


class _First:
    pass


_READ = _First()  # `optimistic(first=...)` not given: the first attempt reads too


def optimistic[R, T](
    read: Callable[[], R],
    decide: Callable[[R], T],
    *,
    exhausted: Callable[[], T],
    first: R | _First = _READ,
    attempts: int = MAX_RACE_ATTEMPTS,
) -> T:
    """The optimistic loop, bounded: read the payment, `decide` on it (its writes are conditional on what
    was read: `move`, `store.update`), and on a stale write (StaleWrite: someone changed it meanwhile) or a
    `ReadAgain` read it again and decide again, at most `attempts` times; then `exhausted()` answers.
    `first`: what the first attempt decides on when the caller has just read it (an index entry)."""
    current = first
    for _ in range(attempts):
        if isinstance(current, _First):
            current = read()
        try:
            return decide(current)
        except (StaleWrite, ReadAgain):
            current = _READ
    return exhausted()


def _too_fast() -> NoReturn:
    raise Conflict("The payment is changing too fast; try again", code="concurrent_update")


def event(event_type: str, message: str, actor: Actor, status_before: S | None) -> PaymentEvent:
    """What a change writes onto the payment for its log entry (read by the stream's log writer)."""
    return PaymentEvent(event_type, message, actor.type, actor.id, status_before, correlation_id())


def move(
    store: PaymentStore,
    payment: Payment,
    *,
    to: S | None,
    actor: Actor,
    event_type: str,
    message: str,
    changes: PaymentChanges | None = None,
    now: datetime | None = None,
) -> Payment:
    """Write one change of `payment` (to status `to`, or a change in place when `to` is None)."""
    return store.update(payment, move_changes(payment, to=to, actor=actor, event_type=event_type, message=message,
                                              changes=changes, now=now))  # fmt: skip


def move_changes(
    payment: Payment,
    *,
    to: S | None,
    actor: Actor,
    event_type: str,
    message: str,
    changes: PaymentChanges | None = None,
    now: datetime | None = None,
) -> PaymentChanges:
    """What `move` writes (IllegalTransition when the status machine forbids it): for a write of several."""
    current = payment.status
    target = current if to is None else to
    if target != current and not machine.can_move(current, target):
        raise IllegalTransition(
            f"A payment cannot go from {current} to {target}",
            extra={"status": current.value},
        )
    return {
        **(changes or {}),
        "status": target,
        "updated_at": iso(now or utcnow()),
        "last_event": event(event_type, message, actor, current),
    }


def cancel_message(payment: Payment) -> dict[str, Any]:
    return {
        "type": "cancel_deal",
        "payment_id": payment.id,
        "network_id": payment.network_id,
        "wallet_id": payment.wallet_id,
        "ref": payment.deal_ref,
        "deal_id": str(payment.deal_id) if payment.deal_id is not None else None,
    }


def send_cancel_deal(queue: DealQueue, payment: Payment) -> str:
    # The same queue and group (the signer's lane) as the payment's create-deal message: FIFO delivers the
    # cancel only after the create has ended, so a createDeal in flight is mined (and seen) first.
    return queue.send(cancel_message(payment), group=signing_group(payment), dedup_id=f"{payment.id}:cancel")


_NOT_CANCELLABLE = {
    S.REFUNDED: ("payment_already_refunded", "The payment was refunded already"),
    S.EXPIRED: ("payment_expired", "The payment expired"),
    S.FAILED: ("payment_failed", "The payment failed"),
    S.FAILED_CAPTURED: ("payment_failed", "The payment failed after capture; it is being refunded"),
}


def cancel_payment(deps: PaymentDeps, principal: Principal, payment_id: str) -> None:
    """Cancel (202): at once where no deal can exist yet, else through cancelDeal on chain."""
    actor = Actor.of(principal)

    def decide(payment: Payment) -> None:
        ensure_reaches(principal, payment.node_path, what="payment's node")
        current = payment.status
        if current is S.CANCELLING and payment.cancel_failed_reason is not None:
            _cancel_again(deps.payments, deps.deal_queue, payment, actor)
            return
        if current in (S.CANCELLING, S.CANCELLED):
            return  # asked before: accepted again, nothing sent twice
        if current in _NOT_CANCELLABLE:
            code, message = _NOT_CANCELLABLE[current]
            raise Conflict(message, code=code, extra={"status": current.value})
        web3 = payment.payment_method is PaymentMethod.WEB3
        # Once a worker has claimed it, a deal may exist even back in pending (retry-send after send-failed).
        deal_may_exist = current in machine.DEAL_MAY_EXIST or payment.deal_may_exist
        if web3 and deal_may_exist:
            moved = move(
                deps.payments, payment, to=S.CANCELLING, actor=actor, event_type="cancel_requested",
                message="Cancel requested; cancelDeal queued",
            )  # fmt: skip
            send_cancel_deal(deps.deal_queue, moved)
            return
        if current in (S.PENDING, S.HOLD):
            move(
                deps.payments, payment, to=S.CANCELLED, actor=actor, event_type="cancelled",
                message="Cancelled before any deal or charge existed",
            )  # fmt: skip
            return
        raise Conflict(
            f"A {payment.payment_method} payment in status {current} cannot be cancelled here",
            code="payment_not_cancellable",
            extra={"status": current.value},
        )

    optimistic(lambda: read_payment(deps, payment_id), decide, exhausted=_too_fast)


def _cancel_again(store: PaymentStore, deal_queue: DealQueue, payment: Payment, actor: Actor) -> None:
    """A cancel that failed for good (`cancel_failed_reason`), asked again once its cause is fixed: queued again."""
    now = utcnow()
    failed = payment.cancel_failed_reason.code if payment.cancel_failed_reason else "a failure"
    moved = move(
        store, payment, to=None, actor=actor, event_type="cancel_requested",
        message=f"Cancel requested again after {failed}; cancelDeal queued",
        changes={"cancel_failed_reason": None, "cancel_sent_at": iso(now)},
        now=now,
    )  # fmt: skip
    # Its own de-duplication id: the first cancel's must not swallow it.
    deal_queue.send(
        cancel_message(moved), group=signing_group(moved), dedup_id=f"{moved.id}:cancel:{int(now.timestamp())}"
    )


_NOT_RETRYABLE = {
    S.SENDING: ("payment_has_deal", "The payment's deal is being created"),
    S.OPEN: ("payment_has_deal", "The payment already has its deal"),
    S.CANCELLING: ("payment_cancelled", "The payment is being cancelled"),
    S.CANCELLED: ("payment_cancelled", "The payment was cancelled"),
    S.EXPIRED: ("payment_expired", "The payment expired"),
    S.PAID: ("payment_paid", "The payment is paid"),
    S.CONFIRMED: ("payment_paid", "The payment is paid"),
    S.REFUNDED: ("payment_paid", "The payment was paid and refunded"),
}


def retry_send(deps: PaymentDeps, principal: Principal, payment_id: str) -> PaymentResponse:
    """Re-queue a web3 payment still waiting for its deal; a double click sends one message."""
    actor = Actor.of(principal)

    def decide(payment: Payment) -> PaymentResponse:
        ensure_reaches(principal, payment.node_path, what="payment's node")
        current = payment.status
        if payment.payment_method is not PaymentMethod.WEB3:
            raise DomainError("Only web3 payments are sent to the chain", code="payment_not_web3")
        if current not in (S.PENDING, S.SEND_FAILED):
            code, message = _NOT_RETRYABLE.get(current, ("payment_not_retryable", f"The payment is {current}"))
            raise DomainError(message, code=code, extra={"status": current.value})
        now = utcnow()
        retried_at = payment.retried_at
        if current is S.PENDING and retried_at and now - datetime.fromisoformat(retried_at) < RETRY_SEND_DEDUP:
            return to_response(payment)  # the same click again: already re-sent
        retry_count = payment.retry_count + 1
        moved = move(
            deps.payments, payment, to=S.PENDING, actor=actor, event_type="retry_sent",
            message=f"Re-sent to the create-deal queue (retry {retry_count})",
            changes={"retry": True, "retry_count": retry_count, "retried_at": iso(now), "send_failed_reason": None},
            now=now,
        )  # fmt: skip
        send_create_deal(deps.deal_queue, moved)
        return to_response(moved)

    return optimistic(lambda: read_payment(deps, payment_id), decide, exhausted=_too_fast)


# ---- system moves: the chain workers (domain.chain_work) and the watcher make them; the race tests too


def claim_for_sending(store: PaymentStore, payment: Payment, worker: str) -> Payment | None:
    """The create-deal worker's first step: pending -> sending, or None when it must skip the payment
    (cancelled, expired, or already claimed)."""
    if payment.status is not S.PENDING:
        return None
    try:
        return store.update(payment, _claim(payment, worker))
    except StaleWrite:
        return None


def claim_all_for_sending(store: PaymentStore, payments: Sequence[Payment], worker: str) -> list[Payment] | None:
    """claim_for_sending of several pending payments in one write: all claimed, or none (None: one of them moved
    meanwhile; the caller claims them one by one)."""
    if any(p.status is not S.PENDING for p in payments):
        return None
    try:
        return store.update_all([(p, _claim(p, worker)) for p in payments])
    except StaleWrite:
        return None


def _claim(payment: Payment, worker: str) -> PaymentChanges:
    return move_changes(
        payment, to=S.SENDING, actor=Actor("system", worker), event_type="deal_sending",
        message="The create-deal worker is sending createDeal", changes={"deal_may_exist": True},
    )  # fmt: skip


def record_deal_created(
    store: PaymentStore,
    payment: Payment,
    *,
    deal_id: int,
    transaction_hash: str,
    worker: str,
    block_number: int | None = None,
    block_hash: str | None = None,
) -> Payment:
    """sending -> open with the deal; a payment cancelled meanwhile stays cancelling, with its deal id.

    The createDeal transaction is kept as `deal_transaction_hash`; `transaction_hash` is the payer's deposit
    (NoRamp's transaction: the payment's own), set by the chain watcher once the deposit is seen. The deal
    is recorded unverified (`deal_verified` False) with its block: the chain watcher checks it at the
    network's required confirmations (watcher.verify_deals), and the widget answers only a verified deal."""
    deal = CreatedDealOf(payment, deal_id, transaction_hash, block_number, block_hash)
    moved = store.update(payment, _deal_created(deal, worker))
    metrics.count("DealsCreated", metadata={"payment_id": payment.id})
    return moved


class CreatedDealOf(NamedTuple):
    """A deal created on chain for a payment (record_all_deals_created)."""

    payment: Payment
    deal_id: int
    transaction_hash: str
    block_number: int | None
    block_hash: str | None


def record_all_deals_created(store: PaymentStore, deals: Sequence[CreatedDealOf], worker: str) -> list[Payment] | None:
    """record_deal_created of several `sending` payments in one write: all recorded (each sending -> open), or
    none (None: one of them moved meanwhile; the caller records them one by one)."""
    if any(d.payment.status is not S.SENDING for d in deals):
        return None
    updates = [(d.payment, _deal_created(d, worker)) for d in deals]
    try:
        moved = store.update_all(updates)
    except StaleWrite:
        return None
    for d in deals:
        metrics.count("DealsCreated", metadata={"payment_id": d.payment.id})
    return moved


def _deal_created(deal: CreatedDealOf, worker: str) -> PaymentChanges:
    return move_changes(
        deal.payment, to=S.OPEN if deal.payment.status is S.SENDING else None, actor=Actor("chain", worker),
        event_type="deal_created", message=f"Deal {deal.deal_id} created on chain",
        changes={
            "deal_id": deal.deal_id, "deal_transaction_hash": deal.transaction_hash,
            "deal_block_number": deal.block_number, "deal_block_hash": deal.block_hash, "deal_verified": False,
        },
    )  # fmt: skip
