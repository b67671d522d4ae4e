"""Create, read and list payments."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from payments_core import metrics, money
from payments_core.domain.access import Principal, ensure_reaches
from payments_core.domain.entities import KINDS, CatalogEntry, Chain, Currency, Member, Network, Node, Wallet
from payments_core.domain.stores import CatalogEntries, CatalogStore, DealQueue, ExternalIdTaken, PaymentStore
from payments_core.errors import Conflict, NotFound, ValidationFailed, field_error
from payments_core.models.common import utcnow
from payments_core.models.payments import (
    CreatePaymentRequest,
    PaymentList,
    PaymentMethod,
    PaymentResponse,
    PaymentStatus,
)
from payments_core.observability import correlation_id
from payments_core.store.batch import read_both
from payments_core.store.payments import listing_for

MAX_PER_PAGE = 100

# The catalog entries a create request may name: request field -> catalog entity.
_REFERENCES: tuple[tuple[str, type[CatalogEntry]], ...] = (
    ("node_id", Node),
    ("network_id", Network),
    ("currency_id", Currency),
    ("chain_id", Chain),
    ("wallet_id", Wallet),
    ("member_id", Member),
)


class _Refs(NamedTuple):
    """The catalog entries a create request names, each checked to exist (and to be the tenant's)."""

    node: Node
    network: Network
    currency: Currency
    wallet: Wallet | None
    member: Member | None


class _ChainFacts(NamedTuple):
    decimals: int
    token_address: str | None
    symbol: str


class PaymentDeps(NamedTuple):
    catalog: CatalogStore
    payments: PaymentStore
    create_queue: DealQueue


def new_access_token(payment_id: str) -> str:
    """The widget's bearer token: bound to one payment, opaque, unguessable (like Stripe's client secret).

    It is checked against the stored payment (and its `expires_at`) by the widget authorizer; the
    integrator authorizer only takes JWTs, so it is useless on the integrator API.
    """
    return f"pwt_{uuid.UUID(payment_id).hex}_{secrets.token_urlsafe(32)}"


def deal_ref(payment_id: str) -> str:
    """The on-chain reference of a payment's deal: its UUID as a bytes32 (0x + 64 hex digits)."""
    return "0x" + uuid.UUID(payment_id).hex.rjust(64, "0")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _check_references(req: CreatePaymentRequest, found: CatalogEntries, principal: Principal) -> _Refs:
    """The catalog entries the request names (kind -> entry), read before; 404 for the first missing.

    The node comes first: unknown is 404, one the integration does not reach is 403 (the seed's rule).
    Only then the others, in the order of _REFERENCES, so that nothing about another tenant's entries is
    learnt from a node one does not reach. A wallet or member serves its own node and the nodes below it:
    one of another branch of the tree is answered exactly as an unknown id (same status, code, message
    and details), so that ids of other tenants reveal nothing."""
    entries: dict[type[CatalogEntry], CatalogEntry] = {}
    for field, kind in _REFERENCES:
        value = getattr(req, field)
        if value is None:
            continue
        entry = found.get(kind, str(value))
        if isinstance(entry, Wallet | Member) and entry.node_id not in cast(Node, entries[Node]).path:
            entry = None
        if entry is None:
            name = KINDS[kind]
            raise NotFound(
                f"{name.capitalize()} {value} not found",
                code=f"{name}_not_found",
                details=[field_error(f"body.{field}", "not_found", f"no {name} with this id")],
            )
        entries[kind] = entry
        if isinstance(entry, Node):
            ensure_reaches(principal, entry.path)
    return _Refs(
        node=cast(Node, entries[Node]),
        network=cast(Network, entries[Network]),
        currency=cast(Currency, entries[Currency]),
        wallet=cast(Wallet | None, entries.get(Wallet)),
        member=cast(Member | None, entries.get(Member)),
    )


def _check_consistency(req: CreatePaymentRequest, refs: _Refs) -> _ChainFacts:
    """Cross-entity rules; returns the on-chain facts a web3 payment needs."""
    problems: list[dict[str, Any]] = []
    network, currency = refs.network, refs.currency
    decimals = currency.decimals
    max_amount = money.max_amount_of(decimals, currency.max_amount)
    amounts = [("body.price", req.price), ("body.paid_price", req.paid_price)]
    amounts += [(f"body.items.{i}.price", item.price) for i, item in enumerate(req.items or [])]
    for field, amount in amounts:
        if not money.check_scale(amount, decimals):
            problems.append(field_error(field, "too_many_decimals", f"{currency.symbol} has {decimals} decimals"))
        elif amount > max_amount:
            problems.append(
                field_error(field, "amount_too_large", f"{currency.symbol} amounts are at most {max_amount}")
            )
    if req.chain_id is not None and network.chain_id != str(req.chain_id):
        problems.append(field_error("body.chain_id", "network_not_on_chain", "the network is not on this chain"))
    if refs.wallet is not None and refs.wallet.network_id not in (None, str(req.network_id)):
        problems.append(field_error("body.wallet_id", "wallet_not_on_network", "the wallet is on another network"))
    token_address = currency.tokens.get(str(req.network_id))
    if req.payment_method is PaymentMethod.WEB3 and not network.diamond_address:
        problems.append(
            field_error("body.network_id", "network_has_no_diamond", "web3 payments are not open on this network")
        )
    if req.payment_method is PaymentMethod.WEB3 and not token_address:
        problems.append(
            field_error("body.currency_id", "currency_not_on_network", "the currency has no token on this network")
        )
    if problems:
        raise ValidationFailed("The payment is not consistent with the catalog", details=problems)
    return _ChainFacts(decimals=decimals, token_address=token_address, symbol=currency.symbol)


def create_payment(deps: PaymentDeps, principal: Principal, req: CreatePaymentRequest) -> PaymentResponse:
    # The catalog entries the request names and the counters of the listings the payment joins: one
    # round trip (the counters are the insert's first guess; a create that lost a race reads them again).
    wanted = [(kind, str(getattr(req, field))) for field, kind in _REFERENCES if getattr(req, field) is not None]
    found, counters = read_both(
        deps.catalog.read_many(wanted),
        deps.payments.read_counters(
            str(req.node_id), str(req.wallet_id) if req.wallet_id else None, str(req.network_id)
        ),
    )
    refs = _check_references(req, found, principal)
    node = refs.node
    chain_facts = _check_consistency(req, refs)

    now = utcnow()
    payment_id = str(uuid.uuid4())
    record: dict[str, Any] = req.model_dump(mode="python", exclude_none=True)
    for key, value in list(record.items()):
        if isinstance(value, uuid.UUID):
            record[key] = str(value)
    record.update(
        id=payment_id,
        expires_at=iso(req.expires_at),
        client_ip=str(req.client_ip) if req.client_ip else None,
        payment_method=req.payment_method.value,
        payment_group=req.payment_group.value,
        status=PaymentStatus.PENDING.value,
        access_token=new_access_token(payment_id),
        node_path=list(node.path),
        currency_symbol=chain_facts.symbol,
        currency_decimals=chain_facts.decimals,
        created_at=iso(now),
        updated_at=iso(now),
        version=1,
        last_event={
            "type": "created",
            "message": f"Payment created ({req.payment_method.value})",
            "actor_type": principal.actor_type,
            "actor_id": principal.actor_id,
            "status_before": None,
            "correlation_id": correlation_id(),
        },
    )
    if req.payment_method is PaymentMethod.WEB3:
        record.update(
            token_address=chain_facts.token_address,
            amount_units=money.to_minor_units(req.paid_price, chain_facts.decimals),
            deal_ref=deal_ref(payment_id),
        )
    try:
        deps.payments.insert(record, counters)
    except ExternalIdTaken as taken:
        raise Conflict(
            f"A payment with external_id {req.external_id!r} already exists for this node",
            code="payment_already_exists",
            details=[field_error("body.external_id", "duplicate", "already used by another payment of this node")],
            extra={"payment_id": taken.payment_id},
        ) from None

    if req.payment_method is PaymentMethod.WEB3:
        send_create_deal(deps.create_queue, record)
    metrics.count("PaymentsCreated", method=req.payment_method.value, metadata={"payment_id": payment_id})
    return to_response(record)


def create_deal_message(record: dict[str, Any]) -> dict[str, Any]:
    """What the create-deal consumer needs to sign `createDeal` with no further lookups but the payment."""
    return {
        "type": "create_deal",
        "payment_id": record["id"],
        "node_id": record["node_id"],
        "network_id": record["network_id"],
        "wallet_id": record.get("wallet_id"),
        "currency_id": record["currency_id"],
        "token_address": record["token_address"],
        "decimals": int(record["currency_decimals"]),
        "amount_units": str(record["amount_units"]),
        "payee": record["payment_address"],
        "expires_at": record["expires_at"],
        "ref": record["deal_ref"],
        "retry_count": int(record.get("retry_count", 0)),
    }


def signing_group(record: dict[str, Any]) -> str:
    """FIFO message group: one per signing wallet, so that a wallet's nonces never race."""
    wallet = record.get("wallet_id")
    return f"wallet:{wallet}" if wallet else f"network:{record['network_id']}"


def send_create_deal(queue: DealQueue, record: dict[str, Any]) -> str:
    return queue.send(
        create_deal_message(record),
        group=signing_group(record),
        dedup_id=f"{record['id']}:{int(record.get('retry_count', 0))}",
    )


def to_response(record: dict[str, Any]) -> PaymentResponse:
    fields = PaymentResponse.model_fields
    data = {k: v for k, v in record.items() if k in fields}
    if "deal_id" in data and data["deal_id"] is not None:
        data["deal_id"] = int(data["deal_id"])
    if record.get("deposit_block_number") is not None:
        data["block_number"] = int(record["deposit_block_number"])
    if isinstance(record.get("confirmation_status"), dict):
        status = record["confirmation_status"]
        data["confirmation_status"] = {k: v if isinstance(v, bool) else int(v) for k, v in status.items()}
    data["retry_count"] = int(data.get("retry_count", 0))
    return PaymentResponse.model_validate(data)


def get_payment(deps: PaymentDeps, principal: Principal, payment_id: str) -> PaymentResponse:
    record = get_record(deps, payment_id)
    ensure_reaches(principal, record["node_path"], what="payment's node")
    return to_response(record)


def get_record(deps: PaymentDeps, payment_id: str) -> dict[str, Any]:
    try:
        canonical = str(uuid.UUID(payment_id))
    except ValueError:
        canonical = None
    record = deps.payments.get(canonical) if canonical else None
    if record is None:
        raise NotFound(f"Payment {payment_id} not found", code="payment_not_found")
    return record


def list_payments(
    deps: PaymentDeps,
    principal: Principal,
    *,
    node_id: str,
    wallet_id: str | None,
    network_id: str | None,
    page: int,
    per_page: int,
) -> PaymentList:
    listing = listing_for(node_id, wallet_id, network_id)
    # The node (for the access check) and the listing's total: one round trip.
    node, total = read_both(deps.catalog.read_one(Node, node_id), deps.payments.read_total(listing))
    if node is None:
        raise NotFound(
            f"Node {node_id} not found",
            code="node_not_found",
            details=[field_error("query.node_id", "not_found", "no node with this id")],
        )
    ensure_reaches(principal, node.path)
    total, records = deps.payments.page(listing, (page - 1) * per_page, per_page, total)
    return PaymentList(items=[to_response(r) for r in records], page=page, per_page=per_page, total=total)
