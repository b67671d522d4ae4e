"""The payment widget: its access token (checked by the widget authorizer) and its data."""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from payments_core.domain.entities import Network
from payments_core.domain.payments import PaymentDeps, read_payment
from payments_core.errors import NotFound, Unauthorized
from payments_core.models.common import utcnow
from payments_core.models.payments import PaymentMethod, PaymentStatus, WidgetCall, WidgetPayment

POLL_SECONDS = 2
"""How soon the widget should ask again while the deal does not exist yet (Retry-After)."""

_WAITING = (PaymentStatus.PENDING, PaymentStatus.SENDING, PaymentStatus.SEND_FAILED)


@cache
def _abi() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(
        resources.files("payments_core").joinpath("widget_abi.json").read_text()
    )
    return data


def payment_id_of(token: str) -> str | None:
    """The payment a widget token is bound to (`pwt_<payment uuid hex>_<secret>`), None if malformed."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "pwt":
        return None
    try:
        return str(uuid.UUID(hex=parts[1]))
    except ValueError:
        return None


def authorize(deps: PaymentDeps, token: str, path_payment_id: str) -> str:
    """The payment id the token opens, or Unauthorized: malformed, another payment's, wrong or expired."""
    bound = payment_id_of(token)
    try:
        requested = str(uuid.UUID(path_payment_id))
    except ValueError:
        requested = None
    if bound is None or bound != requested:
        raise Unauthorized("Invalid widget access token")
    payment = deps.payments.get(bound)
    # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a refusal)
    stored = payment.access_token if payment is not None else ""
    if payment is None or not hmac.compare_digest(stored.encode(), token.encode("utf-8", "surrogatepass")):
        raise Unauthorized("Invalid widget access token")
    if datetime.fromisoformat(payment.expires_at) <= utcnow():
        raise Unauthorized("The widget access token has expired")
    return bound


def widget_data(deps: PaymentDeps, payment_id: str) -> tuple[WidgetPayment, bool]:
    """The widget's data and whether it is ready or to be polled.

    Ready once the deal is verified: the chain watcher has checked the contract's deal for the recorded id
    against the payment at the network's required confirmations (a reorg that reorders two createDeals gives
    an unchecked id to another payment's deal, which a payer must never be pointed at). Until then, and
    while the deal is being created, the answer has no deal (`deal_id`, `approve`, `contract` null): poll."""
    payment = read_payment(deps, payment_id)
    if payment.payment_method is not PaymentMethod.WEB3:
        raise NotFound("This payment is not paid through the widget", code="payment_not_found")
    network = deps.catalog.get(Network, payment.network_id)
    status = payment.status
    deal_id = payment.deal_id if payment.deal_verified else None
    diamond = (network.diamond_address if network else None) or ""
    token = payment.token_address or ""
    units = payment.amount_units or 0
    ready = deal_id is not None
    abi = _abi()
    data = WidgetPayment(
        id=uuid.UUID(payment.id),
        status=status,
        external_id=payment.external_id,
        node_id=uuid.UUID(payment.node_id),
        network_id=network.evm_chain_id if network else 0,
        deal_id=deal_id,
        price=payment.paid_price,
        price_decimals=payment.currency_decimals,
        amount_units=str(units),
        payment_address=payment.payment_address,
        diamond_address=diamond,
        currency=payment.currency_symbol,
        token_address=token,
        expires_at=datetime.fromisoformat(payment.expires_at),
        approve=WidgetCall(
            address=token, abi=abi["token"], function_name="approve", arguments=[diamond, units],
        ) if ready else None,
        contract=WidgetCall(address=diamond, abi=abi["diamond"], function_name="deposit", arguments=[deal_id])
        if ready else None,
    )  # fmt: skip
    return data, ready or not (status in _WAITING or status is PaymentStatus.OPEN)
