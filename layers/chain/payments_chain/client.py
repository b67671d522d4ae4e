"""The diamond's payments facet, through web3: read deals, send createDeal / cancelDeal, scan events.

Implements payments_core.domain.chain_work.Chain. Transactions are signed locally with the wallet's key
(from Secrets Manager, never logged) and sent raw; receipts are awaited with a timeout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

from eth_account import Account
from eth_typing import ABI, ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, TransactionNotFound
from web3.logs import DISCARD
from web3.types import TxParams, TxReceipt

from payments_core.domain.chain_work import (
    ChainError,
    ChainEvent,
    CreatedDeal,
    DealInfo,
    DealStatus,
    SentTransaction,
)

RECEIPT_TIMEOUT = 60.0
# Recovery (find_created) reads the DealCreated log of a deal backwards from the head, in bounded ranges:
# providers refuse `0..latest` on a long chain. A deal older than the bound is still found (dealIdOf), only
# its transaction is not.
RECOVERY_CHUNK_BLOCKS = 500
RECOVERY_MAX_BLOCKS = 10_000
DEAL_STATUSES = (DealStatus.NONE, DealStatus.OPEN, DealStatus.PAID, DealStatus.CANCELLED, DealStatus.REFUNDED)


@cache
def abi(name: str) -> ABI:
    return cast(ABI, json.loads(resources.files("payments_chain.abi").joinpath(f"{name}.json").read_text()))


@cache
def web3_for(rpc_url: str) -> Web3:
    """One Web3 per RPC URL per container (HTTP keep-alive), with bounded timeouts."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))


def _ref(ref: str) -> bytes:
    return bytes.fromhex(ref.removeprefix("0x").rjust(64, "0"))


@dataclass
class DiamondClient:
    w3: Web3
    diamond_address: str
    receipt_timeout: float = RECEIPT_TIMEOUT

    @property
    def contract(self) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(self.diamond_address), abi=abi("PaymentsFacet"))

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
            _ref(ref), Web3.to_checksum_address(payee), Web3.to_checksum_address(token), amount, expires_at
        )
        receipt = self._send(private_key, fn)
        events = self.contract.events.DealCreated().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise ChainError("createDeal mined without a DealCreated event")
        return CreatedDeal(
            deal_id=int(events[0]["args"]["dealId"]),
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            block_hash="0x" + bytes(receipt["blockHash"]).hex(),
        )

    def cancel_deal(self, private_key: str, deal_id: int) -> SentTransaction:
        receipt = self._send(private_key, self.contract.functions.cancelDeal(deal_id))
        cancelled = self.contract.events.DealCancelled().process_receipt(receipt, errors=DISCARD)
        return SentTransaction(
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            refunded=bool(cancelled[0]["args"]["refunded"]) if cancelled else None,
        )

    # ---- plumbing
    def _send(self, private_key: str, fn: Any) -> TxReceipt:
        try:
            account = Account.from_key(private_key)
        except Exception:  # noqa: BLE001 - never let a key (or part of it) reach a message
            raise ChainError("the wallet's signing key is not a valid private key", reverted=True) from None
        sender: ChecksumAddress = account.address
        try:
            params: TxParams = {
                "from": sender,
                "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                "chainId": self.w3.eth.chain_id,
            }
            tx = fn.build_transaction(params)
            signed = account.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout)
        except (ContractCustomError, ContractLogicError) as exc:
            raise ChainError(f"reverted: {exc.data if hasattr(exc, 'data') else exc}", reverted=True) from None
        except TimeExhausted:
            raise ChainError("no receipt in time") from None
        except Exception as exc:  # noqa: BLE001 - RPC down, timeouts, nonce races: all retried by the queue
            raise ChainError(f"{type(exc).__name__}: {_redact(str(exc))}") from None
        if int(receipt["status"]) != 1:
            raise ChainError("transaction reverted", reverted=True)
        return receipt

    def _call(self, read: Any) -> Any:
        try:
            return read()
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"{type(exc).__name__}: {_redact(str(exc))}") from None


def _redact(message: str) -> str:
    """RPC URLs may carry API keys: keep them out of errors and logs."""
    return re.sub(r"https?://\S+", "<rpc>", message)[:200]
