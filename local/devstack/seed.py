"""The demo catalog of the local stack (and of the tests): a node tree, a network, USDT, a wallet,
one integration per node.

    root ── child        other (unrelated)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payments_core.domain import catalog as admin
from payments_core.domain.stores import CatalogStore

if TYPE_CHECKING:
    from payments_core.domain.stores import SecretHashStore
    from payments_core.store.rpc_urls import RpcUrlStore

# Where devstack.chain.deploy puts MockUSDT and the diamond on a fresh anvil (the deployer's nonces 0 and 1).
DEMO_TOKEN_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # noqa: S105 - an ERC-20 address
DEMO_DIAMOND_ADDRESS = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
DEMO_WALLET_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0


def seed_demo(
    catalog: CatalogStore,
    *,
    api_url: str,
    rpc_url: str = "http://127.0.0.1:8545",
    diamond_address: str = DEMO_DIAMOND_ADDRESS,
    token_address: str = DEMO_TOKEN_ADDRESS,
    secret_hashes: SecretHashStore | None = None,
    rpc_urls: RpcUrlStore | None = None,
) -> dict[str, Any]:
    """The demo catalog; integrations' secret hashes and the network's RPC URL go to their own stores (by
    default the process's: `deps.secret_hashes()`, `deps.rpc_urls()`)."""
    from payments_core import deps

    hashes = secret_hashes or deps.secret_hashes()
    urls = rpc_urls or deps.rpc_urls()
    root = admin.create_node(catalog, "Demo root")
    child = admin.create_node(catalog, "Demo child", root.id)
    other = admin.create_node(catalog, "Demo other")
    chain = admin.create_chain(catalog, "Ethereum")
    network = admin.create_network(
        catalog,
        urls,
        chain_id=chain.id,
        name="anvil",
        evm_chain_id=31337,
        rpc_url=rpc_url,
        diamond_address=diamond_address,
        required_confirmations=2,
    )
    currency = admin.create_currency(catalog, symbol="USDT", decimals=6, tokens={network.id: token_address})
    wallet = admin.create_wallet(
        catalog,
        node_id=root.id,
        network_id=network.id,
        address=DEMO_WALLET_ADDRESS,
        name="Demo platform wallet",
    )
    admin.set_platform_wallet(catalog, network_id=network.id, wallet_id=wallet.id)
    integrations = {}
    for name, node in (("root", root), ("child", child), ("other", other)):
        integration, secret = admin.create_integration(catalog, hashes, node_id=node.id, name=f"Demo {name}")
        integrations[name] = {"client_id": integration.id, "client_secret": secret}
    return {
        "api_url": api_url,
        "nodes": {"root": root.id, "child": child.id, "other": other.id},
        "integrations": integrations,
        "network_id": network.id,
        "chain_id": chain.id,
        "currency_id": currency.id,
        "wallet_id": wallet.id,
    }
