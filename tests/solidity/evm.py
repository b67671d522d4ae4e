"""In-process EVM for the contract tests: committed artifacts, a revert-data-preserving eth-tester provider,
custom-error matching, the sourceHash recipe and the diamond deploy helper."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, TypedDict, cast

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_tester.exceptions import TransactionFailed  # type: ignore[import-untyped]
from eth_typing import ABI, ABIError, ChecksumAddress, HexStr
from eth_utils.abi import abi_to_signature, filter_abi_by_type, function_abi_to_4byte_selector, get_abi_input_types
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD
from web3.types import RPCEndpoint, RPCResponse, TxReceipt

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
ZERO_ADDRESS = cast(ChecksumAddress, "0x" + "00" * 20)


class Artifact(TypedDict):
    abi: ABI
    bytecode: HexStr
    compiler: dict[str, Any]
    contractName: str
    deployedBytecode: HexStr
    sourceHash: str
    sourceName: str


def load_artifact(name: str) -> Artifact:
    return cast(Artifact, json.loads((ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


# --- sourceHash: the same recipe as contracts/build.mjs (see its header comment) --------------------------------------


def source_manifest(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Any]:
    config = json.loads((contracts_dir / "build.config.json").read_text(encoding="utf-8"))
    package = json.loads((contracts_dir / "package.json").read_text(encoding="utf-8"))
    sources = {
        path.relative_to(contracts_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((contracts_dir / "src").rglob("*.sol"))
    }
    return {
        "compiler": config["solc"],
        "dependencies": package["dependencies"],
        "settings": config["settings"],
        "sources": sources,
    }


def source_hash(contracts_dir: Path = CONTRACTS_DIR) -> str:
    canonical = json.dumps(source_manifest(contracts_dir), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- a provider that answers reverts like a JSON-RPC node (error code 3 + revert data) --------------------------------


def _revert_data(error: BaseException) -> bytes | None:
    """The raw revert bytes inside eth-tester's TransactionFailed (bytes, an EVM Revert, or the repr of bytes)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, bytes):
            return item
        if isinstance(item, str) and item[:2] in {"b'", 'b"'}:
            try:
                value = ast.literal_eval(item)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, bytes):
                return value
        if isinstance(item, BaseException):
            pending.extend(item.args)
            if item.__cause__ is not None:
                pending.append(item.__cause__)
    return None


class RevertDataProvider(EthereumTesterProvider):
    """EthereumTesterProvider whose eth_call / eth_estimateGas reverts carry the revert data the way geth and anvil
    answer (``{"code": 3, "message": "execution reverted", "data": "0x..."}``), so web3 raises
    ``ContractCustomError`` with ``.data`` exactly as it does against a real node. The stock provider turns the
    revert into ``TransactionFailed("execution reverted: b'...'")`` and loses the data."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        namespace, _, endpoint = method.partition("_")
        endpoints = self.api_endpoints or {}
        delegator = endpoints.get(namespace, {}).get(endpoint)
        if delegator is None:
            return super().make_request(method, params)
        request_id = repr(self._current_request_id)
        self._current_request_id += 1
        try:
            result = delegator(self.ethereum_tester, params)
        except NotImplementedError:
            return super().make_request(method, params)
        except TransactionFailed as error:
            data = _revert_data(error)
            rpc_error: dict[str, Any] = {"code": 3, "message": "execution reverted"}
            if data is not None:
                rpc_error["data"] = "0x" + data.hex()
            else:
                rpc_error["message"] = f"execution reverted: {error.args[0] if error.args else ''}"
            return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "error": rpc_error})
        return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "result": result})


# --- custom errors ----------------------------------------------------------------------------------------------------


def _error_abis(abi: ABI) -> list[ABIError]:
    return list(filter_abi_by_type("error", abi))


def error_selector(abi: ABI, name: str) -> HexStr:
    matches = [e for e in _error_abis(abi) if e["name"] == name]
    assert len(matches) == 1, f"error {name} not (or more than once) in the ABI"
    return HexStr("0x" + function_abi_to_4byte_selector(matches[0]).hex())


def encode_error(abi: ABI, name: str, *args: Any) -> HexStr:
    """The revert data of `name(args)`: 4-byte selector + ABI-encoded arguments."""
    matches = [e for e in _error_abis(abi) if e["name"] == name]
    assert len(matches) == 1, f"error {name} not (or more than once) in the ABI"
    types = get_abi_input_types(matches[0])
    return HexStr(error_selector(abi, name) + abi_encode(types, list(args)).hex())


def describe_error(abi: ABI, data: str) -> str:
    """`Name(arg, ...)` for revert data, for assertion messages."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    for error in _error_abis(abi):
        if function_abi_to_4byte_selector(error) == raw[:4]:
            try:
                values = abi_decode(get_abi_input_types(error), raw[4:])
            except Exception:
                return f"{abi_to_signature(error)} with undecodable data {data}"
            return f"{error['name']}{tuple(values)!r}"
    return f"unknown error {data}"


@contextmanager
def reverts_with(abi: ABI, name: str, *args: Any) -> Iterator[None]:
    """Expect a revert with exactly the custom error `name(args)` (selector and arguments)."""
    with pytest.raises(ContractCustomError) as info:
        yield
    data = info.value.data
    assert isinstance(data, str), f"revert without data: {info.value!r}"
    expected = encode_error(abi, name, *args)
    assert data == expected, f"expected {name}{args!r}, got {describe_error(abi, data)}"


# --- deals ------------------------------------------------------------------------------------------------------------


class DealStatus(IntEnum):
    NONE = 0
    OPEN = 1
    PAID = 2
    CANCELLED = 3
    REFUNDED = 4


class SkipReason(IntEnum):
    """IPayments.SkipReason: why createDeals skipped a ref (the DealSkipped event)."""

    NONE = 0
    INVALID_REF = 1
    REF_ALREADY_USED = 2
    ZERO_PAYEE = 3
    INVALID_TOKEN = 4
    INVALID_AMOUNT = 5
    INVALID_EXPIRY = 6


@dataclass(frozen=True)
class Deal:
    """PaymentsFacet.getDeal, field for field (the ABI order)."""

    ref: bytes
    creator: ChecksumAddress
    payee: ChecksumAddress
    token: ChecksumAddress
    amount: int
    expires_at: int
    payer: ChecksumAddress
    status: DealStatus

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> Deal:
        ref, creator, payee, token, amount, expires_at, payer, status = value
        return cls(ref, creator, payee, token, amount, expires_at, payer, DealStatus(status))


def ref(text: str) -> bytes:
    """A deal ref: keccak256 of an off-chain id (e.g. the payment id)."""
    return keccak(text=text)


# --- deployment -------------------------------------------------------------------------------------------------------


class FacetCutAction(IntEnum):
    ADD = 0
    REPLACE = 1
    REMOVE = 2


def send(w3: Web3, call: Any, sender: ChecksumAddress) -> TxReceipt:
    """Transact a bound contract call (gas estimated, so a revert raises ContractCustomError) and wait."""
    tx_hash = call.transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


def accounts(w3: Web3) -> list[ChecksumAddress]:
    """eth-tester's ten funded accounts (web3 types eth.accounts as a 1-tuple)."""
    return list(cast(Sequence[ChecksumAddress], w3.eth.accounts))


def deploy(w3: Web3, name: str, sender: ChecksumAddress, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send(w3, factory.constructor(*args), sender)
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact["abi"], decode_tuples=True)


def selectors(abi: ABI) -> list[bytes]:
    """The 4-byte selectors of every function in a facet's ABI, in ABI order."""
    return [function_abi_to_4byte_selector(f) for f in filter_abi_by_type("function", abi)]


def cut(
    w3: Web3,
    diamond: Contract,
    owner: ChecksumAddress,
    *,
    target: ChecksumAddress,
    action: FacetCutAction,
    facet_selectors: Sequence[bytes],
) -> TxReceipt:
    """diamondCut with one FacetCut and no initializer."""
    return send(w3, diamond.functions.diamondCut([(target, action, list(facet_selectors))], ZERO_ADDRESS, b""), owner)


def event_args(contract: Contract, name: str, receipt: TxReceipt) -> list[dict[str, Any]]:
    """The args of every `name` event that `contract`'s address emitted in the transaction, in log order."""
    events = contract.events[name]().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in events if e["address"] == contract.address]


def at_diamond(w3: Web3, diamond: Contract, name: str) -> Contract:
    """A facet's ABI bound to the diamond's address: how every client calls the diamond."""
    return w3.eth.contract(address=diamond.address, abi=load_artifact(name)["abi"], decode_tuples=True)


@dataclass(frozen=True)
class System:
    """A deployed diamond with the PaymentsFacet cut in, a mock USDT and an authorised platform wallet."""

    w3: Web3
    tester: Any  # eth_tester.EthereumTester (untyped)
    owner: ChecksumAddress
    platform: ChecksumAddress
    payer: ChecksumAddress
    payee: ChecksumAddress
    stranger: ChecksumAddress
    diamond: Contract  # the Diamond ABI (cut, loupe, ownership) at the diamond
    payments: Contract  # the PaymentsFacet ABI at the diamond
    payments_facet: Contract  # the facet's own deployment (its address is what the loupe lists)
    usdt: Contract

    def account(self, index: int) -> ChecksumAddress:
        """A funded account with no role (indexes 0-4 are owner, platform, payer, payee, stranger)."""
        assert index >= 5
        return accounts(self.w3)[index]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


def deploy_system() -> System:
    provider = RevertDataProvider()
    w3 = Web3(provider)
    owner, platform, payer, payee, stranger = accounts(w3)[:5]
    diamond = deploy(w3, "Diamond", owner)
    payments_facet = deploy(w3, "PaymentsFacet", owner)
    add = FacetCutAction.ADD
    cut(w3, diamond, owner, target=payments_facet.address, action=add, facet_selectors=selectors(payments_facet.abi))
    payments = at_diamond(w3, diamond, "PaymentsFacet")
    send(w3, payments.functions.setPlatformWallet(platform, True), owner)
    usdt = deploy(w3, "MockUSDT", owner)
    return System(
        w3=w3,
        tester=provider.ethereum_tester,
        owner=owner,
        platform=platform,
        payer=payer,
        payee=payee,
        stranger=stranger,
        diamond=diamond,
        payments=payments,
        payments_facet=payments_facet,
        usdt=usdt,
    )
