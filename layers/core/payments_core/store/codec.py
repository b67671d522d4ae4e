"""DynamoDB attribute values <-> Python values <-> the domain's entities (payments_core.domain.entities).

`from_item` gives plain values (numbers as Decimal, never float); the `*_from` functions below type them
once, for the entity they are; `entity_attributes` is the way back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from payments_core.domain.entities import (
    CatalogEntry,
    Chain,
    Currency,
    Integration,
    Member,
    Network,
    Node,
    Wallet,
)

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def update_expression(changes: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> str:
    """`SET`/`REMOVE` clauses for `changes` (a None value removes the attribute); adds their placeholders
    to `names` and `values`."""
    sets, removes = [], []
    for i, (name, value) in enumerate(changes.items()):
        names[f"#f{i}"] = name
        if value is None:
            removes.append(f"#f{i}")
        else:
            sets.append(f"#f{i} = :v{i}")
            values[f":v{i}"] = value
    clauses = (["SET " + ", ".join(sets)] if sets else []) + (["REMOVE " + ", ".join(removes)] if removes else [])
    return " ".join(clauses)


# ---------------------------------------------------------------------------------------------- entities
# Each entity is converted here, once: DynamoDB's numbers become int where the attribute is an integer (and
# stay Decimal where it is a decimal), absent attributes None.


def _plain(value: Any) -> Any:
    """A value as DynamoDB stores it: tuples as lists, mappings as dicts."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def entity_attributes(entity: CatalogEntry) -> dict[str, Any]:
    """An entry's attributes as stored (None where absent: `to_item` leaves those out)."""
    return {name: _plain(value) for name, value in entity._asdict().items()}


def node_from(d: Mapping[str, Any]) -> Node:
    return Node(d["id"], d["name"], tuple(d.get("path") or ()), d.get("parent_id"), d.get("created_at", ""))


def chain_from(d: Mapping[str, Any]) -> Chain:
    return Chain(d["id"], d["name"], d.get("created_at", ""))


def network_from(d: Mapping[str, Any]) -> Network:
    return Network(
        id=d["id"],
        chain_id=d["chain_id"],
        name=d["name"],
        evm_chain_id=int(d["evm_chain_id"]),
        rpc_url=d.get("rpc_url"),
        diamond_address=d.get("diamond_address"),
        required_confirmations=int(d.get("required_confirmations") or 1),
        platform_wallet_id=d.get("platform_wallet_id"),
        block_time_seconds=d.get("block_time_seconds"),
        created_at=d.get("created_at", ""),
    )


def currency_from(d: Mapping[str, Any]) -> Currency:
    tokens = {str(k): str(v) for k, v in (d.get("tokens") or {}).items()}
    return Currency(d["id"], d["symbol"], int(d["decimals"]), tokens, d.get("max_amount"), d.get("created_at", ""))


def wallet_from(d: Mapping[str, Any]) -> Wallet:
    return Wallet(
        id=d["id"],
        node_id=d["node_id"],
        address=d["address"],
        network_id=d.get("network_id"),
        owner_wallet_id=d.get("owner_wallet_id"),
        name=d.get("name"),
        created_at=d.get("created_at", ""),
    )


def member_from(d: Mapping[str, Any]) -> Member:
    return Member(
        id=d["id"],
        node_id=d["node_id"],
        external_id=d.get("external_id"),
        name=d.get("name"),
        surname=d.get("surname"),
        email=d.get("email"),
        created_at=d.get("created_at", ""),
    )


def integration_from(d: Mapping[str, Any]) -> Integration:
    return Integration(
        id=d["id"],
        node_id=d["node_id"],
        name=d["name"],
        status=d.get("status") or "active",
        created_at=d.get("created_at", ""),
        secret_hash=d.get("secret_hash"),
    )


CATALOG_DECODERS: dict[str, Callable[[Mapping[str, Any]], CatalogEntry]] = {
    "node": node_from,
    "chain": chain_from,
    "network": network_from,
    "currency": currency_from,
    "wallet": wallet_from,
    "member": member_from,
    "integration": integration_from,
}
