"""The chain workers' logic: create a payment's deal exactly once, cancel it, and what the watcher
concludes from the chain. Pure domain: the chain is reached through the `Chain` protocol (implemented
by payments_chain.client.DiamondClient, which alone imports web3)."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple, NoReturn, Protocol

from payments_core import metrics
from payments_core.domain import lifecycle
from payments_core.domain.entities import FailureReason, Network, Payment, Wallet
from payments_core.domain.lifecycle import Actor, CreatedDealOf
from payments_core.domain.stores import CatalogStore, PaymentStore
from payments_core.models.payments import PaymentStatus as S
from payments_core.observability import logger


class ChainFailure(StrEnum):
    """The machine-readable reason of a chain error (`ChainError.reason`, a payment's `send_failed_reason` or
    `cancel_failed_reason` code). TERMINAL ones can never succeed by trying again: the payment's work ends at
    once; the others are retried with backoff (decision 0040)."""

    # transient: the RPC or the mempool, retried with backoff
    RPC_UNAVAILABLE = "rpc_unavailable"
    TIMEOUT = "timeout"
    RPC_ERROR = "rpc_error"
    NO_RECEIPT = "no_receipt"
    NONCE_TOO_LOW = "nonce_too_low"
    NONCE_TOO_HIGH = "nonce_too_high"
    REPLACEMENT_UNDERPRICED = "replacement_underpriced"
    UNDERPRICED = "underpriced"
    ALREADY_KNOWN = "already_known"
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the signer's gas money: an operator funds it
    REVERTED_ON_CHAIN = "reverted_on_chain"  # mined with status 0: the next attempt's estimate says why
    # reverts the recovery expects (a redelivery, a concurrent send): decided again on what the chain holds
    REF_ALREADY_USED = "ref_already_used"
    DEAL_NOT_FOUND = "deal_not_found"
    DEAL_CLOSED = "deal_closed"
    # terminal: the deal (or its cancel) can never be made as it is
    PAYEE_REFUSED = "payee_refused"
    INVALID_PAYEE = "invalid_payee"
    TOKEN_REFUSED = "token_refused"  # noqa: S105 - a reason code, no secret
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - a reason code, no secret
    AMOUNT_REFUSED = "amount_refused"
    EXPIRY_REFUSED = "expiry_refused"
    REVERTED = "reverted"  # any other revert
    SIGNER_NOT_ALLOWED = "signer_not_allowed"
    SIGNER_MISMATCH = "signer_mismatch"  # no catalog wallet has the deal's on-chain creator's address
    NO_DIAMOND = "no_diamond"
    NETWORK_NOT_FOUND = "network_not_found"
    NO_SIGNING_WALLET = "no_signing_wallet"
    NO_SIGNING_KEY = "no_signing_key"
    INVALID_SIGNING_KEY = "invalid_signing_key"
    DEAL_DATA_MISSING = "deal_data_missing"
    # how a payment's work ended without a chain error of its own
    RETRIES_EXHAUSTED = "retries_exhausted"  # the last delivery of a transient failure
    SEND_STUCK = "send_stuck"  # the watcher found it `sending` past SENDING_GIVE_UP_AFTER, no deal on chain
    CANCEL_STUCK = "cancel_stuck"  # the watcher found it `cancelling` past CANCEL_GIVE_UP_AFTER


TERMINAL_FAILURES = frozenset(
    {
        ChainFailure.PAYEE_REFUSED,
        ChainFailure.INVALID_PAYEE,
        ChainFailure.TOKEN_REFUSED,
        ChainFailure.INVALID_TOKEN,
        ChainFailure.AMOUNT_REFUSED,
        ChainFailure.EXPIRY_REFUSED,
        ChainFailure.REVERTED,
        ChainFailure.SIGNER_NOT_ALLOWED,
        ChainFailure.SIGNER_MISMATCH,
        ChainFailure.NO_DIAMOND,
        ChainFailure.NETWORK_NOT_FOUND,
        ChainFailure.NO_SIGNING_WALLET,
        ChainFailure.NO_SIGNING_KEY,
        ChainFailure.INVALID_SIGNING_KEY,
        ChainFailure.DEAL_DATA_MISSING,
    }
)


class ChainError(Exception):
    """An RPC failure, timeout or revert, with its machine-readable `reason` (a ChainFailure value; None: an
    unclassified failure, retried). `terminal` errors end the payment's work at once; the others are retried
    by the queue with backoff. `reverted`: the chain refused it (the recovery reads what the chain holds)."""

    def __init__(self, message: str, *, reverted: bool = False, reason: str | None = None) -> None:
        super().__init__(message)
        self.reverted = reverted
        self.reason = reason

    @property
    def terminal(self) -> bool:
        return self.reason in TERMINAL_FAILURES


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
    def create_deals(self, key: str, requests: list[tuple[str, str, str, int, int]]) -> list[CreatedDeal | None]: ...
    def settle(self, private_key: str) -> None:
        """Return once no transaction of this key is pending: every one is mined or replaced (a no-op at its
        nonce), so none sent before can be mined afterwards."""


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
                raise ChainError(
                    f"network {network_id} not found", reverted=True, reason=ChainFailure.NETWORK_NOT_FOUND
                )
            self._networks[network_id] = found
        return self._networks[network_id]


def signing_wallet_id(deps: ChainDeps, payment: Payment) -> str:
    """The wallet whose key signs the payment's createDeal: the one resolved when it was created (its lane,
    `signer_wallet_id`); a payment stored before that resolves it from the catalog as create did: its wallet
    (its owner wallet where one is set), else the network's platform wallet."""
    if payment.signer_wallet_id:
        return payment.signer_wallet_id
    wallet_id = payment.wallet_id
    if wallet_id:
        wallet = deps.catalog.get(Wallet, wallet_id)
        if wallet and wallet.owner_wallet_id:
            return wallet.owner_wallet_id
        return wallet_id
    platform = deps.network(payment.network_id).platform_wallet_id
    if not platform:
        raise ChainError(
            "no signing wallet: the payment has none and its network no platform wallet",
            reverted=True,
            reason=ChainFailure.NO_SIGNING_WALLET,
        )
    return platform


def creator_wallet_id(deps: ChainDeps, payment: Payment, deal: DealInfo) -> str:
    """The wallet whose address is the deal's on-chain creator (the only key the contract lets cancel it): the
    payment's signer when its address is the creator's, else the catalog's wallet of that address (a wallet
    that signs for others first). None matches: ChainError SIGNER_MISMATCH (the cancel can never succeed)."""
    creator = deal.creator.lower()
    try:
        signer = deps.catalog.get(Wallet, signing_wallet_id(deps, payment))
    except ChainError:
        signer = None
    if signer is not None and signer.address.lower() == creator:
        return signer.id
    matching = sorted(
        (w for w in deps.catalog.list(Wallet) if w.address.lower() == creator),
        key=lambda w: (w.owner_wallet_id is not None, w.id),
    )
    if not matching:
        raise ChainError(
            f"deal {deal.deal_id} was created by {deal.creator}, the address of no wallet here",
            reverted=True,
            reason=ChainFailure.SIGNER_MISMATCH,
        )
    return matching[0].id


def _cancel_on_chain(deps: ChainDeps, chain: Chain, payment: Payment, deal: DealInfo) -> SentTransaction:
    """cancelDeal, signed by the deal's creator (read from the contract, not re-derived from the catalog)."""
    key = deps.wallet_keys.private_key(creator_wallet_id(deps, payment, deal))
    return chain.cancel_deal(key, deal.deal_id)


class ChainMessage(NamedTuple):
    """One message of a signer's lane (DealQueue): which work, for which payment. The message carries more
    (what the create needs, for an operator reading the queue); the worker reads the payment itself."""

    kind: Literal["create_deal", "cancel_deal"]
    payment_id: str


def parse_message(body: str) -> ChainMessage | None:
    """A DealQueue message body as a ChainMessage, None when it is not one (malformed: dead-lettered at once)."""
    try:
        message = json.loads(body)
        kind, payment_id = message.get("type"), message.get("payment_id")
    except (ValueError, AttributeError):
        return None
    if kind not in ("create_deal", "cancel_deal") or not isinstance(payment_id, str) or not 0 < len(payment_id) <= 100:
        return None
    return ChainMessage(kind, payment_id)


def work_message(deps: ChainDeps, message: ChainMessage) -> str:
    """One message of a signer's lane, by its kind: create_deal or cancel_deal."""
    if message.kind == "cancel_deal":
        return cancel_deal(deps, message.payment_id)
    return create_deal(deps, message.payment_id)


def _expires_at(payment: Payment) -> int:
    return int(datetime.fromisoformat(payment.expires_at).timestamp())


def _ref(payment: Payment) -> str:
    if payment.deal_ref is None:  # every web3 payment has one from its create
        raise ChainError(f"payment {payment.id} has no deal ref", reverted=True, reason=ChainFailure.DEAL_DATA_MISSING)
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
        # A payment no worker claimed before has no deal: the claim below is its first, so nothing to look up.
        deal_may_exist = status is not S.PENDING or payment.deal_may_exist
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
        created = chain.find_created(ref) if deal_may_exist else None
        if created is None:
            # Read again after the lookup (a cancel meanwhile: do not create); a fresh claim is that read.
            fresh = (deps.payments.get(payment_id) or payment) if deal_may_exist else payment
            if fresh.status is not S.SENDING:
                raise lifecycle.ReadAgain
            if payment.token_address is None or payment.amount_units is None:
                raise ChainError(
                    f"payment {payment.id} has no token or amount", reverted=True, reason=ChainFailure.DEAL_DATA_MISSING
                )
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

    try:
        return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=_kept_changing)
    except ChainError as exc:
        if not exc.terminal:
            raise  # transient: the queue brings the message back with backoff
        return fail_send(deps, payment_id, failure_of(exc))


def create_deals_together(deps: ChainDeps, payment_ids: Sequence[str]) -> dict[str, str]:
    """Several create-deal messages of one lane in one `createDeals` transaction (decision 0045): what one
    batch of the deal worker does before it takes its messages one by one. Returns, per payment whose deal it
    created and recorded, what happened; the others it leaves to `create_deal` (the per-message path, which
    decides every one of them again on what it finds: an open payment is skipped in one read).

    An optimisation, never a second path to a wrong state: each payment is claimed (pending -> sending, or
    found `sending`: a redelivery, whose deal may exist and is looked up by its ref first) before anything is
    signed and read again just before the transaction (a cancel meanwhile drops it); the contract creates
    each ref at most once (all or nothing per ref); a payment it skips (a refused entry) or any chain error
    leaves its payments to the per-message path, which ends them as a single create would (a terminal
    failure `send-failed` at once, a transient one retried)."""
    done: dict[str, str] = {}
    claimed: list[Payment] = []
    may_exist: set[str] = set()  # payments a worker claimed before: their deal is looked up by ref first
    found = deps.payments.get_many(payment_ids)  # one read for the batch
    pending = [p for i in payment_ids if (p := found.get(i)) is not None and p.status is S.PENDING]
    # One write claims them all; when one moved meanwhile, each is claimed alone (a moved one is skipped).
    claims = lifecycle.claim_all_for_sending(deps.payments, pending, deps.worker) if len(pending) > 1 else None
    claimed_of = {p.id: p for p in claims or []}
    for payment_id in payment_ids:
        payment = found.get(payment_id)
        if payment is not None and (payment.status is S.SENDING or payment.deal_may_exist):
            may_exist.add(payment_id)
        if payment is not None and payment.status is S.PENDING:
            payment = claimed_of.get(payment_id) or lifecycle.claim_for_sending(deps.payments, payment, deps.worker)
        if payment is not None and payment.status is S.SENDING and payment.deal_ref is not None:
            claimed.append(payment)
    lanes: dict[tuple[str, str], list[Payment]] = {}
    for payment in claimed:
        try:
            lanes.setdefault((payment.network_id, signing_wallet_id(deps, payment)), []).append(payment)
        except ChainError:
            continue  # no signer: the per-message path ends it (terminal)

    def one_lane(lane: tuple[tuple[str, str], list[Payment]]) -> dict[str, str]:
        (network_id, signer), payments = lane
        try:
            return _create_in_one_transaction(deps, network_id, signer, payments, may_exist)
        except ChainError as exc:
            # Left to the per-message path, which retries or ends each payment as its own failure says.
            logger.warning(
                "createDeals not sent",
                extra={"network_id": network_id, "payments": len(payments), "reason": exc.reason},
            )
            return {}

    # Lanes are distinct keys (their nonces independent): their transactions are in flight at once, so a batch
    # holding several lanes waits one block, not one per lane. Each lane stays one transaction, in order.
    if len(lanes) == 1:
        done.update(one_lane(next(iter(lanes.items()))))
        return done
    with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        # Each thread runs in a copy of this context (the batch's receipt deadline is a context variable).
        futures = [pool.submit(contextvars.copy_context().run, one_lane, lane) for lane in lanes.items()]
        for future in futures:
            done.update(future.result())
    return done


def _create_in_one_transaction(
    deps: ChainDeps, network_id: str, signer: str, payments: list[Payment], may_exist: set[str]
) -> dict[str, str]:
    chain = deps.chain_for(deps.network(network_id))
    done: dict[str, str] = {}
    to_check: list[Payment] = []
    for payment in payments:
        # A redelivered (or retried) payment may have its deal already: recorded, never created twice.
        found = chain.find_created(_ref(payment)) if payment.id in may_exist else None
        if found is not None:
            done[payment.id] = _record_deal(deps, payment, found)
            continue
        to_check.append(payment)
    to_send: list[Payment] = []
    fresh_of = deps.payments.get_many([p.id for p in to_check]) if to_check else {}  # read again, just before
    for payment in to_check:
        fresh = fresh_of.get(payment.id)
        if fresh is None or fresh.status is not S.SENDING or fresh.token_address is None or fresh.amount_units is None:
            continue  # cancelled meanwhile, or nothing to send: the per-message path decides
        to_send.append(fresh)
    if not to_send:
        return done
    requests = [
        (_ref(p), p.payment_address, str(p.token_address), int(p.amount_units or 0), _expires_at(p)) for p in to_send
    ]
    results = chain.create_deals(deps.wallet_keys.private_key(signer), requests)
    made = [(payment, created) for payment, created in zip(to_send, results, strict=True) if created is not None]
    # One write records them all; when one moved meanwhile (a cancel), each is recorded alone, as it is now.
    recorded = lifecycle.record_all_deals_created(
        deps.payments,
        [CreatedDealOf(p, c.deal_id, c.transaction_hash, c.block_number or None, c.block_hash) for p, c in made],
        deps.worker,
    ) if len(made) > 1 else None  # fmt: skip
    for payment, created in made:
        done[payment.id] = "deal created" if recorded is not None else _record_deal(deps, payment, created)
    metrics.count("DealsBatched", value=len(done), network=deps.network(network_id).name or network_id)
    return done


def _kept_changing() -> NoReturn:
    raise ChainError("the payment kept changing while its deal was worked on")  # retried by the queue


def _record_deal(deps: ChainDeps, payment: Payment, created: CreatedDeal) -> str:
    def decide(current: Payment) -> str:
        if current.deal_id == created.deal_id:
            return "deal already recorded"
        if current.status in (S.CANCELLED, S.EXPIRED):
            # The cancel worker found no deal and finished; this late deal must not stay open.
            chain = deps.chain_for(deps.network(current.network_id))
            sent = _cancel_on_chain(deps, chain, current, chain.get_deal(created.deal_id))
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

    # Decided first on the payment as the caller last read or wrote it; a stale write reads it again.
    return lifecycle.optimistic(
        lambda: deps.payments.get(payment.id) or payment, decide, exhausted=_kept_changing, first=payment
    )


def mark_send_failed(deps: ChainDeps, payment_id: str, reason: str) -> bool:
    """The last delivery of a create-deal message failed: the payment shows it (retry-send re-queues)."""
    failure = FailureReason(ChainFailure.RETRIES_EXHAUSTED, f"createDeal failed after retries: {reason}")

    def decide(payment: Payment | None) -> bool:
        if payment is None or payment.status not in (S.PENDING, S.SENDING):
            return False
        send_failed(deps.payments, payment, failure, actor=Actor("system", deps.worker))
        return True

    return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=lambda: False)


def cancel_deal(deps: ChainDeps, payment_id: str) -> str:
    """Process one cancel message: cancelDeal on chain, then cancelled (or refunded, or expired). A cancel that
    can never succeed (a terminal chain error) is flagged on the payment at once (`cancel_failed`)."""
    try:
        return lifecycle.optimistic(
            lambda: deps.payments.get(payment_id), lambda payment: _cancel(deps, payment), exhausted=_kept_changing
        )
    except ChainError as exc:
        if not exc.terminal:
            raise  # transient: the queue brings the message back with backoff
        return fail_cancel(deps, payment_id, failure_of(exc))


def _cancel(deps: ChainDeps, payment: Payment | None) -> str:
    if payment is None:
        return "unknown payment"
    if payment.status in (S.CANCELLED, S.EXPIRED):
        return _refund_late_deposit(deps, payment)
    if payment.status is not S.CANCELLING:
        return f"skipped: {payment.status}"
    chain = deps.chain_for(deps.network(payment.network_id))
    deal_id, deal = _own_deal(chain, payment)
    if deal is None:
        # A createDeal of this payment may still be pending (its worker stopped waiting for it): once the
        # signer's pending transactions are mined or replaced, no deal can appear after this answer.
        chain.settle(deps.wallet_keys.private_key(signing_wallet_id(deps, payment)))
        deal_id, deal = _own_deal(chain, payment)
    expire = payment.expire_on_cancel
    tx_hash = None
    if deal is None:
        target, message = (S.EXPIRED if expire else S.CANCELLED), "No deal existed on chain"
    else:
        if deal.status in (DealStatus.OPEN, DealStatus.PAID):
            sent = _cancel_on_chain(deps, chain, payment, deal)
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
        changes={"deal_id": deal_id or None, "cancel_transaction_hash": tx_hash, "cancel_failed_reason": None},
    )  # fmt: skip
    logger.info("deal cancelled", extra={"payment_id": payment.id, "deal_id": deal_id, "status": target.value})
    return target.value


# ---------------------------------------------------------------------------------------------- terminal moves
def failure_of(exc: ChainError) -> FailureReason:
    """A chain error as a payment shows it (its message is redacted by the client: no key, no RPC URL)."""
    return FailureReason(str(exc.reason or ChainFailure.RPC_ERROR), str(exc)[:300])


def send_failed(store: PaymentStore, payment: Payment, failure: FailureReason, *, actor: Actor) -> Payment:
    """pending/sending -> send-failed with its reason (the payment's `send_failed_reason` and its log entry)."""
    moved = lifecycle.move(
        store, payment, to=S.SEND_FAILED, actor=actor, event_type="send_failed",
        message=f"createDeal failed ({failure.code}): {failure.message}",
        changes={"deal_may_exist": True, "send_failed_reason": failure},
    )  # fmt: skip
    metrics.count("DealSendsFailed", metadata={"payment_id": payment.id, "reason": failure.code})
    logger.warning("deal send failed", extra={"payment_id": payment.id, "reason": failure.code})
    return moved


def fail_send(deps: ChainDeps, payment_id: str, failure: FailureReason) -> str:
    """A terminal createDeal failure: the payment is `send-failed` at once and its message is done (it never
    holds its lane for another attempt). A payment cancelled meanwhile is the cancel worker's."""

    def decide(payment: Payment | None) -> str:
        if payment is None:
            return "unknown payment"
        if payment.status not in (S.PENDING, S.SENDING):
            return f"skipped: {payment.status} ({failure.code})"
        send_failed(deps.payments, payment, failure, actor=Actor("system", deps.worker))
        return f"send-failed: {failure.code}"

    return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=_kept_changing)


def cancel_failed(store: PaymentStore, payment: Payment, failure: FailureReason, *, actor: Actor) -> Payment:
    """A cancel that can never succeed: the payment stays `cancelling` with `cancel_failed_reason` (the API shows
    it; the watcher no longer sends it again; `CancelsFailed` is alarmed). A new cancel request tries again."""
    moved = lifecycle.move(
        store, payment, to=None, actor=actor, event_type="cancel_failed",
        message=f"cancelDeal failed ({failure.code}): {failure.message}",
        changes={"cancel_failed_reason": failure},
    )  # fmt: skip
    metrics.count("CancelsFailed", metadata={"payment_id": payment.id, "reason": failure.code})
    logger.warning("deal cancel failed", extra={"payment_id": payment.id, "reason": failure.code})
    return moved


def fail_cancel(deps: ChainDeps, payment_id: str, failure: FailureReason) -> str:
    def decide(payment: Payment | None) -> str:
        if payment is None:
            return "unknown payment"
        if payment.status is not S.CANCELLING or payment.cancel_failed_reason is not None:
            return f"skipped: {payment.status} ({failure.code})"
        cancel_failed(deps.payments, payment, failure, actor=Actor("system", deps.worker))
        return f"cancel-failed: {failure.code}"

    return lifecycle.optimistic(lambda: deps.payments.get(payment_id), decide, exhausted=_kept_changing)


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
    sent = _cancel_on_chain(deps, chain, payment, deal)
    lifecycle.move(
        deps.payments, payment, to=None, actor=Actor("chain", deps.worker), event_type="refunded",
        message=f"Deal {deal_id} was paid after the payment was {payment.status}; cancelDeal refunded the payer",
        changes={"deal_id": deal_id, "cancel_transaction_hash": sent.transaction_hash},
    )  # fmt: skip
    metrics.count("LateDepositsRefunded", metadata={"payment_id": payment.id, "deal_id": deal_id})
    logger.warning("late deposit refunded", extra={"payment_id": payment.id, "deal_id": deal_id})
    return "late deposit refunded"
