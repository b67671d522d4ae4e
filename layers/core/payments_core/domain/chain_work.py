"""The chain workers' logic: create a payment's deal exactly once, cancel it, and what the watcher
concludes from the chain. Pure domain: the chain is reached through the `Chain` protocol (implemented
by payments_chain.client.DiamondClient, which alone imports web3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from payments_core import metrics
from payments_core.domain import lifecycle
from payments_core.domain.entities import Network, Payment, Wallet
from payments_core.domain.lifecycle import Actor
from payments_core.domain.stores import CatalogStore, PaymentStore
from payments_core.models.payments import PaymentStatus as S
from payments_core.observability import logger


class ChainError(Exception):
    """An RPC failure, timeout or revert. Retried by the queue (with backoff) unless `reverted`."""

    def __init__(self, message: str, *, reverted: bool = False) -> None:
        super().__init__(message)
        self.reverted = reverted


class DealStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class CreatedDeal:
    deal_id: int
    transaction_hash: str
    block_number: int
    block_hash: str | None = None  # the block's hash as the transaction's receipt (or log) gave it


@dataclass(frozen=True, slots=True)
class SentTransaction:
    transaction_hash: str
    block_number: int
    refunded: bool | None = None  # cancelDeal: its DealCancelled event's flag (None: no such event read)


@dataclass(frozen=True, slots=True)
class DealInfo:
    deal_id: int
    ref: str
    creator: str
    payee: str
    token: str
    amount: int
    expires_at: int
    payer: str
    status: DealStatus


@dataclass(frozen=True, slots=True)
class ChainEvent:
    name: str  # Deposited | DealCreated | DealCancelled
    deal_id: int
    args: dict[str, Any]
    block_number: int
    block_hash: str
    transaction_hash: str
    log_index: int
    removed: bool = False


class Chain(Protocol):
    def deal_id_of(self, ref: str) -> int: ...
    def find_created(self, ref: str) -> CreatedDeal | None: ...
    def get_deal(self, deal_id: int) -> DealInfo: ...
    def create_deal(
        self, private_key: str, *, ref: str, payee: str, token: str, amount: int, expires_at: int
    ) -> CreatedDeal: ...
    def cancel_deal(self, private_key: str, deal_id: int) -> SentTransaction: ...


class WalletKeys(Protocol):
    def private_key(self, wallet_id: str) -> str: ...


@dataclass
class ChainDeps:
    payments: PaymentStore
    catalog: CatalogStore
    wallet_keys: WalletKeys
    chain_for: Callable[[Network], Chain]  # a network -> its diamond
    worker: str = "chain-worker"
    _networks: dict[str, Network] = field(default_factory=dict)

    def network(self, network_id: str) -> Network:
        if network_id not in self._networks:
            found = self.catalog.get(Network, network_id)
            if found is None:
                raise ChainError(f"network {network_id} not found", reverted=True)
            self._networks[network_id] = found
        return self._networks[network_id]


def signing_wallet_id(deps: ChainDeps, payment: Payment) -> str:
    """The payment's wallet (its owner wallet where one is set), else the network's platform wallet."""
    wallet_id = payment.wallet_id
    if wallet_id:
        wallet = deps.catalog.get(Wallet, wallet_id)
        if wallet and wallet.owner_wallet_id:
            return wallet.owner_wallet_id
        return wallet_id
    platform = deps.network(payment.network_id).platform_wallet_id
    if not platform:
        raise ChainError("no signing wallet: the payment has none and its network no platform wallet", reverted=True)
    return platform


def _expires_at(payment: Payment) -> int:
    return int(datetime.fromisoformat(payment.expires_at).timestamp())


def _ref(payment: Payment) -> str:
    if payment.deal_ref is None:  # every web3 payment has one from its create
        raise ChainError(f"payment {payment.id} has no deal ref", reverted=True)
    return payment.deal_ref


def create_deal(deps: ChainDeps, payment_id: str) -> str:
    """Process one create-deal message; returns what happened (for logs and tests).

    Exactly once: the payment is claimed (pending -> sending) before anything is signed; a redelivered
    message finds it `sending` and first asks the chain whether the deal exists (by its ref), so a crash
    after the transaction was sent ends with that one deal, never a second.
    """

    def decide(payment: Payment | None) -> str:
        if payment is None:
            return "unknown payment"
        status = payment.status
        if status is S.PENDING:
            claimed = lifecycle.claim_for_sending(deps.payments, payment, deps.worker)
            if claimed is None:
                raise lifecycle.ReadAgain  # moved meanwhile: decide on what it is now
            payment = claimed
        elif status is S.CANCELLING and payment.deal_id is None:
            # Cancelled while (maybe) being sent: record the deal if it exists, never create one now.
            chain = deps.chain_for(deps.network(payment.network_id))
            found = chain.find_created(_ref(payment))
            if found is not None:
                _record_deal(deps, payment, found)
                return "recorded deal of a cancelling payment"
            return "skipped: cancelling"
        elif status is not S.SENDING:
            return f"skipped: {status}"

        chain = deps.chain_for(deps.network(payment.network_id))
        ref = _ref(payment)
        created = chain.find_created(ref)
        if created is None:
            fresh = deps.payments.get(payment_id) or payment
            if fresh.status is not S.SENDING:
                raise lifecycle.ReadAgain  # cancelled meanwhile: do not create
            if payment.token_address is None or payment.amount_units is None:
                raise ChainError(f"payment {payment.id} has no token or amount", reverted=True)
            key = deps.wallet_keys.private_key(signing_wallet_id(deps, payment))
            try:
                created = chain.create_deal(
                    key,
                    ref=ref,
                    payee=payment.payment_address,
                    token=payment.token_address,
                    amount=payment.amount_units,
                    expires_at=_expires_at(payment),
                )
            except ChainError as exc:
                if not exc.reverted:
                    raise
                created = chain.find_created(ref)  # RefAlreadyUsed: a concurrent send won
                if created is None:
                    raise
        return _record_deal(deps, payment, created)

    return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=_kept_changing)


def _kept_changing() -> NoReturn:
    raise ChainError("the payment kept changing while its deal was worked on")  # retried by the queue


def _record_deal(deps: ChainDeps, payment: Payment, created: CreatedDeal) -> str:
    def decide(current: Payment) -> str:
        if current.deal_id == created.deal_id:
            return "deal already recorded"
        if current.status in (S.CANCELLED, S.EXPIRED):
            # The cancel worker found no deal and finished; this late deal must not stay open.
            chain = deps.chain_for(deps.network(current.network_id))
            key = deps.wallet_keys.private_key(signing_wallet_id(deps, current))
            sent = chain.cancel_deal(key, created.deal_id)
            lifecycle.move(
                deps.payments, current, to=None, actor=Actor("chain", deps.worker), event_type="deal_created",
                message=f"Deal {created.deal_id} created late and cancelled at once ({sent.transaction_hash})",
                changes={"deal_id": created.deal_id, "deal_transaction_hash": created.transaction_hash},
            )  # fmt: skip
            return "late deal cancelled"
        lifecycle.record_deal_created(
            deps.payments, current, deal_id=created.deal_id, transaction_hash=created.transaction_hash,
            worker=deps.worker, block_number=created.block_number or None, block_hash=created.block_hash,
        )  # fmt: skip
        return "deal created"

    return lifecycle.optimistic(lambda: deps.payments.get(payment.id) or payment, decide, exhausted=_kept_changing)


def mark_send_failed(deps: ChainDeps, payment_id: str, reason: str) -> bool:
    """The last delivery of a create-deal message failed: the payment shows it (retry-send re-queues)."""

    def decide(payment: Payment | None) -> bool:
        if payment is None or payment.status not in (S.PENDING, S.SENDING):
            return False
        lifecycle.move(
            deps.payments, payment, to=S.SEND_FAILED, actor=Actor("system", deps.worker),
            event_type="send_failed", message=f"createDeal failed after retries: {reason}",
            changes={"deal_may_exist": True},
        )  # fmt: skip
        metrics.count("DealSendsFailed", metadata={"payment_id": payment_id})
        return True

    return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=lambda: False)


def cancel_deal(deps: ChainDeps, payment_id: str) -> str:
    """Process one cancel message: cancelDeal on chain, then cancelled (or refunded, or expired)."""
    return lifecycle.optimistic(
        lambda: deps.payments.get(payment_id), lambda payment: _cancel(deps, payment), exhausted=_kept_changing
    )


def _cancel(deps: ChainDeps, payment: Payment | None) -> str:
    if payment is None:
        return "unknown payment"
    if payment.status in (S.CANCELLED, S.EXPIRED):
        return _refund_late_deposit(deps, payment)
    if payment.status is not S.CANCELLING:
        return f"skipped: {payment.status}"
    chain = deps.chain_for(deps.network(payment.network_id))
    deal_id, deal = _own_deal(chain, payment)
    expire = payment.expire_on_cancel
    tx_hash = None
    if deal is None:
        target, message = (S.EXPIRED if expire else S.CANCELLED), "No deal existed on chain"
    else:
        if deal.status in (DealStatus.OPEN, DealStatus.PAID):
            key = deps.wallet_keys.private_key(signing_wallet_id(deps, payment))
            sent = chain.cancel_deal(key, deal_id)
            tx_hash = sent.transaction_hash
            # What the chain did, not what it was before: a deposit mined between the read above and the
            # cancelDeal makes it a refund (the DealCancelled event's flag says so).
            refunded = sent.refunded if sent.refunded is not None else deal.status is DealStatus.PAID
        else:  # already done on chain (a redelivery after the transaction was mined)
            refunded = deal.status is DealStatus.REFUNDED
        if refunded:
            target, message = S.REFUNDED, f"Deal {deal_id} cancelled on chain; the payer was refunded"
        elif expire:
            target, message = S.EXPIRED, f"Deal {deal_id} expired unpaid and was cancelled on chain"
        else:
            target, message = S.CANCELLED, f"Deal {deal_id} cancelled on chain"
    lifecycle.move(
        deps.payments, payment, to=target, actor=Actor("chain", deps.worker),
        event_type=target.value if target is not S.CANCELLED else "cancelled", message=message,
        changes={"deal_id": deal_id or None, "cancel_transaction_hash": tx_hash},
    )  # fmt: skip
    logger.info("deal cancelled", extra={"payment_id": payment.id, "deal_id": deal_id, "status": target.value})
    return target.value


def _own_deal(chain: Chain, payment: Payment) -> tuple[int, DealInfo | None]:
    """The payment's deal on chain: the recorded deal id when the contract's deal for it has the payment's
    ref, else the deal of the ref (`dealIdOf`: a reorg may have given the recorded id to another payment's
    deal). (0, None) when the chain has no deal for the ref."""
    ref = _ref(payment)
    if payment.deal_id is not None:
        try:
            deal = chain.get_deal(payment.deal_id)
        except ChainError as exc:
            if not exc.reverted:
                raise
        else:
            if deal.ref.lower() == ref.lower():
                return payment.deal_id, deal
    deal_id = chain.deal_id_of(ref)
    return (deal_id, chain.get_deal(deal_id)) if deal_id else (0, None)


def _refund_late_deposit(deps: ChainDeps, payment: Payment) -> str:
    """A cancel message for a payment that is final unpaid (cancelled, expired): the chain watcher saw a
    deposit into its deal (a deal that existed after all, paid by a payer who still had the widget open).
    cancelDeal refunds the payer; the payment stays final and its log says so."""
    chain = deps.chain_for(deps.network(payment.network_id))
    deal_id, deal = _own_deal(chain, payment)
    if deal is None or deal.status is not DealStatus.PAID:
        return f"skipped: {payment.status}"
    key = deps.wallet_keys.private_key(signing_wallet_id(deps, payment))
    sent = chain.cancel_deal(key, deal_id)
    lifecycle.move(
        deps.payments, payment, to=None, actor=Actor("chain", deps.worker), event_type="refunded",
        message=f"Deal {deal_id} was paid after the payment was {payment.status}; cancelDeal refunded the payer",
        changes={"deal_id": deal_id, "cancel_transaction_hash": sent.transaction_hash},
    )  # fmt: skip
    metrics.count("LateDepositsRefunded", metadata={"payment_id": payment.id, "deal_id": deal_id})
    logger.warning("late deposit refunded", extra={"payment_id": payment.id, "deal_id": deal_id})
    return "late deposit refunded"
