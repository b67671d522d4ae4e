"""The diamond's payments facet, through web3: read deals, send createDeal / createDeals / cancelDeal, scan events.

Implements payments_core.domain.chain_work.Chain. Transactions are signed locally with the wallet's key
(from Secrets Manager, never logged) and sent raw; their nonces and fees are managed by nonces.NonceManager
(the chain's count is the truth; a transaction not mined in time is replaced, same nonce, fees bumped).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, NamedTuple, cast

import requests
from eth_account import Account
from eth_typing import ABI, ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BadFunctionCallOutput, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import TxParams, TxReceipt, Wei

from payments_chain import errors
from payments_chain.nonces import NO_OP_GAS, REPLACE_AFTER_SECONDS, Fees, NonceManager, Refused
from payments_core.domain.chain_work import (
    ChainError,
    ChainEvent,
    ChainFailure,
    CreatedDeal,
    DealInfo,
    DealStatus,
    SentTransaction,
)

RECEIPT_TIMEOUT = 60.0  # one send, its replacements included (nonces.SEND_TIMEOUT_SECONDS)
# The monotonic time by which receipt waits end (run_batch sets it from the function's remaining time).
_RECEIPT_DEADLINE: ContextVar[float | None] = ContextVar("receipt_deadline", default=None)
# Recovery (find_created) reads the DealCreated log of a deal backwards from the head, in bounded ranges:
# providers refuse `0..latest` on a long chain. A deal older than the bound is still found (dealIdOf), only
# its transaction is not.
RECOVERY_CHUNK_BLOCKS = 500
RECOVERY_MAX_BLOCKS = 10_000
DEAL_STATUSES = (DealStatus.NONE, DealStatus.OPEN, DealStatus.PAID, DealStatus.CANCELLED, DealStatus.REFUNDED)
# IPayments.SkipReason, by value (index 0, None, is never emitted): the reason codes of DealSkipped
SKIP_REASONS = (
    "none",
    "invalid_ref",
    "ref_already_used",
    "zero_payee",
    "invalid_token",
    "invalid_amount",
    "invalid_expiry",
)
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1


class DealRequest(NamedTuple):
    """One deal of a createDeals batch: createDeal's arguments, in its order (a plain 5-tuple does as well)."""

    ref: str
    payee: str
    token: str
    amount: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class SkippedDeal:
    """A request of createDeals that created no deal.

    `reason` is a DealSkipped reason code (SKIP_REASONS) when the contract skipped it, or, when it was never sent
    because it cannot be ABI-encoded, `invalid_ref` (not at most 32 bytes of hex), `unusable_payee` /
    `unusable_token` (not an address), `invalid_amount` (outside uint256), `invalid_expiry` (outside uint64).
    `existing_deal_id` is the ref's deal for `ref_already_used`, else 0."""

    ref: str
    reason: str
    existing_deal_id: int = 0


@cache
def abi(name: str) -> ABI:
    return cast(ABI, json.loads(resources.files("payments_chain.abi").joinpath(f"{name}.json").read_text()))


RPC_RETRIES = 5
RPC_BACKOFF_SECONDS = 0.125
"""web3's retries of a call the transport failed (0.125 s, 0.25 s, ... between tries), for the methods on its
allowlist: every read and eth_sendRawTransaction (the same signed bytes again: a node that has them says
"already known", which the nonce manager waits on)."""


@cache
def web3_for(rpc_url: str) -> Web3:
    """One Web3 per RPC URL per container (HTTP keep-alive), with bounded timeouts and web3's retries of what the
    transport failed. Its default retries catch the builtin ConnectionError only, and a reset connection reaches
    it as requests' ConnectionError (no subclass of it): a 5 % share of reset calls failed whole batches."""
    retries = ExceptionRetryConfiguration(
        errors=(ConnectionError, requests.ConnectionError, requests.HTTPError, requests.Timeout),
        retries=RPC_RETRIES,
        backoff_factor=RPC_BACKOFF_SECONDS,
    )
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}, exception_retry_configuration=retries))


@contextmanager
def receipt_deadline(at: float | None) -> Iterator[None]:
    """Inside the block no receipt wait lasts past `at` (time.monotonic()): a batch never outlives its function."""
    token = _RECEIPT_DEADLINE.set(at)
    try:
        yield
    finally:
        _RECEIPT_DEADLINE.reset(token)


def _checksum(address: str, reason: ChainFailure, what: str) -> ChecksumAddress:
    try:
        return Web3.to_checksum_address(address)
    except Exception:  # noqa: BLE001 - web3 raises ValueError, TypeError or InvalidAddress
        raise ChainError(f"the {what} {address[:64]!r} is not an EVM address", reverted=True, reason=reason) from None


def _ref(ref: str) -> bytes:
    return bytes.fromhex(ref.removeprefix("0x").rjust(64, "0"))


@dataclass
class DiamondClient:
    w3: Web3
    diamond_address: str
    receipt_timeout: float = RECEIPT_TIMEOUT
    replace_after: float = REPLACE_AFTER_SECONDS

    @property
    def contract(self) -> Contract:
        address = _checksum(self.diamond_address, ChainFailure.NO_DIAMOND, "diamond address")
        return self.w3.eth.contract(address=address, abi=abi("PaymentsFacet"))

    # ---- reads
    def deal_id_of(self, ref: str) -> int:
        deal_id: int = self._call(lambda: int(self.contract.functions.dealIdOf(_ref(ref)).call()))
        return deal_id

    def get_deal(self, deal_id: int) -> DealInfo:
        raw = self._call(lambda: self.contract.functions.getDeal(deal_id).call())
        ref, creator, payee, token, amount, expires_at, payer, status = raw
        return DealInfo(
            deal_id=deal_id,
            ref="0x" + bytes(ref).hex(),
            creator=str(creator),
            payee=str(payee),
            token=str(token),
            amount=int(amount),
            expires_at=int(expires_at),
            payer=str(payer),
            status=DEAL_STATUSES[int(status)],
        )

    def head(self) -> int:
        number: int = self._call(lambda: int(self.w3.eth.block_number))
        return number

    def block_hash(self, number: int) -> str | None:
        try:
            block = self._call(lambda: self.w3.eth.get_block(number))
        except ChainError:
            return None
        return None if block is None else "0x" + bytes(block["hash"]).hex()

    def balance(self, address: str) -> int:
        """The native balance of an account, in wei (the platform wallet's gas money)."""
        wei: int = self._call(lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))))
        return wei

    def block_timestamp(self, number: int) -> int:
        """The block's timestamp (unix seconds): the chain's clock, which decides a deal's expiry."""
        block = self._call(lambda: self.w3.eth.get_block(number))
        return int(block["timestamp"])

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """Deposited, DealCreated and DealCancelled events of the diamond in [from_block, to_block]."""
        logs = self._call(
            lambda: self.w3.eth.get_logs(
                {"address": self.contract.address, "fromBlock": from_block, "toBlock": to_block}
            )
        )
        out: list[ChainEvent] = []
        for log in logs:
            for name in ("Deposited", "DealCreated", "DealCancelled"):
                try:
                    decoded = getattr(self.contract.events, name)().process_log(log)
                except Exception:  # noqa: BLE001, S112 - not this event's signature: try the next
                    continue
                out.append(
                    ChainEvent(
                        name=name,
                        deal_id=int(decoded["args"]["dealId"]),
                        args={
                            k: v if isinstance(v, int | str | bool) else "0x" + bytes(v).hex()
                            for k, v in decoded["args"].items()
                        },
                        block_number=int(log["blockNumber"]),
                        block_hash="0x" + bytes(log["blockHash"]).hex(),
                        transaction_hash="0x" + bytes(log["transactionHash"]).hex(),
                        log_index=int(log["logIndex"]),
                        removed=bool(log.get("removed", False)),
                    )
                )
                break
        return out

    def receipt_block(self, transaction_hash: str) -> tuple[int, str] | None:
        """(block number, block hash) of a mined transaction, None when the chain does not have it."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(cast(Any, transaction_hash))
        except TransactionNotFound:
            return None
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"receipt lookup failed: {type(exc).__name__}") from None
        return int(receipt["blockNumber"]), "0x" + bytes(receipt["blockHash"]).hex()

    def find_created(self, ref: str) -> CreatedDeal | None:
        """The DealCreated of `ref` (deal id, its transaction and block), to recover after a crash and to
        verify a recorded deal. Searched backwards from the head in RECOVERY_CHUNK_BLOCKS ranges, at most
        RECOVERY_MAX_BLOCKS back (never `0..latest`, which providers refuse)."""
        deal_id = self.deal_id_of(ref)
        if deal_id == 0:
            return None
        event = self.contract.events.DealCreated()
        topics = [event.topic, "0x" + deal_id.to_bytes(32, "big").hex(), "0x" + _ref(ref).hex()]
        head = self.head()
        high = head
        while high >= 0 and head - high < RECOVERY_MAX_BLOCKS:
            low = max(0, high - RECOVERY_CHUNK_BLOCKS + 1)
            logs = self._call(
                lambda low=low, high=high: self.w3.eth.get_logs(
                    {"address": self.contract.address, "fromBlock": low, "toBlock": high, "topics": topics}
                )
            )
            if logs:
                log = logs[-1]
                return CreatedDeal(
                    deal_id=deal_id,
                    transaction_hash="0x" + bytes(log["transactionHash"]).hex(),
                    block_number=int(log["blockNumber"]),
                    block_hash="0x" + bytes(log["blockHash"]).hex(),
                )
            high = low - 1
        return CreatedDeal(deal_id=deal_id, transaction_hash="", block_number=0)

    # ---- writes
    def create_deal(
        self, private_key: str, *, ref: str, payee: str, token: str, amount: int, expires_at: int
    ) -> CreatedDeal:
        fn = self.contract.functions.createDeal(
            _ref(ref),
            _checksum(payee, ChainFailure.INVALID_PAYEE, "payee"),
            _checksum(token, ChainFailure.INVALID_TOKEN, "token"),
            amount,
            expires_at,
        )
        receipt = self._send(private_key, fn)
        events = self.contract.events.DealCreated().process_receipt(receipt, errors=DISCARD)
        if not events:  # not our facet at that address
            raise ChainError("createDeal mined without a DealCreated event", reason=ChainFailure.NO_DIAMOND)
        return CreatedDeal(
            deal_id=int(events[0]["args"]["dealId"]),
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            block_hash="0x" + bytes(receipt["blockHash"]).hex(),
        )

    def create_deals(
        self, private_key: str, requests: Sequence[tuple[str, str, str, int, int]]
    ) -> list[CreatedDeal | None]:
        """Several deals in one createDeals transaction: for each request (ref, payee, token, amount, expires_at),
        in order, its CreatedDeal, or None when it created no deal (`create_deals_detailed` says why; for a ref
        already used, `find_created(ref)` answers its deal)."""
        return [r if isinstance(r, CreatedDeal) else None for r in self.create_deals_detailed(private_key, requests)]

    def create_deals_detailed(
        self, private_key: str, requests: Sequence[tuple[str, str, str, int, int]]
    ) -> list[CreatedDeal | SkippedDeal]:
        """createDeals, all or nothing per ref: one transaction for every request that can be encoded, its
        receipt's DealCreated / DealSkipped events mapped back to the requests by ref. A request that cannot be
        encoded is skipped here (never sent) and does not stop the others. Refs must be distinct (ValueError);
        no request, or none that can be sent, sends nothing."""
        encoded = [_terms(request) for request in requests]
        sendable = [t for t in encoded if not isinstance(t, str)]
        if len({t[0] for t in sendable}) != len(sendable):
            raise ValueError("createDeals: every request needs its own ref")
        outcome: dict[bytes, CreatedDeal | tuple[str, int]] = {}
        if sendable:
            outcome = self._outcomes(self._send(private_key, self.contract.functions.createDeals(sendable)))
        results: list[CreatedDeal | SkippedDeal] = []
        for request, terms in zip(requests, encoded, strict=True):
            if isinstance(terms, str):
                results.append(SkippedDeal(ref=request[0], reason=terms))
                continue
            found = outcome.get(terms[0])
            if found is None:
                raise ChainError(f"createDeals mined without an event for ref {request[0]}")
            results.append(found if isinstance(found, CreatedDeal) else SkippedDeal(request[0], *found))
        return results

    def _outcomes(self, receipt: TxReceipt) -> dict[bytes, CreatedDeal | tuple[str, int]]:
        """ref -> its CreatedDeal or (reason code, existing deal id), from a createDeals receipt."""
        transaction_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        block_number = int(receipt["blockNumber"])
        out: dict[bytes, CreatedDeal | tuple[str, int]] = {}
        mine = self.contract.address
        for event in self.contract.events.DealCreated().process_receipt(receipt, errors=DISCARD):
            if event["address"] != mine:
                continue
            out[bytes(event["args"]["ref"])] = CreatedDeal(
                deal_id=int(event["args"]["dealId"]), transaction_hash=transaction_hash, block_number=block_number
            )
        for event in self.contract.events.DealSkipped().process_receipt(receipt, errors=DISCARD):
            if event["address"] != mine:
                continue
            reason = int(event["args"]["reason"])
            code = SKIP_REASONS[reason] if 0 < reason < len(SKIP_REASONS) else f"reason_{reason}"
            out[bytes(event["args"]["ref"])] = (code, int(event["args"]["dealId"]))
        return out

    def cancel_deal(self, private_key: str, deal_id: int) -> SentTransaction:
        receipt = self._send(private_key, self.contract.functions.cancelDeal(deal_id))
        cancelled = self.contract.events.DealCancelled().process_receipt(receipt, errors=DISCARD)
        return SentTransaction(
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            refunded=bool(cancelled[0]["args"]["refunded"]) if cancelled else None,
        )

    def settle(self, private_key: str) -> None:
        """Return once no transaction of the key is pending (mined, or replaced by a no-op that is)."""
        account = _account(private_key)
        sender: ChecksumAddress = account.address

        def no_op(nonce: int, fees: Fees) -> tuple[bytes, str]:
            tx: dict[str, Any] = {
                "from": sender, "to": sender, "value": 0, "gas": NO_OP_GAS, "chainId": self.w3.eth.chain_id,
                "nonce": nonce, "maxFeePerGas": fees.max_fee, "maxPriorityFeePerGas": fees.tip,
            }  # fmt: skip
            signed = account.sign_transaction(tx)
            return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

        try:
            self.nonces.settle(sender, no_op)
        except Exception as exc:  # noqa: BLE001 - the bounds ran out, RPC down, timeouts: classified, retried
            raise errors.classify(exc, abi("PaymentsFacet")) from None

    # ---- plumbing
    @property
    def nonces(self) -> NonceManager:
        return NonceManager(Web3Rpc(self.w3), timeout=self._receipt_wait(), replace_after=self.replace_after)

    def _send(self, private_key: str, fn: Any) -> TxReceipt:
        account = _account(private_key)
        sender: ChecksumAddress = account.address
        try:
            rpc = Web3Rpc(self.w3)
            market = rpc.fees()
            # Built once (gas estimated: a revert shows here); each attempt signs it with its nonce and fees.
            params: TxParams = {
                "from": sender,
                "chainId": self.w3.eth.chain_id,
                "maxFeePerGas": Wei(market.max_fee),
                "maxPriorityFeePerGas": Wei(market.tip),
            }
            tx = dict(fn.build_transaction(params))

            def sign(nonce: int, fees: Fees) -> tuple[bytes, str]:
                signed = account.sign_transaction(
                    {**tx, "nonce": nonce, "maxFeePerGas": fees.max_fee, "maxPriorityFeePerGas": fees.tip}
                )
                return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

            receipt = cast(TxReceipt, self.nonces.send(sender, sign))
        except Exception as exc:  # noqa: BLE001 - reverts, RPC down, timeouts, nonce races: classified
            raise errors.classify(exc, abi("PaymentsFacet")) from None
        if int(receipt["status"]) != 1:  # refused after its estimate passed: the next attempt's estimate says why
            raise ChainError("transaction reverted", reverted=True, reason=ChainFailure.REVERTED_ON_CHAIN)
        return receipt

    def _receipt_wait(self) -> float:
        at = _RECEIPT_DEADLINE.get()
        return self.receipt_timeout if at is None else max(0.1, min(self.receipt_timeout, at - time.monotonic()))

    def _call(self, read: Any) -> Any:
        try:
            return read()
        except BadFunctionCallOutput as exc:
            if self._no_diamond():
                raise ChainError(
                    f"no contract at the diamond address {self.diamond_address}", reason=ChainFailure.NO_DIAMOND
                ) from None
            raise errors.classify(exc, abi("PaymentsFacet")) from None
        except Exception as exc:  # noqa: BLE001
            raise errors.classify(exc, abi("PaymentsFacet")) from None

    def _no_diamond(self) -> bool:
        """No code at the diamond's address (a read answered empty); False when the node cannot say."""
        try:
            return len(self.w3.eth.get_code(self.contract.address)) == 0
        except Exception:  # noqa: BLE001 - the read's own failure is raised instead
            return False


def _ref_or_none(ref: str) -> bytes | None:
    """The 32-byte ref, None when `ref` is not at most 32 bytes of hex."""
    try:
        raw = _ref(ref)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


Terms = tuple[bytes, ChecksumAddress, ChecksumAddress, int, int]  # IPayments.DealTerms, ABI-encodable


def _terms(request: tuple[str, str, str, int, int]) -> Terms | str:
    """A createDeals request as DealTerms, or why it cannot be encoded (SkippedDeal's local reason codes)."""
    ref, payee, token, amount, expires_at = request
    key = _ref_or_none(ref)
    if key is None:
        return "invalid_ref"
    addresses: list[ChecksumAddress] = []
    for code, address in (("unusable_payee", payee), ("unusable_token", token)):
        try:
            addresses.append(Web3.to_checksum_address(address))
        except (ValueError, TypeError):
            return code
    if not 0 <= amount <= UINT256_MAX:
        return "invalid_amount"
    if not 0 <= expires_at <= UINT64_MAX:
        return "invalid_expiry"
    return (key, addresses[0], addresses[1], amount, expires_at)


@dataclass
class Web3Rpc:
    """nonces.Rpc over web3."""

    w3: Web3

    def count(self, address: str, block: Literal["latest", "pending"]) -> int:
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), block))

    def fees(self) -> Fees:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        tip = int(self.w3.eth.max_priority_fee)
        return Fees(max_fee=2 * base + tip, tip=tip)

    def send_raw(self, raw: bytes) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
        except (ValueError, Web3RPCError) as exc:  # the node's answer: underpriced, nonce too low, ...
            raise Refused(errors.redact(str(exc))) from None

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self.w3.eth.get_transaction_receipt(cast(Any, tx_hash)))
        except TransactionNotFound:
            return None

    def known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(cast(Any, tx_hash))
        except TransactionNotFound:
            return False
        return True


def _account(private_key: str) -> Any:
    try:
        return Account.from_key(private_key)
    except Exception:  # noqa: BLE001 - never let a key (or part of it) reach a message
        raise ChainError(
            "the wallet's signing key is not a valid private key",
            reverted=True,
            reason=ChainFailure.INVALID_SIGNING_KEY,
        ) from None
