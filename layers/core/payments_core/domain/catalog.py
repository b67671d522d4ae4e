"""Catalog administration: what the operator CLI and the local stack's seed do."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from payments_core import money
from payments_core.domain.entities import (
    KINDS,
    CatalogEntry,
    Chain,
    Currency,
    Integration,
    Member,
    Network,
    Node,
    Wallet,
)
from payments_core.domain.stores import CatalogStore
from payments_core.domain.watcher import check_required_confirmations
from payments_core.errors import NotFound, ValidationFailed
from payments_core.models.common import utcnow
from payments_core.security import passwords

if TYPE_CHECKING:
    from payments_core.domain.stores import IntegrationStatusStore, SecretHashStore
    from payments_core.store.rpc_urls import RpcUrlStore

INTEGRATION_STATUSES = ("active", "disabled")


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")


def _require[E: CatalogEntry](catalog: CatalogStore, kind: type[E], id_: str) -> E:
    found = catalog.get(kind, id_)
    if found is None:
        name = KINDS[kind]
        raise NotFound(f"{name} {id_} not found", code=f"{name}_not_found")
    return found


def create_node(catalog: CatalogStore, name: str, parent_id: str | None = None) -> Node:
    node_id = _new_id()
    parent_path = _require(catalog, Node, parent_id).path if parent_id else ()
    node = Node(id=node_id, name=name, path=(*parent_path, node_id), parent_id=parent_id, created_at=_now())
    catalog.put_new(node)
    return node


def create_chain(catalog: CatalogStore, name: str) -> Chain:
    chain = Chain(id=_new_id(), name=name, created_at=_now())
    catalog.put_new(chain)
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
) -> Network:
    _require(catalog, Chain, chain_id)
    # The chain watcher re-reads that many blocks every run: they must fit its scan window.
    problem = check_required_confirmations(required_confirmations)
    if problem is not None:
        raise ValidationFailed(problem)
    network = Network(
        id=_new_id(),
        chain_id=chain_id,
        name=name,
        evm_chain_id=evm_chain_id,
        diamond_address=diamond_address,
        required_confirmations=required_confirmations,
        created_at=_now(),
    )
    # The RPC URL (often with a provider's API key) goes to Secrets Manager, never the catalog; first, so that
    # no network is ever listed without one.
    rpc_urls.put(network.id, rpc_url)
    catalog.put_new(network)
    return network


def set_rpc_url(catalog: CatalogStore, rpc_urls: RpcUrlStore, *, network_id: str, rpc_url: str) -> Network:
    """Replace a network's RPC URL (a warm chain function sees it within store.rpc_urls.CACHE_SECONDS)."""
    network = _require(catalog, Network, network_id)
    rpc_urls.put(network_id, rpc_url)
    return network


def create_currency(
    catalog: CatalogStore,
    *,
    symbol: str,
    decimals: int,
    tokens: Mapping[str, str] | None = None,
    max_amount: Decimal | None = None,
) -> Currency:
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
        _require(catalog, Network, network_id)
    currency = Currency(
        id=_new_id(), symbol=symbol, decimals=decimals, tokens=dict(tokens or {}), max_amount=max_amount,
        created_at=_now(),
    )  # fmt: skip
    catalog.put_new(currency)
    return currency


def create_wallet(
    catalog: CatalogStore,
    *,
    node_id: str,
    address: str,
    network_id: str | None = None,
    owner_wallet_id: str | None = None,
    name: str | None = None,
) -> Wallet:
    _require(catalog, Node, node_id)
    if network_id:
        _require(catalog, Network, network_id)
    if owner_wallet_id:
        _require(catalog, Wallet, owner_wallet_id)
    wallet = Wallet(
        id=_new_id(),
        node_id=node_id,
        address=address,
        network_id=network_id,
        owner_wallet_id=owner_wallet_id,
        name=name,
        created_at=_now(),
    )
    catalog.put_new(wallet)
    return wallet


def set_platform_wallet(catalog: CatalogStore, *, network_id: str, wallet_id: str) -> Network:
    """The wallet that signs the network's deals for payments that name no wallet of their own."""
    network = _require(catalog, Network, network_id)
    wallet = _require(catalog, Wallet, wallet_id)
    if wallet.network_id not in (None, network_id):
        raise ValidationFailed("the wallet is on another network", code="wallet_not_on_network")
    updated = network._replace(platform_wallet_id=wallet_id)
    catalog.put(updated)
    return updated


def set_signing_pool(catalog: CatalogStore, *, network_id: str, wallet_ids: Sequence[str]) -> Network:
    """More platform wallets that sign the network's deals for payments naming no wallet (decision 0045): each
    new payment gets one of the platform wallet and these (its lane). Each must be a wallet of the network (or
    of none), a platform wallet of the diamond, and have its key stored. Payments made before keep theirs."""
    network = _require(catalog, Network, network_id)
    for wallet_id in wallet_ids:
        wallet = _require(catalog, Wallet, wallet_id)
        if wallet.network_id not in (None, network_id):
            raise ValidationFailed(f"wallet {wallet_id} is on another network", code="wallet_not_on_network")
    updated = network._replace(signing_pool=tuple(dict.fromkeys(wallet_ids)))
    catalog.put(updated)
    return updated


def create_member(
    catalog: CatalogStore,
    *,
    node_id: str,
    external_id: str | None = None,
    name: str | None = None,
    surname: str | None = None,
    email: str | None = None,
) -> Member:
    _require(catalog, Node, node_id)
    member = Member(
        id=_new_id(),
        node_id=node_id,
        external_id=external_id,
        name=name,
        surname=surname,
        email=email,
        created_at=_now(),
    )
    catalog.put_new(member)
    return member


def create_integration(
    catalog: CatalogStore, secret_hashes: SecretHashStore, *, node_id: str, name: str
) -> tuple[Integration, str]:
    """A new integration of `node_id`; returns it and its client secret (shown once, stored hashed in the
    secrets table, which only the token endpoint reads; the catalog entry holds no hash)."""
    _require(catalog, Node, node_id)
    client_secret = f"cs_{secrets.token_urlsafe(32)}"
    integration = Integration(
        id=f"ci_{secrets.token_hex(12)}", node_id=node_id, name=name, status="active", created_at=_now()
    )
    # The hash first: an entry without a hash would be an integration no one can use; a hash without an
    # entry (a crash in between) opens nothing, the token endpoint needs both.
    secret_hashes.put_new(integration.id, passwords.hash_secret(client_secret))
    catalog.put_new(integration)
    return integration, client_secret


def set_integration_status(
    catalog: CatalogStore, statuses: IntegrationStatusStore, *, integration_id: str, status: str
) -> Integration:
    """Disable or enable an integration. Disabled: no new token, and the integrator authorizer refuses its
    existing tokens within its status cache (INTEGRATION_STATUS_CACHE_SECONDS, at most 60 s)."""
    if status not in INTEGRATION_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(INTEGRATION_STATUSES)}")
    if not statuses.set_status(integration_id, status):
        raise NotFound(f"integration {integration_id} not found", code="integration_not_found")
    return _require(catalog, Integration, integration_id)


def move_secrets_out_of_the_catalog(
    catalog: CatalogStore, secret_hashes: SecretHashStore, rpc_urls: RpcUrlStore
) -> dict[str, list[str]]:
    """A stack deployed before the secrets table: every integration's `secret_hash` and every network's
    `rpc_url` still in the catalog move to their stores and leave the catalog. Idempotent."""
    from payments_core.domain.stores import SecretHashExists

    moved: dict[str, list[str]] = {"integrations": [], "networks": []}
    for integration in catalog.list(Integration):
        if integration.secret_hash is not None:
            with contextlib.suppress(SecretHashExists):  # moved by a run that stopped before the catalog write
                secret_hashes.put_new(integration.id, integration.secret_hash)
            catalog.put(integration._replace(secret_hash=None))
            moved["integrations"].append(integration.id)
    for network in catalog.list(Network):
        if network.rpc_url is not None:
            rpc_urls.put(network.id, network.rpc_url)
            catalog.put(network._replace(rpc_url=None))
            moved["networks"].append(network.id)
    return moved


def public(entry: CatalogEntry) -> dict[str, Any]:
    """An entry as the CLI shows it: no secret hashes or RPC URLs, absent fields left out, numbers as plain
    numbers."""
    out: dict[str, Any] = {}
    for k, v in entry._asdict().items():
        if k in ("secret_hash", "rpc_url") or v is None:
            continue
        if isinstance(v, tuple):
            out[k] = list(v)
        elif isinstance(v, Mapping):
            out[k] = dict(v)
        elif isinstance(v, Decimal):
            out[k] = int(v) if v == v.to_integral_value() else str(v)
        else:
            out[k] = v
    return out
