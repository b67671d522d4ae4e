"""A signing key's nonces, managed rather than guessed (decision 0039).

The chain is the source of truth: every send starts from the key's mined transaction count (`latest`), never
from a count kept here. One send is one nonce, carried to the end:

- the transaction goes out at the lowest nonce not mined yet. When the pool holds a transaction of the key
  there already (`pending` above `latest`: a worker that stopped waiting for its receipt) this one replaces
  it; when the pool holds transactions above a hole (a lower nonce never mined: dropped), it fills the hole.
  In a signer's lane (one FIFO group per key, one message at a time) nothing else of the key is in flight,
  so what it replaces is a transaction whose message has ended, or an earlier attempt of this very one.
- a transaction not mined within REPLACE_AFTER_SECONDS, or no longer known to the node (dropped), is sent
  again with the same nonce and both EIP-1559 fees bumped by at least FEE_BUMP (12.5 %: above geth's 10 %
  replacement rule, and as much as the base fee can rise in one block), or to the market's fees where those
  are higher;
- a node that refuses the transaction as underpriced gets it again, bumped; a nonce mined meanwhile (`nonce
  too low`) is decided again from the chain; a nonce mined by a transaction that is none of ours ends the send
  with a ChainError (retried by the queue, which asks the contract first). "None of ours" is decided only
  after RECEIPT_LAG_SECONDS without a receipt for any of our hashes: a node answers the new transaction count
  a moment before it answers the receipt (anvil: foundry-rs/foundry#10944; a load-balanced RPC: two backends
  a block apart), and deciding at once sent a batch's payments back the slow path for a deal that existed.

Pure decisions over the `Rpc` protocol (client.py gives the web3 one), so that unit tests drive them with a
fake chain and a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from payments_chain.errors import rpc_failure
from payments_core.domain.chain_work import ChainError
from payments_core.domain.chain_work import ChainFailure as F

REPLACE_AFTER_SECONDS = 12.0
"""A transaction not mined this long after it was (re-)sent is sent again: same nonce, fees bumped."""
SEND_TIMEOUT_SECONDS = 60.0
"""The most one send waits for its receipt, replacements included (then a ChainError: the queue retries)."""
MAX_REPLACEMENTS = 4
"""Re-sends of one nonce with bumped fees (dropped or not mined in time) before the send gives up."""
MAX_REFUSALS = 6
"""Refusals of the node (underpriced, nonce too low) one send decides again before it gives up."""
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8
"""A replacement's fees are at least 9/8 (+12.5 %) of the one it replaces, both maxFee and priority fee."""
MAX_FEE_OVER_MARKET = 10
"""A send never offers more than this many times the market's max fee (then a ChainError: an operator looks)."""
RECEIPT_LAG_SECONDS = 3.0
"""How long the receipt of a mined nonce may lag the transaction count before the nonce is another's."""
DROPPED_AFTER_SECONDS = 2.0
"""A transaction the node does not know this long after it was sent was dropped from its pool."""
POLL_SECONDS = 0.25
NO_OP_GAS = 21_000
"""A settle's no-op: a 0-value transfer to itself."""


class Fees(NamedTuple):
    max_fee: int  # maxFeePerGas, wei
    tip: int  # maxPriorityFeePerGas, wei


class Refused(Exception):
    """The node refused a raw transaction; `message` is its answer (already redacted)."""


class Rpc(Protocol):
    """What the nonce manager asks the chain (client.Web3Rpc; a fake in the unit tests)."""

    def count(self, address: str, block: Literal["latest", "pending"]) -> int: ...
    def fees(self) -> Fees:
        """The market's fees now: the priority fee the node suggests, max fee 2 * base fee + that."""

    def send_raw(self, raw: bytes) -> None:
        """Raises Refused with the node's answer."""

    def receipt(self, tx_hash: str) -> dict[str, Any] | None: ...
    def known(self, tx_hash: str) -> bool:
        """The node has the transaction (pending or mined)."""


Signer = Callable[[int, Fees], tuple[bytes, str]]
"""(nonce, fees) -> (the signed raw transaction, its hash)."""


def bumped(previous: Fees, market: Fees) -> Fees:
    """Fees for a replacement: each at least FEE_BUMP over the previous one (rounded up, and at least one wei
    more), and never below the market's."""

    def bump(value: int) -> int:
        return max(value + 1, -(-value * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR))

    tip = max(bump(previous.tip), market.tip)
    return Fees(max_fee=max(bump(previous.max_fee), market.max_fee, tip), tip=tip)


def outbidding(previous: Fees, market: Fees) -> Fees:
    """Fees to outbid a transaction of the key already in the pool at this nonce, whose fees are not known
    here (the node said "replacement transaction underpriced"): twice the previous offer, at least a bump."""
    return bumped(Fees(2 * previous.max_fee, 2 * previous.tip), market)


def _refusal(message: str) -> Literal["replacement", "underpriced", "nonce_too_low", "known", "other"]:
    text = message.lower()
    if "already known" in text or "already imported" in text or "known transaction" in text:
        return "known"
    if "replacement" in text and "underpriced" in text:
        return "replacement"
    if "nonce too low" in text or "nonce is too low" in text or "oldnonce" in text.replace(" ", ""):
        return "nonce_too_low"
    if "underpriced" in text or "fee too low" in text or "less than block base fee" in text or "feecap" in text:
        return "underpriced"
    return "other"


def _refusal_reason(kind: str, message: str) -> F:
    """The ChainFailure of a refusal the send gives up on (the node's phrasing, errors.RPC_MESSAGES)."""
    known = {"replacement": F.REPLACEMENT_UNDERPRICED, "underpriced": F.UNDERPRICED, "nonce_too_low": F.NONCE_TOO_LOW}
    return known.get(kind) or rpc_failure(message) or F.RPC_ERROR


@dataclass
class Send:
    """What one send did (for logs and tests): its nonce, every hash sent for it, and why each re-send."""

    nonce: int = -1
    hashes: list[str] = field(default_factory=list)
    fees: list[Fees] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)  # "dropped" | "not mined" | "underpriced" | "nonce mined"


@dataclass
class NonceManager:
    rpc: Rpc
    timeout: float = SEND_TIMEOUT_SECONDS
    replace_after: float = REPLACE_AFTER_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def send(self, address: str, sign: Signer, *, log: Send | None = None) -> dict[str, Any]:
        """Send the transaction `sign` builds until it is mined; returns its receipt (whichever of its
        replacements was mined). ChainError when the bounds run out (the queue retries the work)."""
        log = log if log is not None else Send()
        start = self.clock()
        nonce = self.rpc.count(address, "latest")
        fees = self.rpc.fees()
        sent_at = start
        refusals = replacements = 0
        log.nonce = nonce
        while True:
            raw, tx_hash = sign(nonce, fees)
            try:
                self.rpc.send_raw(raw)
            except Refused as refused:
                kind = _refusal(str(refused))
                refusals += 1
                if kind == "other" or refusals > MAX_REFUSALS:
                    raise ChainError(
                        f"the node refused the transaction: {refused}", reason=_refusal_reason(kind, str(refused))
                    ) from None
                if kind in ("replacement", "underpriced"):  # one of ours at this nonce pays more; the base fee rose
                    log.resent.append("underpriced")
                    market = self.rpc.fees()
                    fees = outbidding(fees, market) if kind == "replacement" else bumped(fees, market)
                    self._check_cap(fees, market)
                    continue
                if kind == "nonce_too_low":
                    if log.hashes:  # one of ours may be mined in a block the node has not answered for yet
                        return self._receipt_of_passed_nonce(address, nonce, log)
                    nonce = self.rpc.count(address, "latest")  # mined meanwhile by an earlier one: the next
                    log.nonce = nonce
                    log.resent.append("nonce mined")
                    continue
                # "known": the node has this very transaction already; wait for it like any other
            log.hashes.append(tx_hash)
            log.fees.append(fees)
            sent_at = self.clock()
            why = self._wait(address, nonce, log, start=start, sent_at=sent_at)
            if isinstance(why, dict):
                return why
            replacements += 1
            if replacements > MAX_REPLACEMENTS:
                raise ChainError(f"nonce {nonce} not mined after {MAX_REPLACEMENTS} replacements", reason=F.NO_RECEIPT)
            log.resent.append(why)
            market = self.rpc.fees()
            fees = bumped(fees, market)
            self._check_cap(fees, market)

    @staticmethod
    def _check_cap(fees: Fees, market: Fees) -> None:
        if fees.max_fee > MAX_FEE_OVER_MARKET * max(market.max_fee, 1):
            raise ChainError(
                f"the fee needed exceeds {MAX_FEE_OVER_MARKET}x the market's: a transaction outbids us",
                reason=F.UNDERPRICED,
            )

    def _wait(self, address: str, nonce: int, log: Send, *, start: float, sent_at: float) -> dict[str, Any] | str:
        """The receipt of one of the nonce's transactions, or why to send it again ("dropped", "not mined")."""
        while True:
            mined = self._mined_receipt(log.hashes)
            if mined is not None:
                return mined
            if self.rpc.count(address, "latest") > nonce:
                return self._receipt_of_passed_nonce(address, nonce, log)
            now = self.clock()
            if now - start >= self.timeout:
                raise ChainError("no receipt in time", reason=F.NO_RECEIPT)
            if now - sent_at >= DROPPED_AFTER_SECONDS and not self.rpc.known(log.hashes[-1]):
                return "dropped"
            if now - sent_at >= self.replace_after:
                return "not mined"
            self.sleep(POLL_SECONDS)

    def _receipt_of_passed_nonce(self, address: str, nonce: int, log: Send) -> dict[str, Any]:
        """The chain's count is past `nonce`: the receipt of whichever of our hashes was mined at it, waited for
        up to RECEIPT_LAG_SECONDS (see the module's docstring); else the nonce went to another transaction."""
        lag_ends = self.clock() + RECEIPT_LAG_SECONDS
        while True:
            mined = self._mined_receipt(log.hashes)
            if mined is not None:
                return mined
            if self.clock() >= lag_ends:
                raise ChainError(f"nonce {nonce} of {address} was mined by another transaction", reason=F.NONCE_TOO_LOW)
            self.sleep(POLL_SECONDS)

    def _mined_receipt(self, hashes: list[str]) -> dict[str, Any] | None:
        for tx_hash in reversed(hashes):
            receipt = self.rpc.receipt(tx_hash)
            if receipt is not None:
                return receipt
        return None

    def settle(self, address: str, sign_no_op: Signer) -> int:
        """Return once no transaction of `address` is pending: each nonce between the mined count and the
        pending one is mined, or replaced by a no-op (`sign_no_op`, a 0-value transfer to itself) that is.
        After it, no transaction the key sent before can be mined. Returns how many no-ops were mined."""
        no_ops = 0
        deadline = self.clock() + self.timeout
        while True:
            mined, pending = self.rpc.count(address, "latest"), self.rpc.count(address, "pending")
            if pending <= mined:
                return no_ops
            # Give what is pending one chance to be mined as it is, then replace the lowest with a no-op.
            waited = self.clock() + self.replace_after
            while self.clock() < min(waited, deadline) and self.rpc.count(address, "latest") == mined:
                self.sleep(POLL_SECONDS)
            if self.rpc.count(address, "latest") > mined:
                continue
            if self.clock() >= deadline:
                raise ChainError(f"{address} still has transactions pending", reason=F.NO_RECEIPT)
            try:
                self.send(address, sign_no_op)
                no_ops += 1
            except ChainError as exc:
                if "mined by another transaction" not in str(exc):  # the original was mined: settled too
                    raise
