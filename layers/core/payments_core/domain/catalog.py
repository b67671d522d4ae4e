"""Catalog administration: what the operator CLI and the local stack's seed do."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from payments_core import money
from payments_core.errors import NotFound, ValidationFailed
from payments_core.models.common import utcnow
from payments_core.security import passwords
from payments_core.store.catalog import CatalogStore

if TYPE_CHECKING:
    from payments_core.store.integration_secrets import SecretHashStore
    from payments_core.store.integrations import IntegrationStatusStore
    from payments_core.store.rpc_urls import RpcUrlStore

INTEGRATION_STATUSES = ("active", "disabled")


def _new(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "created_at": utcnow().isoformat().replace("+00:00", "Z"), **fields}


def _require(catalog: CatalogStore, kind: str, id_: str) -> dict[str, Any]:
    found = catalog.get(kind, id_)
    if found is None:
        raise NotFound(f"{kind} {id_} not found", code=f"{kind}_not_found")
    return found


def create_node(catalog: CatalogStore, name: str, parent_id: str | None = None) -> dict[str, Any]:
    node = _new(name=name, parent_id=parent_id)
    parent_path = list(_require(catalog, "node", parent_id)["path"]) if parent_id else []
    node["path"] = [*parent_path, node["id"]]
    catalog.put_new("node", node)
    return node


def create_chain(catalog: CatalogStore, name: str) -> dict[str, Any]:
    chain = _new(name=name)
    catalog.put_new("chain", chain)
    return chain


def create_network(
    catalog: CatalogStore,
    rpc_urls: RpcUrlStore,
    *,
    chain_id: str,
    name: str,
    evm_chain_id: int,
    rpc_url: str,
    diamond_address: str | None = None,
    required_confirmations: int = 12,
) -> dict[str, Any]:
    _require(catalog, "chain", chain_id)
    if required_confirmations < 1:
        raise ValidationFailed("required_confirmations must be at least 1")
    network = _new(
        chain_id=chain_id,
        name=name,
        evm_chain_id=evm_chain_id,
        diamond_address=diamond_address,
        required_confirmations=required_confirmations,
    )
    # The RPC URL (often with a provider's API key) goes to Secrets Manager, never the catalog; first, so that
    # no network is ever listed without one.
    rpc_urls.put(network["id"], rpc_url)
    catalog.put_new("network", network)
    return network


def set_rpc_url(catalog: CatalogStore, rpc_urls: RpcUrlStore, *, network_id: str, rpc_url: str) -> dict[str, Any]:
    """Replace a network's RPC URL (a warm chain function sees it within store.rpc_urls.CACHE_SECONDS)."""
    network = _require(catalog, "network", network_id)
    rpc_urls.put(network_id, rpc_url)
    return network


def create_currency(
    catalog: CatalogStore,
    *,
    symbol: str,
    decimals: int,
    tokens: dict[str, str] | None = None,
    max_amount: Decimal | None = None,
) -> dict[str, Any]:
    """A currency. `max_amount`: the largest amount of a payment in it; None means the default, the largest
    whose smallest-unit value DynamoDB stores exactly (money.default_max_amount: 10^38 - 1 smallest units)."""
    if not 0 <= decimals <= money.MAX_DECIMALS:
        raise ValidationFailed(f"decimals must be between 0 and {money.MAX_DECIMALS}")
    if max_amount is not None:
        ceiling = money.default_max_amount(decimals)
        if not max_amount.is_finite() or not 0 < max_amount <= ceiling or not money.check_scale(max_amount, decimals):
            raise ValidationFailed(f"max_amount must be positive, at most {ceiling}, with at most {decimals} decimals")
        max_amount = money.canonical(max_amount)
    for network_id in tokens or {}:
        _require(catalog, "network", network_id)
    currency = _new(symbol=symbol, decimals=decimals, tokens=dict(tokens or {}), max_amount=max_amount)
    catalog.put_new("currency", currency)
    return currency


def create_wallet(
    catalog: CatalogStore,
    *,
    node_id: str,
    address: str,
    network_id: str | None = None,
    owner_wallet_id: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    _require(catalog, "node", node_id)
    if network_id:
        _require(catalog, "network", network_id)
    if owner_wallet_id:
        _require(catalog, "wallet", owner_wallet_id)
    wallet = _new(node_id=node_id, address=address, network_id=network_id, owner_wallet_id=owner_wallet_id, name=name)
    catalog.put_new("wallet", wallet)
    return wallet


def set_platform_wallet(catalog: CatalogStore, *, network_id: str, wallet_id: str) -> dict[str, Any]:
    """The wallet that signs the network's deals for payments that name no wallet of their own."""
    network = _require(catalog, "network", network_id)
    wallet = _require(catalog, "wallet", wallet_id)
    if wallet.get("network_id") not in (None, network_id):
        raise ValidationFailed("the wallet is on another network", code="wallet_not_on_network")
    updated = {**network, "platform_wallet_id": wallet_id}
    catalog.put("network", updated)
    return updated


def create_member(catalog: CatalogStore, *, node_id: str, **fields: Any) -> dict[str, Any]:
    _require(catalog, "node", node_id)
    member = _new(node_id=node_id, **{k: v for k, v in fields.items() if v is not None})
    catalog.put_new("member", member)
    return member


def create_integration(
    catalog: CatalogStore, secret_hashes: SecretHashStore, *, node_id: str, name: str
) -> tuple[dict[str, Any], str]:
    """A new integration of `node_id`; returns it and its client secret (shown once, stored hashed in the
    secrets table, which only the token endpoint reads; the catalog entry holds no hash)."""
    _require(catalog, "node", node_id)
    client_id = f"ci_{secrets.token_hex(12)}"
    client_secret = f"cs_{secrets.token_urlsafe(32)}"
    integration = _new(node_id=node_id, name=name, status="active")
    integration["id"] = client_id
    # The hash first: an entry without a hash would be an integration no one can use; a hash without an
    # entry (a crash in between) opens nothing, the token endpoint needs both.
    secret_hashes.put_new(client_id, passwords.hash_secret(client_secret))
    catalog.put_new("integration", integration)
    return integration, client_secret


def set_integration_status(
    catalog: CatalogStore, statuses: IntegrationStatusStore, *, integration_id: str, status: str
) -> dict[str, Any]:
    """Disable or enable an integration. Disabled: no new token, and the integrator authorizer refuses its
    existing tokens within its status cache (INTEGRATION_STATUS_CACHE_SECONDS, at most 60 s)."""
    if status not in INTEGRATION_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(INTEGRATION_STATUSES)}")
    if not statuses.set_status(integration_id, status):
        raise NotFound(f"integration {integration_id} not found", code="integration_not_found")
    return _require(catalog, "integration", integration_id)


def move_secrets_out_of_the_catalog(
    catalog: CatalogStore, secret_hashes: SecretHashStore, rpc_urls: RpcUrlStore
) -> dict[str, list[str]]:
    """A stack deployed before the secrets table: every integration's `secret_hash` and every network's
    `rpc_url` still in the catalog move to their stores and leave the catalog. Idempotent."""
    from payments_core.store.integration_secrets import SecretHashExists

    moved: dict[str, list[str]] = {"integrations": [], "networks": []}
    for integration in catalog.list("integration"):
        if "secret_hash" in integration:
            with contextlib.suppress(SecretHashExists):  # moved by a run that stopped before the catalog write
                secret_hashes.put_new(integration["id"], integration["secret_hash"])
            catalog.put("integration", {k: v for k, v in integration.items() if k not in ("secret_hash", "pk", "kind")})
            moved["integrations"].append(integration["id"])
    for network in catalog.list("network"):
        if "rpc_url" in network:
            rpc_urls.put(network["id"], network["rpc_url"])
            catalog.put("network", {k: v for k, v in network.items() if k not in ("rpc_url", "pk", "kind")})
            moved["networks"].append(network["id"])
    return moved


def public(item: dict[str, Any]) -> dict[str, Any]:
    """An entry as the CLI shows it: no keys, no secret hashes, numbers as plain numbers."""
    out = {}
    for k, v in item.items():
        if k in ("pk", "kind", "secret_hash", "rpc_url"):
            continue
        out[k] = (int(v) if v == v.to_integral_value() else str(v)) if isinstance(v, Decimal) else v
    return out
