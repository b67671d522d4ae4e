"""The domain's entities: each catalog entry, as the stores return and take them.

Immutable `NamedTuple`s: defining one costs a tenth of what a frozen dataclass does at import (a cold start
defines them all; `make bench` measures it), and `_replace` gives the changed copy a status move writes
(mypy checks its fields and types). Values are typed once, in the store's codec (store/codec.py):
integers are `int` (never DynamoDB's Decimal), decimals `Decimal`, absent attributes `None`; domain code
reads attributes, never `record["..."]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple


# ---------------------------------------------------------------------------------------------- the catalog
class Node(NamedTuple):
    """A node of the tenant tree; `path` is the ids from the root down to itself (nodes never move)."""

    id: str
    name: str
    path: tuple[str, ...]
    parent_id: str | None = None
    created_at: str = ""


class Chain(NamedTuple):
    id: str
    name: str
    created_at: str = ""


class Network(NamedTuple):
    id: str
    chain_id: str
    name: str
    evm_chain_id: int
    rpc_url: str | None = None  # legacy: only on a stack from before RPC URLs moved to Secrets Manager
    diamond_address: str | None = None
    required_confirmations: int = 1
    platform_wallet_id: str | None = None  # signs the deals of payments that name no wallet
    block_time_seconds: Decimal | None = None  # the watcher's fallback when it cannot measure
    created_at: str = ""


class Currency(NamedTuple):
    id: str
    symbol: str
    decimals: int
    tokens: Mapping[str, str] = {}  # network id -> the token's contract address there
    max_amount: Decimal | None = None  # None: money.default_max_amount(decimals)
    created_at: str = ""


class Wallet(NamedTuple):
    id: str
    node_id: str
    address: str
    network_id: str | None = None  # None: any network
    owner_wallet_id: str | None = None  # the wallet whose key signs for this one
    name: str | None = None
    created_at: str = ""


class Member(NamedTuple):
    id: str
    node_id: str
    external_id: str | None = None
    name: str | None = None
    surname: str | None = None
    email: str | None = None
    created_at: str = ""


class Integration(NamedTuple):
    """An integrator's client credentials: `id` is the client id; the secret's hash is in the secrets table
    (store.integration_secrets), read by the token endpoint only."""

    id: str
    node_id: str
    name: str
    status: str = "active"
    created_at: str = ""
    secret_hash: str | None = None  # legacy: only on a stack from before the secrets table (migrate-secrets)


type CatalogEntry = Node | Chain | Network | Currency | Wallet | Member | Integration

# The catalog kind of each entity (the `<kind>#<id>` key and the `by_kind` index).
KINDS: dict[type[Any], str] = {  # keyed by the entity classes of CatalogEntry
    Node: "node",
    Chain: "chain",
    Network: "network",
    Currency: "currency",
    Wallet: "wallet",
    Member: "member",
    Integration: "integration",
}
ENTITIES: dict[str, type[Any]] = {kind: entity for entity, kind in KINDS.items()}  # kind -> entity class
