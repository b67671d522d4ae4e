"""NoRamp's prices (`/prices/{app_id}`) and the price a checkout charges (`live_price`, `price_view`).

A price is a catalog entry of its app (`price#price_...`, listed newest first through the `by_app` index; a deleted
price leaves the index, so lists and totals leave it out). Deleting marks it `deleted` (GET answers 404 after).

- `kyc_id` is required for a marketplace app (the seller's Connect account) and refused for an individual app
  (422 `kyc_not_allowed`: an individual app is its own seller; silently dropping it would hide a mistake). Only its
  form is checked: the KYC records come in a later issue.
- `trigger_id` names a live trigger of the same app (422 `trigger_not_found` at `body.trigger_id` otherwise);
  `trigger_data.params_data` holds values the price fixes for that trigger's parameters, checked with
  domain/params.py (partial: checkout supplies the rest, and the price's values win there).
- `chain` and `contract` are the trigger's (domain/triggers.chain_and_contract), not given.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from payments_core.domain import params
from payments_core.domain.apps import reach_app
from payments_core.domain.entities import Price
from payments_core.domain.stores import StaleWrite
from payments_core.domain.triggers import chain_and_contract, later_stamp, live_trigger, stamp
from payments_core.errors import Conflict, NotFound, ValidationFailed, field_error
from payments_core.models.prices import (
    CreatePriceRequest,
    NetworkType,
    PriceCategory,
    PriceDeleted,
    PriceList,
    PriceResponse,
    PriceTriggerData,
    PriceType,
)

if TYPE_CHECKING:
    from payments_core.domain.access import Principal
    from payments_core.domain.stores import CatalogStore

MAX_PER_PAGE = 100
MARKETPLACE = "marketplace"
_PRICE_ID = re.compile(r"price_[0-9a-f]{32}", re.ASCII)


def new_price_id() -> str:
    return f"price_{secrets.token_hex(16)}"


def price_view(price: Price) -> PriceResponse:
    """The seed's `price` object of a stored price (also embedded in the app-scoped payment view)."""
    fixed = (price.trigger_data or {}).get("params_data") or {}
    return PriceResponse(
        id=price.id,
        type=PriceType(price.type),
        kyc_id=price.kyc_id,
        trigger_id=price.trigger_id,
        currency=price.currency,
        amount=price.amount,
        metadata=dict(price.metadata) if price.metadata is not None else None,
        name=price.name,
        expired=price.expired,
        views=price.views,
        network_type=NetworkType(price.network_type),
        created_at=datetime.fromisoformat(price.created_at),
        updated_at=datetime.fromisoformat(price.updated_at),
        contract=price.contract,
        chain=price.chain,
        category=PriceCategory(price.category),
        currency_conversion=price.currency_conversion,
        trigger_data=PriceTriggerData(params_data=dict(fixed)) if price.trigger_data is not None else None,
    )


def _price(catalog: CatalogStore, price_id: str) -> Price | None:
    if not _PRICE_ID.fullmatch(price_id):
        return None
    price = catalog.get(Price, price_id)
    return None if price is None or price.deleted else price


def live_price(catalog: CatalogStore, price_id: str) -> Price:
    """The price a checkout of `price_id` charges (no app id: a merchant's page holds the price id alone): 404
    `price_not_found` for an unknown or deleted one, 409 `price_expired` for an expired one (a dynamic price paid
    once). The caller still checks the price's app and trigger are live."""
    price = _price(catalog, price_id)
    if price is None:
        raise NotFound("No such price", code="price_not_found")
    if price.expired:
        raise Conflict("The price has expired (a single-use price already paid)", code="price_expired")
    return price


def create_price(
    catalog: CatalogStore, principal: Principal, app_id: str, body: CreatePriceRequest, *, now: datetime | None = None
) -> PriceResponse:
    app = reach_app(catalog, principal, app_id)
    details: list[dict[str, Any]] = []
    if app.type == MARKETPLACE and body.kyc_id is None:
        details.append(field_error("body.kyc_id", "missing", "a marketplace app's price names its seller's KYC (kyc_)"))
    if app.type != MARKETPLACE and body.kyc_id is not None:
        details.append(field_error("body.kyc_id", "kyc_not_allowed", "an individual app's price takes no kyc_id"))
    chain = contract = None
    fixed: dict[str, Any] | None = None
    if body.trigger_id is not None:
        trigger = live_trigger(catalog, app.id, body.trigger_id)
        if trigger is None:
            details.append(field_error("body.trigger_id", "trigger_not_found", "no such trigger in this app"))
        else:
            chain, contract = chain_and_contract(trigger.call_data)
            given = body.trigger_data.params_data if body.trigger_data is not None else {}
            try:
                fixed = params.validate_params(
                    trigger.params_data, given, field="body.trigger_data.params_data", partial=True
                )
            except ValidationFailed as exc:
                details.extend(exc.details)
    elif body.trigger_data is not None:
        details.append(field_error("body.trigger_data", "trigger_data_without_trigger", "give trigger_id with it"))
    if details:
        raise ValidationFailed("The request is not valid", details=details)
    at = stamp(now)
    price = Price(
        id=new_price_id(),
        app_id=app.id,
        type=body.type.value,
        name=body.name,
        amount=body.amount,
        currency=body.currency,
        currency_conversion=body.currency_conversion,
        trigger_id=body.trigger_id,
        trigger_data={"params_data": params.storable(fixed)} if fixed is not None else None,
        kyc_id=body.kyc_id,
        metadata=body.metadata,
        network_type=body.network_type.value,
        category=body.category.value,
        contract=contract,
        chain=chain,
        created_at=at,
        updated_at=at,
    )
    catalog.put_new(price)
    return price_view(price)


def _app_price(catalog: CatalogStore, app_id: str, price_id: str) -> Price:
    price = _price(catalog, price_id)
    if price is None or price.app_id != app_id:
        raise NotFound("No such price", code="price_not_found")
    return price


def get_price(catalog: CatalogStore, principal: Principal, app_id: str, price_id: str) -> PriceResponse:
    app = reach_app(catalog, principal, app_id)
    return price_view(_app_price(catalog, app.id, price_id))


def list_prices(catalog: CatalogStore, principal: Principal, app_id: str, *, page: int, per_page: int) -> PriceList:
    app = reach_app(catalog, principal, app_id)
    found, total = catalog.list_of_app(Price, app.id, offset=(page - 1) * per_page, limit=per_page)
    return PriceList(items=[price_view(p) for p in found if not p.deleted], page=page, per_page=per_page, total=total)


def delete_price(
    catalog: CatalogStore, principal: Principal, app_id: str, price_id: str, *, now: datetime | None = None
) -> PriceDeleted:
    app = reach_app(catalog, principal, app_id)
    for attempt in range(2):
        old = _app_price(catalog, app.id, price_id)
        try:
            catalog.replace(old, old._replace(deleted=True, updated_at=later_stamp(old.updated_at, now)))
        except StaleWrite:
            if attempt:
                raise Conflict("The price kept changing; try again", code="concurrent_update") from None
            continue
        return PriceDeleted(id=old.id)
    raise AssertionError("unreachable")  # pragma: no cover
