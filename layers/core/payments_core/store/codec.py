"""DynamoDB attribute values <-> Python values <-> the domain's entities (payments_core.domain.entities).

`from_item` gives plain values (numbers as Decimal, never float); the `*_from` functions below type them
once, for the entity they are; `entity_attributes` is the way back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from payments_core.fees import PriceItem

from payments_core.domain.entities import (
    App,
    AppKey,
    AppOwner,
    CatalogEntry,
    Chain,
    Confirmations,
    Currency,
    FailureReason,
    Integration,
    LogEntry,
    Member,
    Network,
    Node,
    Payment,
    PaymentChanges,
    PaymentEvent,
    PaymentLine,
    Price,
    Theme,
    ThemeColors,
    Trigger,
    Wallet,
)
from payments_core.models.enums import PaymentGroup, PaymentMethod, PaymentStatus, ProviderMethod

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
    """A value as DynamoDB stores it: entities (NamedTuples) as maps, tuples as lists, mappings as dicts,
    enums as their string."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def entity_attributes(entity: CatalogEntry | Payment | LogEntry) -> dict[str, Any]:
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
        signing_pool=tuple(d.get("signing_pool") or ()),
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


def _plain_map(value: Any) -> dict[str, Any] | None:
    """A stored map as plain Python (DynamoDB's numbers stay Decimal), or None."""
    return None if value is None else dict(value)


def theme_from(d: Mapping[str, Any] | None) -> Theme | None:
    if not d:
        return None
    c = d.get("colors") or {}
    colors = ThemeColors(*(str(c.get(name, "")) for name in ThemeColors._fields))
    return Theme(
        id=d["id"],
        name=d["name"],
        colors=colors,
        visibility=d.get("visibility") or "public",
        created_at=d.get("created_at", ""),
        updated_at=d.get("updated_at", ""),
    )


def app_from(d: Mapping[str, Any]) -> App:
    o = d.get("owner") or {}
    return App(
        id=d["id"],
        node_id=d["node_id"],
        node_path=tuple(d.get("node_path") or ()),
        name=d["name"],
        type=d["type"],
        status=d["status"],
        app_fee=d.get("app_fee", 0),
        owner=AppOwner(o.get("id", ""), o.get("username", ""), o.get("first_name"), o.get("last_name")),
        theme=theme_from(d.get("theme")),
        kyc_return_url=d.get("kyc_return_url"),
        use_explorer=bool(d.get("use_explorer")),
        featured=bool(d.get("featured")),
        created_at=d.get("created_at", ""),
        updated_at=d.get("updated_at", ""),
    )


def app_key_from(d: Mapping[str, Any]) -> AppKey:
    return AppKey(
        id=d["id"],
        app_id=d["app_id"],
        secret_hash=d["secret_hash"],
        name=d.get("name"),
        status=d.get("status") or "active",
        created_at=d.get("created_at", ""),
        revoked_at=d.get("revoked_at"),
        updated_at=d.get("updated_at", ""),
    )


def price_from(d: Mapping[str, Any]) -> Price:
    return Price(
        id=d["id"],
        app_id=d["app_id"],
        type=d["type"],
        name=d["name"],
        amount=d["amount"],
        currency=d["currency"],
        currency_conversion=d.get("currency_conversion"),
        trigger_id=d.get("trigger_id"),
        trigger_data=_plain_map(d.get("trigger_data")),
        kyc_id=d.get("kyc_id"),
        metadata=_plain_map(d.get("metadata")),
        network_type=d.get("network_type") or "testnet",
        category=d.get("category") or "payment",
        contract=d.get("contract"),
        chain=d.get("chain"),
        views=int(d.get("views") or 0),
        expired=bool(d.get("expired")),
        deleted=bool(d.get("deleted")),
        created_at=d.get("created_at", ""),
        updated_at=d.get("updated_at", ""),
    )


def trigger_from(d: Mapping[str, Any]) -> Trigger:
    return Trigger(
        id=d["id"],
        app_id=d["app_id"],
        wallet_id=d["wallet_id"],
        name=d["name"],
        call_data=dict(d.get("call_data") or {}),
        params_data=_plain_map(d.get("params_data")),
        deleted=bool(d.get("deleted")),
        created_at=d.get("created_at", ""),
        updated_at=d.get("updated_at", ""),
    )


CATALOG_DECODERS: dict[str, Callable[[Mapping[str, Any]], CatalogEntry]] = {
    "node": node_from,
    "chain": chain_from,
    "network": network_from,
    "currency": currency_from,
    "wallet": wallet_from,
    "member": member_from,
    "integration": integration_from,
    "app": app_from,
    "app_key": app_key_from,
    "price": price_from,
    "trigger": trigger_from,
}


# ---------------------------------------------------------------------------------------------- payments
def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _status(value: Any) -> PaymentStatus | None:
    return None if value is None else PaymentStatus(value)


def payment_event_from(d: Mapping[str, Any] | None) -> PaymentEvent | None:
    if not d:
        return None
    return PaymentEvent(
        type=str(d.get("type") or ""),
        message=str(d.get("message") or ""),
        actor_type=str(d.get("actor_type") or "system"),
        actor_id=d.get("actor_id"),
        status_before=_status(d.get("status_before")),
        correlation_id=d.get("correlation_id"),
    )


def confirmations_from(d: Mapping[str, Any] | None) -> Confirmations | None:
    if not d:
        return None
    return Confirmations(
        required_confirmations=int(d["required_confirmations"]),
        confirmations=int(d["confirmations"]),
        average_seconds=int(d.get("average_seconds") or 0),
        progress=int(d.get("progress") or 0),
        confirmed=bool(d.get("confirmed")),
    )


def failure_from(d: Mapping[str, Any] | None) -> FailureReason | None:
    if not d:
        return None
    return FailureReason(code=str(d.get("code") or ""), message=str(d.get("message") or ""))


def price_item_from(d: Mapping[str, Any] | None) -> PriceItem | None:
    """A checkout's fee breakdown as stored (fees.PriceItem; its decimals stay Decimal)."""
    if not d:
        return None
    from payments_core.fees import Conversion, PriceItem

    conversion = d.get("conversion")
    values: dict[str, Any] = {name: d.get(name) for name in PriceItem._fields if name != "conversion"}
    converted_values: dict[str, Any] = {name: conversion.get(name) for name in Conversion._fields} if conversion else {}
    converted = Conversion(**converted_values) if conversion else None
    return PriceItem(**values, conversion=converted)


def payment_from(d: Mapping[str, Any]) -> Payment:
    """A payments-table item (or a stream image), typed once."""
    items = d.get("items")
    return Payment(
        id=d["id"],
        external_id=d["external_id"],
        node_id=d["node_id"],
        node_path=tuple(d.get("node_path") or ()),
        network_id=d["network_id"],
        currency_id=d["currency_id"],
        price=d["price"],
        paid_price=d["paid_price"],
        payment_method=PaymentMethod(d["payment_method"]),
        payment_group=PaymentGroup(d["payment_group"]),
        payment_address=d["payment_address"],
        expires_at=d["expires_at"],
        status=PaymentStatus(d["status"]),
        access_token=d.get("access_token", ""),
        currency_symbol=d.get("currency_symbol", ""),
        currency_decimals=int(d.get("currency_decimals") or 0),
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        version=int(d["version"]),
        last_event=payment_event_from(d.get("last_event")),
        chain_id=d.get("chain_id"),
        wallet_id=d.get("wallet_id"),
        member_id=d.get("member_id"),
        member={str(k): str(v) for k, v in d["member"].items()} if d.get("member") else None,
        items=tuple(PaymentLine(i["name"], i["price"], i["external_id"]) for i in items) if items else None,
        metadata=d.get("metadata"),
        client_ip=d.get("client_ip"),
        retry=bool(d.get("retry")),
        retry_count=int(d.get("retry_count") or 0),
        retried_at=d.get("retried_at"),
        token_address=d.get("token_address"),
        amount_units=_int(d.get("amount_units")),
        deal_ref=d.get("deal_ref"),
        signer_wallet_id=d.get("signer_wallet_id"),
        deal_id=_int(d.get("deal_id")),
        deal_transaction_hash=d.get("deal_transaction_hash"),
        deal_block_number=_int(d.get("deal_block_number")),
        deal_block_hash=d.get("deal_block_hash"),
        deal_verified=None if d.get("deal_verified") is None else bool(d["deal_verified"]),
        deal_may_exist=bool(d.get("deal_may_exist")),
        create_sent_at=d.get("create_sent_at"),
        expire_on_cancel=bool(d.get("expire_on_cancel")),
        cancel_sent_at=d.get("cancel_sent_at"),
        cancel_transaction_hash=d.get("cancel_transaction_hash"),
        send_failed_reason=failure_from(d.get("send_failed_reason")),
        cancel_failed_reason=failure_from(d.get("cancel_failed_reason")),
        transaction_hash=d.get("transaction_hash"),
        payer=d.get("payer"),
        deposit_amount=None if d.get("deposit_amount") is None else str(d["deposit_amount"]),
        deposit_block_number=_int(d.get("deposit_block_number")),
        deposit_block_hash=d.get("deposit_block_hash"),
        deposit_log_index=_int(d.get("deposit_log_index")),
        paid_at=d.get("paid_at"),
        confirmation_status=confirmations_from(d.get("confirmation_status")),
        confirmed_at=d.get("confirmed_at"),
        app_id=d.get("app_id"),
        price_id=d.get("price_id"),
        payment_provider=ProviderMethod(d["payment_provider"]) if d.get("payment_provider") else None,
        trigger_data_input=_plain_map(d.get("trigger_data_input")),
        price_item=price_item_from(d.get("price_item")),
        transaction_id=d.get("transaction_id"),
        transaction_url=d.get("transaction_url"),
        transaction_response=_plain_map(d.get("transaction_response")),
        provider_state=d.get("provider_state"),
        decline_code=d.get("decline_code"),
        provider_synced_at=d.get("provider_synced_at"),
        captured_amount=d.get("captured_amount"),
        refunded_amount=d.get("refunded_amount"),
        refund_count=int(d.get("refund_count") or 0),
    )


# Flags stored only once set (a payment no worker has claimed has no `deal_may_exist` attribute).
_UNSET_FLAGS = frozenset({"deal_may_exist", "expire_on_cancel"})


def payment_attributes(payment: Payment) -> dict[str, Any]:
    """A payment's attributes as stored (absent ones, and flags never set, left out)."""
    return {
        name: _plain(value)
        for name, value in payment._asdict().items()
        if value is not None and not (name in _UNSET_FLAGS and not value)
    }


def change_attributes(changes: PaymentChanges) -> dict[str, Any]:
    """A change's attributes as stored; None (remove the attribute) stays None (`update_expression`)."""
    return {name: None if value is None else _plain(value) for name, value in changes.items()}


def log_entry_from(d: Mapping[str, Any]) -> LogEntry:
    return LogEntry(
        payment_id=d["payment_id"],
        sk=d["sk"],
        id=d["id"],
        event_type=d["event_type"],
        message=d["message"],
        actor_type=d["actor_type"],
        actor_id=d.get("actor_id"),
        status_before=_status(d.get("status_before")),
        status_after=PaymentStatus(d["status_after"]),
        created_at=d["created_at"],
        node_id=d.get("node_id"),
        correlation_id=d.get("correlation_id"),
    )
