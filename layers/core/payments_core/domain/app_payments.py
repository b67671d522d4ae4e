"""NoRamp's app-scoped payments: the checkout that creates one, and the view and list that answer it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from payments_core import currencies, metrics
from payments_core.domain import apps as app_domain
from payments_core.domain import params as params_domain
from payments_core.domain import prices as price_domain
from payments_core.domain.access import Principal
from payments_core.domain.entities import App, Payment, PaymentEvent, Price, Trigger
from payments_core.domain.payments import iso, new_access_token, noramp_payment_id, payment_uuid
from payments_core.domain.status import noramp_status
from payments_core.domain.stores import PriceTaken
from payments_core.errors import Conflict, NotFound, TooManyRequests
from payments_core.models.app_payments import (
    AppPaymentList,
    AppPaymentResponse,
    CheckoutRequest,
    ConfirmationStatusView,
    ConversionView,
    PriceItemView,
    TransactionResponse,
    TriggerDataInput,
)
from payments_core.models.enums import PaymentGroup, PaymentMethod, PaymentStatus, ProviderMethod
from payments_core.observability import error_fields, logger
from payments_core.store.payments import app_listing

if TYPE_CHECKING:
    from payments_core.domain.stores import CatalogStore, FeeSettingsStore, PaymentStore, RateLimiter, RateStore
    from payments_core.fees import PriceItem

# A checkout is paid by card or bank through the provider (Stripe): the platform's payment method of each.
PROVIDER_METHODS = {
    ProviderMethod.CARD: PaymentMethod.CREDIT_CARD,
    ProviderMethod.US_BANK_ACCOUNT: PaymentMethod.BANK_TRANSFER,
}
LIVE_APP_STATUSES = frozenset({"draft", "submitted", "active"})  # disabled and deleted apps sell nothing


class CheckoutLimits(NamedTuple):
    per_price: int
    per_address: int
    window_seconds: int


class CheckoutDeps(NamedTuple):
    catalog: CatalogStore
    payments: PaymentStore  # deps.checkout_store(): it marks a dynamic price expired in the same transaction
    limiter: RateLimiter
    fee_settings: FeeSettingsStore
    rates: RateStore
    limits: CheckoutLimits
    rate_max_age: timedelta
    ttl: timedelta  # how long the payment waits for its payer (`expires_at`)


class ViewDeps(NamedTuple):
    catalog: CatalogStore
    payments: PaymentStore


def checkout(
    deps: CheckoutDeps, price_id: str, req: CheckoutRequest, *, source_ip: str | None, now: datetime
) -> AppPaymentResponse:
    """Create the payment of a checkout of `price_id` (NoRamp's public `POST /checkout/{price_id}`): pending,
    its parameters validated, its fees and conversion computed and frozen, in the app's list."""
    _limit(deps, f"price#{price_id}", deps.limits.per_price)
    if source_ip:
        _limit(deps, f"ip#{source_ip}", deps.limits.per_address)
    price = price_domain.live_price(deps.catalog, price_id)
    found = deps.catalog.read_many(
        [(App, price.app_id), *([(Trigger, price.trigger_id)] if price.trigger_id else [])]
    ).run()
    app = found.get(App, price.app_id)
    if app is None or app.status not in LIVE_APP_STATUSES:
        raise Conflict("The price's app is not selling", code="app_not_active")
    trigger = found.get(Trigger, price.trigger_id) if price.trigger_id else None
    if price.trigger_id and (trigger is None or trigger.deleted):
        # The trigger was deleted after the price was made (a race triggers.delete refuses otherwise): the
        # payment could never run what it sells.
        raise Conflict("The price's trigger no longer exists", code="trigger_not_found")
    values = _trigger_values(price, trigger, req)
    item = _price_item(deps, app, price, now)
    payment = _new_payment(deps, app, price, req.payment_provider, values, item, now)
    try:
        deps.payments.insert_checkout(
            payment, app_listing(app.id), single_use_price=price.id if price.type == "dynamic" else None
        )
    except PriceTaken:
        raise Conflict(
            "This price was already paid once (a dynamic price is single use)", code="price_expired"
        ) from None
    metrics.count("CheckoutsCreated", method=payment.payment_method.value)
    if _count_view(deps.catalog, price.id):
        price = price._replace(views=price.views + 1)
    return to_view(payment, app, price, Principal("payer", payment.id, ""))


def _count_view(catalog: CatalogStore, price_id: str) -> bool:
    """`views` is a statistic: a failure to count one is logged and metered, never the checkout's failure (the
    payment is written). True when it was counted."""
    try:
        catalog.count_view(price_id)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logger.warning("price view not counted", extra=error_fields(exc))
        metrics.count("PriceViewsNotCounted")
        return False
    return True


def _limit(deps: CheckoutDeps, subject: str, limit: int) -> None:
    wait = deps.limiter.take(subject, limit=limit, window_seconds=deps.limits.window_seconds)
    if wait is not None:
        raise TooManyRequests(
            "Too many checkouts in this minute; retry after Retry-After seconds",
            code="checkout_rate_limited",
        )


def _trigger_values(price: Price, trigger: Trigger | None, req: CheckoutRequest) -> dict[str, Any]:
    """Every parameter the trigger runs with: the price's `trigger_data.params_data` and the payer's (the price
    wins; params.checkout_params), as stored. A price without trigger takes no parameter."""
    fixed = (price.trigger_data or {}).get("params_data") if trigger is not None else None
    values = params_domain.checkout_params(
        trigger.params_data if trigger is not None else None,
        fixed,
        req.trigger_data_input.params_data_input,
        field="body.trigger_data_input.params_data_input",
    )
    return params_domain.storable(values)


def _price_item(deps: CheckoutDeps, app: App, price: Price, now: datetime) -> PriceItem:
    from payments_core import fees
    from payments_core.domain import rates

    settings = rates.fee_settings(deps.fee_settings)  # 503 fee_settings_missing (price_item: per currency)
    rate = None
    if price.currency_conversion:
        rate = rates.rate_for(deps.rates, price.currency, price.currency_conversion, now=now, max_age=deps.rate_max_age)
    return fees.price_item(
        price.amount, price.currency, settings, app_fee_percent=app.app_fee, app_type=app.type, rate=rate
    )


def _new_payment(  # noqa: PLR0917 - the checkout's parts, each once
    deps: CheckoutDeps,
    app: App,
    price: Price,
    provider: ProviderMethod,
    values: dict[str, Any],
    item: PriceItem,
    now: datetime,
) -> Payment:
    payment_id = str(uuid.uuid4())
    at = iso(now)
    return Payment(
        id=payment_id,
        external_id=payment_id,
        node_id=app.node_id,
        node_path=app.node_path,
        network_id="",
        currency_id=price.currency,
        price=price.amount,
        paid_price=item.amount_total,
        payment_method=PROVIDER_METHODS[provider],
        payment_group=PaymentGroup.PRODUCT,
        payment_address="",
        expires_at=iso(now + deps.ttl),
        status=PaymentStatus.PENDING,
        access_token=new_access_token(payment_id),
        currency_symbol=price.currency.upper(),
        currency_decimals=currencies.minor_units(price.currency),
        created_at=at,
        updated_at=at,
        version=1,
        last_event=PaymentEvent(
            type="created",
            message=f"Checkout of price {price.id} ({provider.value})",
            actor_type="payer",
            actor_id=None,
        ),
        app_id=app.id,
        price_id=price.id,
        payment_provider=provider,
        trigger_data_input={"params_data_input": values},
        price_item=item,
    )


# ---------------------------------------------------------------------------------------------- the view
def get_app_payment(deps: ViewDeps, principal: Principal, app_id: str, payment_id: str) -> AppPaymentResponse:
    """NoRamp's Get Payment: 404 `payment_not_found` for an unknown payment or one of another app (the same)."""
    app = app_domain.reach_app(deps.catalog, principal, app_id)
    stored_id = payment_uuid(payment_id)
    payment = deps.payments.get(stored_id) if stored_id else None
    if payment is None or payment.app_id != app.id:
        raise NotFound("No such payment in this app", code="payment_not_found")
    price = deps.catalog.get(Price, payment.price_id or "")
    if price is None:  # a price is never removed (delete marks it), so this is a broken record
        raise NotFound("No such payment in this app", code="payment_not_found")
    return to_view(payment, app, price, principal)


def list_app_payments(deps: ViewDeps, principal: Principal, app_id: str, *, page: int, per_page: int) -> AppPaymentList:
    """The app's payments, newest first, with the exact total (the app's listing: a page costs what it holds)."""
    app = app_domain.reach_app(deps.catalog, principal, app_id)
    total, payments = deps.payments.page(app_listing(app.id), (page - 1) * per_page, per_page)
    price_ids = sorted({p.price_id for p in payments if p.price_id})
    found = deps.catalog.read_many([(Price, i) for i in price_ids]).run() if price_ids else None
    items = []
    for payment in payments:
        price = found.get(Price, payment.price_id or "") if found else None
        if price is not None:
            items.append(to_view(payment, app, price, principal))
    return AppPaymentList(items=items, page=page, per_page=per_page, total=total)


def to_view(payment: Payment, app: App, price: Price, principal: Principal) -> AppPaymentResponse:
    assert payment.price_item is not None  # every checkout has one (set at creation)
    assert payment.payment_provider is not None
    confirmations = payment.confirmation_status
    return AppPaymentResponse(
        id=noramp_payment_id(payment.id),
        status=noramp_status(payment.status),
        final_amount=payment.price_item.amount_total,
        payment_provider=payment.payment_provider,
        trigger_data_input=TriggerDataInput(
            params_data_input=dict((payment.trigger_data_input or {}).get("params_data_input") or {})
        ),
        transaction_id=payment.transaction_id,
        transaction_url=payment.transaction_url,
        price_item=price_item_view(payment.price_item),
        transaction_response=(
            TransactionResponse.model_validate(dict(payment.transaction_response))
            if payment.transaction_response
            else None
        ),
        confirmation_status=ConfirmationStatusView(**confirmations._asdict()) if confirmations else None,
        app=app_domain.app_view(app, principal),
        price=price_domain.price_view(price),
        created_at=datetime.fromisoformat(payment.created_at),
        updated_at=datetime.fromisoformat(payment.updated_at),
        payment_token=payment.access_token,
    )


def price_item_view(item: PriceItem) -> PriceItemView:
    fields: dict[str, Any] = {name: getattr(item, name) for name in PriceItemView.model_fields if name != "conversion"}
    conversion = item.conversion
    return PriceItemView(
        **fields,
        conversion=ConversionView(**conversion._asdict()) if conversion is not None else None,
    )
