"""Every failure of a chain call as a ChainError with its reason (payments_core.domain.chain_work.ChainFailure):
what the contract refused (its custom error, decoded with the facet's ABI), what the node or the mempool
answered, or that the node could not be reached. The domain decides on `ChainError.terminal` (decision 0040)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, cast

from eth_typing import ABI, ABIError
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TimeExhausted,
)

from payments_core.domain.chain_work import ChainError, ChainFailure

F = ChainFailure

# The facet's custom errors (contracts/src/interfaces/IPayments.sol) and what each means for our calls.
REVERTS: dict[str, ChainFailure] = {
    "RefAlreadyUsed": F.REF_ALREADY_USED,  # a concurrent or earlier send won: the recovery records that deal
    "DealNotFound": F.DEAL_NOT_FOUND,
    "DealAlreadyClosed": F.DEAL_CLOSED,  # cancelled meanwhile: the next attempt reads the deal and records it
    "DealNotOpen": F.DEAL_CLOSED,
    "ZeroAddress": F.PAYEE_REFUSED,  # createDeal's only address that can be zero is the payee
    "InvalidToken": F.TOKEN_REFUSED,  # no contract at the token's address
    "InvalidAmount": F.AMOUNT_REFUSED,
    "InvalidExpiry": F.EXPIRY_REFUSED,  # expired by the chain's clock
    "InvalidRef": F.DEAL_DATA_MISSING,
    "NotPlatformWallet": F.SIGNER_NOT_ALLOWED,  # the signer is not registered on the diamond
    "NotDealCreator": F.SIGNER_MISMATCH,
}

# What nodes answer for a transaction the mempool refused (geth, anvil, erigon, nethermind phrasings), in
# the order they are tried: "replacement transaction underpriced" before "underpriced".
RPC_MESSAGES: tuple[tuple[str, ChainFailure], ...] = (
    ("nonce too low", F.NONCE_TOO_LOW),
    ("nonce has already been used", F.NONCE_TOO_LOW),
    ("nonce too high", F.NONCE_TOO_HIGH),
    ("replacement transaction underpriced", F.REPLACEMENT_UNDERPRICED),
    ("underpriced", F.UNDERPRICED),
    ("fee too low", F.UNDERPRICED),
    ("less than block base fee", F.UNDERPRICED),
    ("already known", F.ALREADY_KNOWN),
    ("insufficient funds", F.INSUFFICIENT_FUNDS),
)


@cache
def _selectors(abi: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {"0x" + function_signature_to_4byte_selector(sig).hex(): name for name, sig in abi}


def error_selectors(abi: ABI) -> dict[str, str]:
    """4-byte selector (0x-hex) -> custom error name, of an ABI's errors."""
    found = [cast(ABIError, e) for e in abi if e.get("type") == "error"]
    return _selectors(tuple((str(e["name"]), abi_to_signature(e)) for e in found))


def revert_name(data: Any, abi: ABI) -> str | None:
    """The custom error a revert's data starts with, None when it is none of the ABI's."""
    if not isinstance(data, str) or len(data) < 10:
        return None
    return error_selectors(abi).get(data[:10].lower())


def redact(message: str) -> str:
    """RPC URLs may carry API keys: keep them out of errors and logs."""
    return re.sub(r"https?://\S+", "<rpc>", message)[:200]


def rpc_failure(message: str) -> ChainFailure | None:
    """What a node's answer means (RPC_MESSAGES), None when it is none of those phrasings."""
    text = message.lower()
    return next((reason for phrase, reason in RPC_MESSAGES if phrase in text), None)


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def classify(exc: Exception, abi: ABI) -> ChainError:
    """The ChainError of any exception a chain call raised (never its key, never the RPC URL)."""
    if isinstance(exc, ChainError):
        return exc
    if isinstance(exc, ContractCustomError):
        name = revert_name(exc.data, abi)
        reason = REVERTS.get(name or "", F.REVERTED)
        return ChainError(f"reverted: {name or exc.data}", reverted=True, reason=reason)
    if isinstance(exc, ContractPanicError | ContractLogicError):
        return ChainError(f"reverted: {redact(str(exc))}", reverted=True, reason=F.REVERTED)
    if isinstance(exc, TimeExhausted):
        return ChainError("no receipt in time", reason=F.NO_RECEIPT)
    if isinstance(exc, BadFunctionCallOutput):  # empty answer: no contract there (the caller checks the code)
        return ChainError(f"{type(exc).__name__}: {redact(str(exc))}", reason=F.RPC_ERROR)
    answered = rpc_failure(str(exc))
    if answered is not None:
        return ChainError(f"{type(exc).__name__}: {redact(str(exc))}", reason=answered)
    names = _names(exc)
    if any("Timeout" in n for n in names):
        return ChainError(f"{type(exc).__name__}: {redact(str(exc))}", reason=F.TIMEOUT)
    if "ConnectionError" in names or isinstance(exc, ConnectionError | OSError):
        return ChainError(f"{type(exc).__name__}: {redact(str(exc))}", reason=F.RPC_UNAVAILABLE)
    return ChainError(f"{type(exc).__name__}: {redact(str(exc))}", reason=F.RPC_ERROR)
