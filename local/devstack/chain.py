"""The local chain: anvil (npm `@foundry-rs/anvil`, pinned in local/package.json) and the escrow diamond on it.

    anvil = start_anvil(8545)                      # own process group, answers eth_chainId before it returns
    deployment = deploy(connect(anvil.url))        # MockUSDT, Diamond + PaymentsFacet, platform wallet, payer funds
    anvil.stop()

`deploy` uses the committed artifacts of contracts/artifacts (no compiler) and signs every transaction locally with
anvil's well-known development keys (public test keys from the `test test ... junk` mnemonic: never use them on a
real network). On a fresh anvil the addresses are deterministic: MockUSDT 0x5FbDB231..., the diamond 0xe7f1725E....

web3 is imported lazily (it takes seconds to import): `python -m devstack --no-chain` does not pay for it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from devstack import template as tpl

if TYPE_CHECKING:
    from eth_typing import ABI, ChecksumAddress
    from web3 import Web3
    from web3.contract import Contract
    from web3.types import TxParams, TxReceipt

ANVIL_VERSION = "1.7.1"  # local/package.json pins it; checked at start
LOCAL_DIR = tpl.ROOT / "local"
ARTIFACTS_DIR = tpl.ROOT / "contracts" / "artifacts"
CHAIN_ID = 31337
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
RECEIPT_TIMEOUT = 30.0
RPC_TIMEOUT = 10.0

# anvil's default dev accounts (mnemonic "test test test test test test test test test test test junk").
ACCOUNT0_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ACCOUNT0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ACCOUNT1_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ACCOUNT1_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

# Accounts 2..9 of the same mnemonic (m/44'/60'/0'/0/i; tests/devstack checks the derivation): the signing pool of
# `python -m devstack --signing-pool N` (decision 0046). Public development keys, each funded by anvil (10,000 ETH).
POOL_KEYS = (
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
POOL_MIN_ETH_WEI = 10**18  # a pool key below this gets 10 ETH from the owner (anvil starts them at 10,000)

# Roles of the local stack: account 0 deploys, owns the diamond and is the demo platform wallet; account 1 pays.
OWNER_KEY = ACCOUNT0_KEY
PLATFORM_WALLET_ADDRESS = ACCOUNT0_ADDRESS
PLATFORM_WALLET_KEY = ACCOUNT0_KEY
PAYER_ADDRESS = ACCOUNT1_ADDRESS
PAYER_KEY = ACCOUNT1_KEY
TOKEN_DECIMALS = 6
PAYER_USDT = 1_000_000  # whole USDT minted to the payer
PAYER_MIN_ETH_WEI = 10**18  # topped up to 10 ETH when below (anvil's accounts start with 10,000)


class ChainError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------- anvil
def anvil_binary(local_dir: Path = LOCAL_DIR) -> Path:
    """The anvil executable installed by `npm ci` in local/ (see the Makefile's local/node_modules rule).

    The npm package ships the binary in a platform package (`@foundry-rs/anvil-<os>-<arch>/bin/anvil`); when that
    optional dependency was not installed, its postinstall downloads the binary next to itself. The `.bin/anvil`
    shim is a node wrapper around the same binary (one more process), the last resort."""
    modules = local_dir / "node_modules" / "@foundry-rs"
    name = "anvil.exe" if sys.platform == "win32" else "anvil"
    os_name = {"darwin": "darwin", "linux": "linux", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = os.uname().machine if hasattr(os, "uname") else ""
    arch = {"x86_64": "amd64", "amd64": "amd64", "AMD64": "amd64", "arm64": "arm64", "aarch64": "arm64"}.get(machine)
    candidates = [
        modules / f"anvil-{os_name}-{arch}" / "bin" / name,
        modules / "anvil" / name,
        local_dir / "node_modules" / ".bin" / name,
    ]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise ChainError(f"anvil is not installed in {local_dir}/node_modules: run `make dev` (or `cd local && npm ci`)")


def rpc(url: str, method: str, params: list[Any] | None = None, *, timeout: float = RPC_TIMEOUT) -> Any:
    """One JSON-RPC call without web3 (readiness checks, anvil_* methods)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        answer = json.loads(resp.read())
    if "error" in answer:
        raise ChainError(f"{method}: {answer['error']}")
    return answer.get("result")


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _parent_death_signal() -> Any:
    """Linux: a preexec_fn that has the kernel SIGTERM anvil if this process dies without stopping it (a SIGKILL
    of the local stack would otherwise leave anvil running in its own process group). None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return preexec


@dataclass
class Anvil:
    """A running anvil; `stop()` ends its process group (SIGTERM, then SIGKILL)."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int
    chain_id: int
    log_file: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        try:
            if self.proc.poll() is None:
                for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                    try:
                        os.killpg(self.proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        self.proc.wait(timeout=wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_anvil(
    port: int,
    *,
    host: str = "127.0.0.1",
    chain_id: int = CHAIN_ID,
    block_time: float | None = None,
    log_file: Path | None = None,
    timeout: float = STARTUP_TIMEOUT,
    binary: Path | None = None,
) -> Anvil:
    """Start anvil on host:port and wait (at most `timeout` s) until it answers `eth_chainId`.

    Mining: automine (a block per transaction) by default. With `block_time`, anvil also mines a block every
    `block_time` seconds (`--block-time N --mixed-mining`: transactions are still mined at once, and blocks keep
    coming, so confirmations grow while nothing is sent). Output goes to `log_file` (or is discarded)."""
    exe = binary or anvil_binary()
    cmd = [str(exe), "--host", host, "--port", str(port), "--chain-id", str(chain_id), "--quiet"]
    if block_time is not None:
        if block_time <= 0:
            raise ValueError("block_time must be positive (None: automine only)")
        cmd += ["--block-time", f"{block_time:g}", "--mixed-mining"]
    log: IO[bytes] | None = log_file.open("ab") if log_file is not None else None
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
            process_group=0,  # its own group: stopped as a whole, and a terminal's Ctrl-C is ours to forward
            preexec_fn=_parent_death_signal(),  # noqa: PLW1509 - only calls prctl, resolved beforehand
        )
    except OSError as exc:
        if log is not None:
            log.close()
        raise ChainError(f"cannot run {exe}: {exc}") from exc
    anvil = Anvil(proc, host, port, chain_id, log_file, log)
    url = anvil.url
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            anvil.stop()
            raise ChainError(f"anvil exited with {proc.returncode} (port {port} taken?)\n{_tail(log_file)}".rstrip())
        try:
            answered = int(rpc(url, "eth_chainId", timeout=1.0), 16)
        except (OSError, urllib.error.URLError, ValueError, ChainError):
            answered = None
        if answered is not None:
            if answered != chain_id:
                anvil.stop()
                raise ChainError(f"{url} answers chain id {answered}, not {chain_id}: another node on that port?")
            return anvil
        if time.monotonic() > deadline:
            anvil.stop()
            raise ChainError(f"anvil did not answer on {url} within {timeout:.0f}s\n{_tail(log_file)}".rstrip())
        time.sleep(0.05)


def anvil_version(binary: Path | None = None) -> str:
    out = subprocess.run(
        [str(binary or anvil_binary()), "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    first = out.strip().splitlines()[0] if out.strip() else ""
    return first.removeprefix("anvil Version:").strip()


# ----------------------------------------------------------------------------------------- web3
def connect(rpc_url: str, *, timeout: float = RPC_TIMEOUT) -> Web3:
    from web3 import Web3

    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """contracts/artifacts/<name>.json: {abi, bytecode, ...} (committed build output)."""
    artifact: dict[str, Any] = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return artifact


def abi_of(name: str) -> ABI:
    return cast("ABI", load_artifact(name)["abi"])


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """`name`'s ABI at `address` (the PaymentsFacet ABI at the diamond's address is how clients call it)."""
    return w3.eth.contract(address=w3.to_checksum_address(address), abi=abi_of(name))


def address_of(private_key: str) -> ChecksumAddress:
    from eth_account import Account

    return cast("ChecksumAddress", Account.from_key(private_key).address)


def transact(
    w3: Web3,
    call: Any,
    private_key: str,
    *,
    value: int = 0,
    timeout: float = RECEIPT_TIMEOUT,
    on_sent: Callable[[str], None] | None = None,
) -> TxReceipt:
    """Sign `call` (a bound contract function or constructor) locally with `private_key`, send it raw, and wait
    (at most `timeout` s) for its receipt; a revert at gas estimation or on chain raises. `on_sent` gets the
    transaction hash (0x...) as soon as it is sent."""
    from web3.types import Wei

    sender = address_of(private_key)
    params: TxParams = {"from": sender, "nonce": w3.eth.get_transaction_count(sender, "pending"), "value": Wei(value)}
    try:
        tx = call.build_transaction(params)
    except Exception as exc:
        data = getattr(exc, "data", None)
        reason = (decode_error(data) if isinstance(data, str) else None) or str(exc)
        raise ChainError(f"{_describe(call)} would revert: {reason}") from exc
    return send_signed(w3, tx, private_key, what=_describe(call), timeout=timeout, on_sent=on_sent)


def send_signed(
    w3: Web3,
    tx: TxParams,
    private_key: str,
    *,
    what: str,
    timeout: float = RECEIPT_TIMEOUT,
    on_sent: Callable[[str], None] | None = None,
) -> TxReceipt:
    from web3.exceptions import TimeExhausted

    signed = w3.eth.account.sign_transaction(tx, private_key)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    if on_sent is not None:
        on_sent("0x" + bytes(tx_hash).hex())
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
    except TimeExhausted as exc:
        raise ChainError(f"{what}: no receipt for 0x{bytes(tx_hash).hex()} after {timeout:.0f}s") from exc
    if receipt["status"] != 1:
        raise ChainError(f"{what}: transaction 0x{bytes(tx_hash).hex()} reverted")
    return receipt


_ERROR_ARTIFACTS = ("PaymentsFacet", "MockUSDT", "Diamond")


def decode_error(data: str) -> str | None:
    """`Name(arg, ...)` for the revert data of a custom error of the diamond, its facet or the token."""
    from eth_abi.abi import decode as abi_decode
    from eth_utils.abi import filter_abi_by_type, function_abi_to_4byte_selector, get_abi_input_types

    try:
        raw = bytes.fromhex(data.removeprefix("0x"))
    except ValueError:
        return None
    for name in _ERROR_ARTIFACTS:
        for error in filter_abi_by_type("error", abi_of(name)):
            if function_abi_to_4byte_selector(error) != raw[:4]:
                continue
            try:
                values = abi_decode(get_abi_input_types(error), raw[4:])
            except Exception:
                return str(error["name"])
            return f"{error['name']}({', '.join(repr(v) for v in values)})"
    return None


def _describe(call: Any) -> str:
    name = getattr(call, "fn_name", None) or type(call).__name__
    return str(name)


# ------------------------------------------------------------------------------------------ deploy
@dataclass(frozen=True)
class Deployment:
    """What `deploy` put on the chain."""

    chain_id: int
    diamond_address: str  # call it with the PaymentsFacet ABI
    payments_facet_address: str  # the facet's own deployment (what the diamond's loupe lists)
    token_address: str  # MockUSDT, 6 decimals
    token_decimals: int
    owner_address: str  # the diamond's owner
    platform_wallet_address: str  # authorised with setPlatformWallet
    payer_address: str  # holds `payer_token_units` of the token
    payer_token_units: int
    block_number: int  # the chain's head once deployed


def _deploy_contract(w3: Web3, name: str, private_key: str, *args: Any) -> str:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = transact(w3, factory.constructor(*args), private_key)
    address = receipt["contractAddress"]
    if address is None:
        raise ChainError(f"deploying {name} created no contract")
    return str(address)


def _selectors(abi: ABI) -> list[bytes]:
    from eth_utils.abi import filter_abi_by_type, function_abi_to_4byte_selector

    return [function_abi_to_4byte_selector(f) for f in filter_abi_by_type("function", abi)]


def deploy(
    w3: Web3,
    *,
    owner_key: str = OWNER_KEY,
    platform_wallet: str = PLATFORM_WALLET_ADDRESS,
    payer: str = PAYER_ADDRESS,
    payer_usdt: int = PAYER_USDT,
) -> Deployment:
    """MockUSDT, then the Diamond with the PaymentsFacet cut in (one FacetCut ADD of every facet selector, no
    initializer, as tests/solidity/evm.py deploys it), the platform wallet authorised, and the payer funded:
    `payer_usdt` USDT minted, ETH topped up to 10 when it has less than 1. Every transaction is signed by the
    owner's key; each one is awaited (bounded) before the next."""
    owner = address_of(owner_key)
    token_address = _deploy_contract(w3, "MockUSDT", owner_key)  # nonce 0 on a fresh anvil: 0x5FbDB231...
    diamond_address = _deploy_contract(w3, "Diamond", owner_key)  # nonce 1: 0xe7f1725E...
    facet_address = _deploy_contract(w3, "PaymentsFacet", owner_key)
    diamond = contract_at(w3, "Diamond", diamond_address)
    zero = "0x" + "00" * 20
    add = 0  # FacetCutAction.ADD
    facet_cut = [(w3.to_checksum_address(facet_address), add, _selectors(abi_of("PaymentsFacet")))]
    transact(w3, diamond.functions.diamondCut(facet_cut, zero, b""), owner_key)
    payments = contract_at(w3, "PaymentsFacet", diamond_address)
    transact(w3, payments.functions.setPlatformWallet(w3.to_checksum_address(platform_wallet), True), owner_key)
    token = contract_at(w3, "MockUSDT", token_address)
    decimals = int(token.functions.decimals().call())
    units = payer_usdt * 10**decimals
    payer_checksum = w3.to_checksum_address(payer)
    transact(w3, token.functions.mint(payer_checksum, units), owner_key)
    top_up(w3, payer_checksum, PAYER_MIN_ETH_WEI, owner_key, what="ETH for the payer")
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        diamond_address=diamond_address,
        payments_facet_address=facet_address,
        token_address=token_address,
        token_decimals=decimals,
        owner_address=str(owner),
        platform_wallet_address=str(w3.to_checksum_address(platform_wallet)),
        payer_address=str(payer_checksum),
        payer_token_units=int(token.functions.balanceOf(payer_checksum).call()),
        block_number=int(w3.eth.block_number),
    )


def top_up(w3: Web3, address: str, min_wei: int, owner_key: str, *, what: str) -> None:
    """Send `address` 10 x `min_wei` from the owner when it holds less than `min_wei` (awaited, bounded)."""
    from web3.types import Wei

    checksum = w3.to_checksum_address(address)
    if int(w3.eth.get_balance(checksum)) >= min_wei:
        return
    tx: TxParams = {
        "from": address_of(owner_key),
        "to": checksum,
        "value": Wei(10 * min_wei),
        "nonce": w3.eth.get_transaction_count(address_of(owner_key), "pending"),
        "gas": 21_000,
        "chainId": int(w3.eth.chain_id),
        "maxFeePerGas": Wei(2 * int(w3.eth.gas_price)),
        "maxPriorityFeePerGas": Wei(0),
    }
    send_signed(w3, tx, owner_key, what=what)


def authorise_signers(w3: Web3, diamond_address: str, keys: list[str], *, owner_key: str = OWNER_KEY) -> list[str]:
    """Make each key's address a platform wallet of the diamond (setPlatformWallet, by the owner) and top its ETH
    up to 10 when it has less than 1; returns the addresses. Each transaction is awaited (bounded)."""
    payments = contract_at(w3, "PaymentsFacet", diamond_address)
    addresses = []
    for key in keys:
        address = address_of(key)
        transact(w3, payments.functions.setPlatformWallet(address, True), owner_key)
        top_up(w3, address, POOL_MIN_ETH_WEI, owner_key, what="ETH for a signing pool key")
        addresses.append(str(address))
    return addresses
