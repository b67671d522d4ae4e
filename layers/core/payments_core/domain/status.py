"""The payment status machine: one table, the only place that says which move is legal.

NoRamp's names are kept where they fit (pending, hold, paid, failed, failed-captured,
failed-transfers, refunded, cancelled). Added, because a web3 payment has steps NoRamp's card flow
does not: `sending` (the create-deal worker has claimed it: a deal may exist from here on),
`send-failed` (the worker gave up; retry-send re-queues it), `open` (the deal is on chain, waiting for
the deposit), `confirmed` (the deposit has the network's required confirmations), `cancelling` (cancel
requested, cancelDeal not yet mined) and `expired` (past expires_at, unpaid).
"""

from __future__ import annotations

from dataclasses import dataclass

from payments_core.models.enums import NoRampStatus as N
from payments_core.models.payments import PaymentStatus as S


@dataclass(frozen=True, slots=True)
class StatusInfo:
    meaning: str
    next: frozenset[S]
    movers: str


def _info(meaning: str, movers: str, *next_: S) -> StatusInfo:
    return StatusInfo(meaning, frozenset(next_), movers)


MACHINE: dict[S, StatusInfo] = {
    S.PENDING: _info(
        "Created. web3: queued for its on-chain deal; until a worker first claims it no deal can exist "
        "(cancel is then immediate), after that (back here by retry-send) cancel goes through cancelDeal. "
        "Card/bank: waiting for the payer.",
        "integration (create, retry-send, cancel), system (worker claims it, expiry), payer (card)",
        S.SENDING,
        S.SEND_FAILED,
        S.CANCELLED,
        S.CANCELLING,
        S.EXPIRED,
        S.HOLD,
        S.PAID,
        S.FAILED,
    ),
    S.SENDING: _info(
        "web3: the create-deal worker has claimed it and is sending createDeal; a deal may exist.",
        "system (create-deal worker)",
        S.OPEN,
        S.SEND_FAILED,
        S.CANCELLING,
    ),
    S.SEND_FAILED: _info(
        "web3: createDeal cannot succeed (a terminal failure, at once) or the worker gave up (retries spent, or "
        "stuck in sending); `send_failed_reason` says why; a deal may still exist.",
        "system (create-deal worker, dead-letter handler, watcher); integration (retry-send, cancel)",
        S.PENDING,
        S.CANCELLING,
        S.EXPIRED,
    ),
    S.OPEN: _info(
        "web3: the deal is on chain (deal_id, deal_transaction_hash), waiting for the payer's deposit.",
        "chain (deposit seen), integration (cancel), system (expiry)",
        S.PAID,
        S.CANCELLING,
        S.EXPIRED,
    ),
    S.HOLD: _info(
        "Card: authorised, not captured yet.",
        "payer/provider (capture), integration (cancel)",
        S.PAID,
        S.CANCELLED,
        S.FAILED,
    ),
    S.PAID: _info(
        "Paid: web3 deposit seen on chain (transaction_hash, payer, block_number; confirmation_status counts "
        "up), not yet final; or card captured.",
        "chain (confirmations, reorg), integration (cancel: refund), system",
        S.CONFIRMED,
        S.OPEN,
        S.CANCELLING,
        S.REFUNDED,
        S.FAILED_CAPTURED,
        S.FAILED_TRANSFERS,
    ),
    S.CONFIRMED: _info(
        "web3: the deposit has the network's required confirmations: final.",
        "integration (cancel: refund), system (payout)",
        S.CANCELLING,
        S.FAILED_TRANSFERS,
    ),
    S.CANCELLING: _info(
        "Cancel requested (by the integration, or by the watcher for an expired deal); cancelDeal is "
        "queued for the payment's wallet. `cancel_failed_reason` set: it cannot succeed as it is (a new cancel "
        "request queues it again).",
        "chain (cancelDeal mined)",
        S.CANCELLED,
        S.REFUNDED,
        S.EXPIRED,
    ),
    S.CANCELLED: _info("Cancelled before any payment: final.", "-"),
    S.REFUNDED: _info("Cancelled after payment; the payer got the funds back: final.", "-"),
    S.EXPIRED: _info("Past expires_at without payment (the deal, if any, was cancelled): final.", "-"),
    S.FAILED: _info("The payment failed (card declined, ...): final.", "-"),
    S.FAILED_CAPTURED: _info(
        "Card captured, but the on-chain step after it failed; to be refunded.",
        "system (refund)",
        S.REFUNDED,
    ),
    S.FAILED_TRANSFERS: _info(
        "The payout to the seller failed; retried or refunded.",
        "system (payout retry, refund)",
        S.PAID,
        S.CONFIRMED,
        S.REFUNDED,
    ),
}

FINAL = frozenset(s for s, info in MACHINE.items() if not info.next)

# Statuses in which an on-chain deal exists or may exist: cancelling goes through cancelDeal.
DEAL_MAY_EXIST = frozenset({S.SENDING, S.SEND_FAILED, S.OPEN, S.PAID, S.CONFIRMED})


# NoRamp's app API shows one of its eight statuses (models.enums.NoRampStatus); this table is the only place
# that maps the platform's onto them (docs/api.md's table is generated from it). NoRamp's names are the
# platform's where both have the step; the web3-only steps before payment read as `pending`, `confirmed` as
# `paid` (NoRamp's `confirmation_status` tells how final it is), `expired` as `cancelled` (NoRamp has no
# expiry status: the payment was ended without payment), and `cancelling` as `cancelled` (the cancel is
# accepted and cannot be taken back; a paid payment being cancelled reads `refunded` once its refund settles).
NORAMP_STATUS: dict[S, N] = {
    S.PENDING: N.PENDING,
    S.SENDING: N.PENDING,
    S.SEND_FAILED: N.PENDING,
    S.OPEN: N.PENDING,
    S.HOLD: N.HOLD,
    S.PAID: N.PAID,
    S.CONFIRMED: N.PAID,
    S.CANCELLING: N.CANCELLED,
    S.CANCELLED: N.CANCELLED,
    S.REFUNDED: N.REFUNDED,
    S.EXPIRED: N.CANCELLED,
    S.FAILED: N.FAILED,
    S.FAILED_CAPTURED: N.FAILED_CAPTURED,
    S.FAILED_TRANSFERS: N.FAILED_TRANSFERS,
}


def noramp_status(status: S) -> N:
    return NORAMP_STATUS[status]


def noramp_markdown_table() -> str:
    """docs/api.md's table of the NoRamp status mapping, generated from NORAMP_STATUS."""
    rows = ["| platform status | NoRamp `status` |", "|---|---|"]
    rows += [f"| `{platform}` | `{shown}` |" for platform, shown in NORAMP_STATUS.items()]
    return "\n".join(rows)


def can_move(current: S, target: S) -> bool:
    return target in MACHINE[current].next


def markdown_table() -> str:
    """The README's status table, generated from MACHINE (a test keeps the README in step)."""
    rows = ["| status | meaning | allowed next | who moves it |", "|---|---|---|---|"]
    for status, info in MACHINE.items():
        nxt = ", ".join(f"`{s}`" for s in sorted(info.next)) or "(final)"
        rows.append(f"| `{status}` | {info.meaning} | {nxt} | {info.movers} |")
    return "\n".join(rows)
