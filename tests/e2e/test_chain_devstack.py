"""The local stack's chain: anvil, the deployed diamond and token, the demo catalog and wallet key that point at
them, and `python -m devstack.pay`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from devstack import chain
from devstack import template as tpl
from devstack.launch import LocalStackInfo, local_stack
from payments_core.domain import catalog as admin
from payments_core.domain.entities import Currency, Network, Wallet
from payments_core.store.catalog import DynamoCatalogStore
from payments_core.store.rpc_urls import RpcUrlStore
from tests.e2e.helpers import Client, aws_client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ACCOUNT0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ACCOUNT0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ACCOUNT1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ZERO = "0x" + "00" * 20
PAY_TIMEOUT = 120.0
CONFIRM_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def w3(stack: LocalStackInfo) -> Web3:
    return chain.connect(str(stack.demo["rpc_url"]))


def pay(stack: LocalStackInfo, payment_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack.pay", payment_id, "--data-dir", str(stack.data_dir), *extra],
        cwd=tpl.ROOT,
        capture_output=True,
        text=True,
        timeout=PAY_TIMEOUT,
        check=False,
    )


def test_anvil_answers_at_demo_rpc_url(stack: LocalStackInfo) -> None:
    demo = stack.demo
    assert demo["rpc_url"] == stack.rpc_url
    assert demo["evm_chain_id"] == 31337
    r = httpx.post(demo["rpc_url"], json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=10)
    assert r.status_code == 200
    assert int(r.json()["result"], 16) == 31337
    assert json.loads((stack.data_dir / "stack.json").read_text())["rpc_url"] == demo["rpc_url"]


def test_demo_json_has_the_chain(stack: LocalStackInfo) -> None:
    demo = stack.demo
    for key in ("diamond_address", "token_address", "payer_address"):
        assert Web3.is_checksum_address(demo[key]), key
    assert demo["payer_address"] == ACCOUNT1
    assert chain.address_of(demo["payer_private_key"]) == ACCOUNT1


def test_diamond_is_deployed_and_account0_is_a_platform_wallet(stack: LocalStackInfo, w3: Web3) -> None:
    diamond = stack.demo["diamond_address"]
    assert len(w3.eth.get_code(diamond)) > 0
    assert len(w3.eth.get_code(stack.demo["token_address"])) > 0
    payments = chain.contract_at(w3, "PaymentsFacet", diamond)
    assert payments.functions.isPlatformWallet(ACCOUNT0).call() is True
    assert payments.functions.isPlatformWallet(ACCOUNT1).call() is False
    assert chain.contract_at(w3, "Diamond", diamond).functions.owner().call() == ACCOUNT0


def test_payer_got_a_million_usdt(stack: LocalStackInfo, w3: Web3) -> None:
    token = chain.contract_at(w3, "MockUSDT", stack.demo["token_address"])
    assert token.functions.decimals().call() == 6
    assert token.functions.symbol().call() == "USDT"
    transfers = token.events.Transfer().get_logs(from_block=0, to_block="latest")
    minted = sum(e["args"]["value"] for e in transfers if e["args"]["from"] == ZERO and e["args"]["to"] == ACCOUNT1)
    spent = sum(e["args"]["value"] for e in transfers if e["args"]["from"] == ACCOUNT1)
    refunded = sum(e["args"]["value"] for e in transfers if e["args"]["to"] == ACCOUNT1 and e["args"]["from"] != ZERO)
    assert minted == 1_000_000 * 10**6
    # Other tests may pay with it: the balance is what was minted less what the payer sent, plus what deals refunded.
    assert token.functions.balanceOf(ACCOUNT1).call() == minted - spent + refunded
    assert w3.eth.get_balance(Web3.to_checksum_address(ACCOUNT1)) > 10**18


def test_demo_catalog_points_at_the_chain(
    stack: LocalStackInfo, catalog: DynamoCatalogStore, rpc_urls: RpcUrlStore
) -> None:
    demo = stack.demo
    network = catalog.get(Network, demo["network_id"])
    assert network is not None
    assert network.evm_chain_id == 31337
    assert network.diamond_address == demo["diamond_address"]
    assert network.rpc_url is None  # Secrets Manager holds it, read by the chain functions only
    assert rpc_urls.get(demo["network_id"]) == demo["rpc_url"]
    assert network.required_confirmations == 2
    currency = catalog.get(Currency, demo["currency_id"])
    assert currency is not None
    assert currency.decimals == 6
    assert currency.tokens[demo["network_id"]] == demo["token_address"]
    wallet = catalog.get(Wallet, demo["wallet_id"])
    assert wallet is not None
    assert wallet.address == ACCOUNT0
    assert wallet.network_id == demo["network_id"]


def test_platform_wallet_key_is_in_secrets_manager(stack: LocalStackInfo) -> None:
    sm = aws_client(stack, "secretsmanager")
    name = f"payments-local-wallet-{stack.demo['wallet_id']}"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == ACCOUNT0_KEY
    # The chain workers find it through the prefix the template gives them.
    prefix = stack.environment.get("WALLET_SECRET_PREFIX")
    if prefix is not None:
        assert f"{prefix}{stack.demo['wallet_id']}" == name
    # Never in the catalog.
    assert ACCOUNT0_KEY.removeprefix("0x") not in json.dumps(stack.demo)


def test_pay_refuses_a_payment_without_a_deal(
    stack: LocalStackInfo, client: Client, catalog: DynamoCatalogStore
) -> None:
    # A wallet whose key is nowhere: the create-deal worker cannot sign for it, so its payment never gets a deal.
    node = admin.create_node(catalog, f"e2e pay {uuid.uuid4().hex[:8]}", stack.demo["nodes"]["root"])
    wallet = admin.create_wallet(
        catalog,
        node_id=node.id,
        network_id=stack.demo["network_id"],
        address=Web3.to_checksum_address("0x" + uuid.uuid4().hex + "0" * 8),
    )
    r = client.create(node_id=node.id, wallet_id=wallet.id)
    assert r.status_code == 201, r.text
    result = pay(stack, r.json()["id"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the payment has no deal yet" in result.stderr
    assert "wait for status open" in result.stderr
    assert "Traceback" not in result.stderr


def test_pay_refuses_an_unknown_payment(stack: LocalStackInfo) -> None:
    result = pay(stack, str(uuid.uuid4()))
    assert result.returncode == 1
    assert "no payment" in result.stderr
    assert "Traceback" not in result.stderr


def test_pay_deposits_as_the_demo_payer(stack: LocalStackInfo, client: Client, w3: Web3) -> None:
    """The whole demo: the create-deal worker puts the deal on chain, the payer approves and deposits."""
    r = client.create(wallet_id=stack.demo["wallet_id"], price=12.5, paid_price=12.5)
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    result = pay(stack, payment_id, "--wait", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    hashes = [line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("tx 0x")]
    assert len(hashes) == 2, result.stdout
    approve, deposit = (w3.eth.get_transaction_receipt(h) for h in hashes)  # type: ignore[arg-type]
    assert approve["status"] == 1
    assert deposit["status"] == 1
    got = client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth()).json()
    payments = chain.contract_at(w3, "PaymentsFacet", stack.demo["diamond_address"])
    deal = payments.functions.getDeal(got["deal_id"]).call()
    assert deal[4] == 12_500_000  # amount, 6 decimals
    assert deal[6] == ACCOUNT1  # payer
    assert deal[7] == 2  # Paid
    again = pay(stack, payment_id)
    assert again.returncode == 1
    assert "nothing to pay" in again.stderr
    assert "Traceback" not in again.stderr
    # The watcher (a schedule, every DEVSTACK_SCHEDULE_SECONDS locally) sees the deposit and its confirmations
    # (anvil mines a block a second).
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    status = got["status"]
    while status != "confirmed":
        assert time.monotonic() < deadline, f"payment still {status} after {CONFIRM_TIMEOUT:.0f}s"
        time.sleep(0.2)
        status = client.http.get(f"/api/v1/payments/{payment_id}", headers=client.auth()).json()["status"]


# ------------------------------------------------------------------------------------------- --no-chain
@pytest.fixture(scope="module")
def chainless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackInfo]:
    with local_stack(tmp_path_factory.mktemp("devstack-no-chain"), chain=False) as info:
        yield info


def test_no_chain_stack_keeps_the_demo_without_chain(chainless: LocalStackInfo) -> None:
    assert chainless.rpc_url is None
    assert not {"rpc_url", "diamond_address", "token_address", "payer_private_key"} & set(chainless.demo)
    saved: dict[str, Any] = json.loads((chainless.data_dir / "stack.json").read_text())
    assert saved["rpc_url"] is None
    assert not (chainless.data_dir / "anvil.log").exists()
    # The wallet's key is there all the same (the workers' contract does not depend on a chain).
    sm = aws_client(chainless, "secretsmanager")
    name = f"payments-local-wallet-{chainless.demo['wallet_id']}"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == ACCOUNT0_KEY
    result = pay(chainless, str(uuid.uuid4()))
    assert result.returncode == 1
    assert "--no-chain" in result.stderr


def test_devstack_stops_anvil(tmp_path: Path) -> None:
    with local_stack(tmp_path) as info:
        rpc_url = str(info.rpc_url)
        assert chain.rpc(rpc_url, "eth_chainId") == hex(31337)
    with pytest.raises(urllib.error.URLError):
        chain.rpc(rpc_url, "eth_chainId", timeout=2.0)
