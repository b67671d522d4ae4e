"""Create, read and list payments."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any, NamedTuple, cast
from uuid import UUID

from payments_core import metrics, money
from payments_core.domain.access import Principal, ensure_reaches
from payments_core.domain.entities import (
    KINDS,
    CatalogEntry,
    Chain,
    Currency,
    FailureReason,
    Member,
    Network,
    Node,
    Payment,
    PaymentEvent,
    PaymentLine,
    Wallet,
)
from payments_core.domain.stores import CatalogEntries, CatalogStore, DealQueue, ExternalIdTaken, PaymentStore
from payments_core.errors import Conflict, NotFound, ValidationFailed, field_error
from payments_core.models.common import utcnow
from payments_core.models.payments import (
    ChainFailureReason,
    ConfirmationStatus,
    CreatePaymentRequest,
    PaymentList,
    PaymentMethod,
    PaymentResponse,
    PaymentStatus,
)
from payments_core.models.payments import Member as ApiMember
from payments_core.models.payments import PaymentItem as ApiPaymentItem
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
    signer_wallet_id: str | None  # web3: the wallet whose key signs the deal (its lane)


class PaymentDeps(NamedTuple):
    catalog: CatalogStore
    payments: PaymentStore
    deal_queue: DealQueue  # the lanes: create- and cancel-deal messages, one FIFO group per signing key


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


def _check_consistency(req: CreatePaymentRequest, refs: _Refs, payment_id: str) -> _ChainFacts:
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
    signer = signer_of(refs.wallet, network, payment_id)
    if req.payment_method is PaymentMethod.WEB3 and signer is None:
        problems.append(
            field_error(
                "body.wallet_id", "no_signing_wallet", "the network has no platform wallet: name a wallet that signs"
            )
        )
    if problems:
        raise ValidationFailed("The payment is not consistent with the catalog", details=problems)
    return _ChainFacts(
        decimals=decimals,
        token_address=token_address,
        symbol=currency.symbol,
        signer_wallet_id=signer if req.payment_method is PaymentMethod.WEB3 else None,
    )


def signer_of(wallet: Wallet | None, network: Network, payment_id: str) -> str | None:
    """The wallet whose key signs a payment's deal: the payment's wallet's owner wallet where one is set, else
    the payment's wallet, else one of the network's platform signers (its platform wallet and its signing pool,
    decision 0045), chosen from the payment's id: a stable choice, spread evenly. None: nobody can sign."""
    if wallet is not None:
        return wallet.owner_wallet_id or wallet.id
    signers = network.platform_signers
    if not signers:
        return None
    return signers[int(hashlib.sha256(payment_id.encode()).hexdigest()[:8], 16) % len(signers)]


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
    payment_id = str(uuid.uuid4())
    chain_facts = _check_consistency(req, refs, payment_id)

    now = utcnow()
    web3 = req.payment_method is PaymentMethod.WEB3
    payment = Payment(
        id=payment_id,
        external_id=req.external_id,
        node_id=str(req.node_id),
        node_path=node.path,
        network_id=str(req.network_id),
        currency_id=str(req.currency_id),
        price=req.price,
        paid_price=req.paid_price,
        payment_method=req.payment_method,
        payment_group=req.payment_group,
        payment_address=req.payment_address,
        expires_at=iso(req.expires_at),
        status=PaymentStatus.PENDING,
        access_token=new_access_token(payment_id),
        currency_symbol=chain_facts.symbol,
        currency_decimals=chain_facts.decimals,
        created_at=iso(now),
        updated_at=iso(now),
        version=1,
        last_event=PaymentEvent(
            type="created",
            message=f"Payment created ({req.payment_method.value})",
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
            correlation_id=correlation_id(),
        ),
        chain_id=str(req.chain_id) if req.chain_id else None,
        wallet_id=str(req.wallet_id) if req.wallet_id else None,
        member_id=str(req.member_id) if req.member_id else None,
        member=req.member.model_dump(exclude_none=True) if req.member else None,
        items=tuple(PaymentLine(i.name, i.price, i.external_id) for i in req.items) if req.items else None,
        metadata=req.metadata,
        client_ip=str(req.client_ip) if req.client_ip else None,
        retry=req.retry,
        retry_count=req.retry_count,
        token_address=chain_facts.token_address if web3 else None,
        amount_units=money.to_minor_units(req.paid_price, chain_facts.decimals) if web3 else None,
        deal_ref=deal_ref(payment_id) if web3 else None,
        signer_wallet_id=chain_facts.signer_wallet_id,
    )
    try:
        deps.payments.insert(payment, counters)
    except ExternalIdTaken as taken:
        raise Conflict(
            f"A payment with external_id {req.external_id!r} already exists for this node",
            code="payment_already_exists",
            details=[field_error("body.external_id", "duplicate", "already used by another payment of this node")],
            extra={"payment_id": taken.payment_id},
        ) from None

    if web3:
        send_create_deal(deps.deal_queue, payment)
    metrics.count("PaymentsCreated", method=req.payment_method.value, metadata={"payment_id": payment_id})
    return to_response(payment)


def create_deal_message(payment: Payment) -> dict[str, Any]:
    """What the create-deal consumer needs to sign `createDeal` with no further lookups but the payment."""
    return {
        "type": "create_deal",
        "payment_id": payment.id,
        "node_id": payment.node_id,
        "network_id": payment.network_id,
        "wallet_id": payment.wallet_id,
        "currency_id": payment.currency_id,
        "token_address": payment.token_address,
        "decimals": payment.currency_decimals,
        "amount_units": str(payment.amount_units),
        "payee": payment.payment_address,
        "expires_at": payment.expires_at,
        "ref": payment.deal_ref,
        "signer_wallet_id": payment.signer_wallet_id,
        "retry_count": payment.retry_count,
    }


def signing_group(payment: Payment) -> str:
    """FIFO message group, the lane: one per signing key, for every transaction it sends (the create and the
    cancel of every wallet and network it signs for), so that its nonces never race (decision 0038).

    A payment stored before its signer was (no `signer_wallet_id`) keeps the group it was sent in."""
    if payment.signer_wallet_id:
        return f"signer:{payment.signer_wallet_id}"
    return f"wallet:{payment.wallet_id}" if payment.wallet_id else f"network:{payment.network_id}"


def send_create_deal(queue: DealQueue, payment: Payment) -> str:
    return queue.send(
        create_deal_message(payment), group=signing_group(payment), dedup_id=f"{payment.id}:{payment.retry_count}"
    )


def to_response(payment: Payment) -> PaymentResponse:
    """The API's view of a payment (what it shows of the stored fields)."""
    return PaymentResponse(
        id=UUID(payment.id),
        external_id=payment.external_id,
        node_id=UUID(payment.node_id),
        chain_id=UUID(payment.chain_id) if payment.chain_id else None,
        network_id=UUID(payment.network_id),
        wallet_id=UUID(payment.wallet_id) if payment.wallet_id else None,
        member_id=UUID(payment.member_id) if payment.member_id else None,
        member=ApiMember.model_validate(payment.member) if payment.member else None,
        currency_id=UUID(payment.currency_id),
        price=payment.price,
        paid_price=payment.paid_price,
        payment_method=payment.payment_method,
        payment_group=payment.payment_group,
        payment_address=payment.payment_address,
        items=[ApiPaymentItem(name=i.name, price=i.price, external_id=i.external_id) for i in payment.items]
        if payment.items
        else None,
        metadata=payment.metadata,
        expires_at=datetime.fromisoformat(payment.expires_at),
        retry=payment.retry,
        retry_count=payment.retry_count,
        client_ip=IPv4Address(payment.client_ip) if payment.client_ip else None,
        status=payment.status,
        access_token=payment.access_token,
        transaction_hash=payment.transaction_hash,
        payer=payment.payer,
        block_number=payment.deposit_block_number,
        confirmation_status=ConfirmationStatus.model_validate(payment.confirmation_status._asdict())
        if payment.confirmation_status
        else None,
        deal_id=payment.deal_id,
        deal_transaction_hash=payment.deal_transaction_hash,
        send_failed_reason=_failure(payment.send_failed_reason),
        cancel_failed_reason=_failure(payment.cancel_failed_reason),
        created_at=datetime.fromisoformat(payment.created_at),
        updated_at=datetime.fromisoformat(payment.updated_at),
    )


def _failure(reason: FailureReason | None) -> ChainFailureReason | None:
    return None if reason is None else ChainFailureReason(code=reason.code, message=reason.message)


def get_payment(deps: PaymentDeps, principal: Principal, payment_id: str) -> PaymentResponse:
    payment = read_payment(deps, payment_id)
    ensure_reaches(principal, payment.node_path, what="payment's node")
    return to_response(payment)


def read_payment(deps: PaymentDeps, payment_id: str, *, app_payments: bool = False) -> Payment:
    """The payment of a path's id; 404 when there is none (or the id is no UUID). NoRamp's checkouts
    (`app_id` set) are payments of the app API: found here only with `app_payments` (their log, the widget),
    where their NoRamp id (`pay_<hex>`) names them too."""
    canonical = payment_uuid(payment_id) if app_payments else None
    if canonical is None:
        try:
            canonical = str(uuid.UUID(payment_id))
        except ValueError:
            canonical = None
    payment = deps.payments.get(canonical) if canonical else None
    if payment is None or (payment.app_id is not None and not app_payments):
        raise NotFound(f"Payment {payment_id} not found", code="payment_not_found")
    return payment


NORAMP_PAYMENT_PREFIX = "pay_"


def noramp_payment_id(payment_id: str) -> str:
    """A checkout's id as NoRamp's app API shows it: `pay_` and the payment's UUID in hex."""
    return NORAMP_PAYMENT_PREFIX + uuid.UUID(payment_id).hex


def payment_uuid(noramp_id: str) -> str | None:
    """The stored id (a UUID) of a NoRamp payment id (`pay_<32 hex>`); None for anything else."""
    hex_part = noramp_id.removeprefix(NORAMP_PAYMENT_PREFIX)
    if hex_part == noramp_id or len(hex_part) != 32:
        return None
    try:
        return str(uuid.UUID(hex=hex_part))
    except ValueError:
        return None


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
    total, found = deps.payments.page(listing, (page - 1) * per_page, per_page, total)
    return PaymentList(items=[to_response(p) for p in found], page=page, per_page=per_page, total=total)
