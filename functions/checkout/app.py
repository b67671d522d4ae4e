"""POST /checkout/{price_id} (NoRamp's public checkout)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from payments_core import deps
from payments_core.domain import app_payments
from payments_core.http.api import json_response, make_resolver, responses
from payments_core.models.app_payments import AppPaymentResponse, CheckoutRequest
from payments_core.models.common import utcnow

app = make_resolver()


@app.post(
    "/checkout/<price_id>",
    summary="Check a price out",
    description="Public (a merchant's page holds the price id): creates the payment of one checkout of the price, "
    "`pending`, with its fees computed and frozen, and answers it with `payment_token`, the payer's bearer token "
    "for this payment alone. Limited per price and per source address (429 `checkout_rate_limited`).",
    operation_id="checkoutPrice",
    tags=["NoRamp checkout"],
    responses=responses(201, AppPaymentResponse, 404, 409, 415, 422, 429, 503, description="Created"),
)
def checkout(
    price_id: Annotated[str, Path(description="The price's id (`price_...`)")],
    body: Annotated[CheckoutRequest, Body()],
) -> Response[Any]:
    source_ip = app.current_event.request_context.identity.source_ip
    result = app_payments.checkout(deps.checkout_deps(), price_id, body, source_ip=source_ip, now=utcnow())
    return json_response(201, result)


handler = handlers.api(app)
