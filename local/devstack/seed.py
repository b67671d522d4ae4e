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
        **seed_noramp_demo(catalog, node_id=root.id, integration_id=integrations["root"]["client_id"],
                           token_address=token_address, wallet_id=wallet.id),
    }  # fmt: skip


DEMO_RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil account 1 (the demo payer)


def seed_noramp_demo(
    catalog: CatalogStore, *, node_id: str, integration_id: str, token_address: str, wallet_id: str
) -> dict[str, Any]:
    """NoRamp's demo (DESIGN.md §7's published example): the platform's fee settings (2.9 % + 0.25 usd, platform
    3.9 %), an individual app (app fee 0) of the root node with an API key, an EVM trigger on the demo chain (the
    demo token's `transfer(to, amount)`, signed by the demo wallet) and a static price of 50 usd whose trigger
    parameters are all fixed by the price (its checkout needs no payer input)."""
    import uuid
    from decimal import Decimal

    from payments_core import deps, fees
    from payments_core.domain import apps, prices, rates, triggers
    from payments_core.domain.access import Principal
    from payments_core.models.common import utcnow
    from payments_core.models.prices import CreatePriceRequest
    from payments_core.models.triggers import CreateTriggerRequest

    rates.set_fee_settings(
        deps.fee_settings_store(),
        fees.FeeSettings(
            provider_processing_fee_percent=Decimal("2.9"),
            provider_fixed_fees={"usd": Decimal("0.25"), "eur": Decimal("0.25")},
            platform_fee_percent=Decimal("3.9"),
        ),
        now=utcnow(),
    )
    # An operator's usd -> eur rate, so a price converting to eur checks out on the local stack (no ECB here).
    rates.set_rate(deps.rate_store(), rates.operator_rate("usd", "eur", Decimal("0.9213"), now=utcnow()))
    app = apps.create_app(catalog, node_id=node_id, name="Demo app", type="individual", status="active")
    key, plaintext = apps.create_app_key(catalog, app.id, name="demo")
    caller = Principal(actor_type="integration", actor_id=integration_id, node_id=node_id)
    trigger = triggers.create_trigger(
        catalog,
        caller,
        app.id,
        CreateTriggerRequest.model_validate(
            {
                "wallet_id": f"wal_{uuid.UUID(wallet_id).hex}",
                "name": "Send the buyer 1 USDT",
                "params_data": {"to": {"type": "address"}, "amount": {"type": "uint256"}},
                "call_data": {
                    "evm": {
                        "contract": token_address,
                        "function": {
                            "name": "transfer",
                            "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
                        },
                        "args": [{"param": "to"}, {"param": "amount"}],
                        "gas_limit": 100_000,
                    }
                },
            }
        ),
    )
    price = prices.create_price(
        catalog,
        caller,
        app.id,
        CreatePriceRequest.model_validate(
            {
                "name": "Demo ticket",
                "type": "static",
                "amount": "50",
                "currency": "usd",
                "trigger_id": trigger.id,
                "trigger_data": {"params_data": {"to": DEMO_RECIPIENT, "amount": 1_000_000}},
            }
        ),
    )
    return {"app_id": app.id, "app_api_key": plaintext, "app_key_id": key.id, "trigger_id": trigger.id,
            "price_id": price.id}  # fmt: skip
