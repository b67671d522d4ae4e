"""GET /api/v1/widget/payments/{id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import widget
from payments_core.http.api import (
    PaymentPathId,
    json_response,
    make_resolver,
    responses,
    widget_payment_id,
)
from payments_core.models.payments import WidgetPayment

app = make_resolver()


@app.get(
    "/api/v1/widget/payments/<id>",
    summary="Get payment widget data",
    description="Authenticated with the payment's `access_token` (from its creation), not an integration JWT. "
    "200 once the deal exists and has been verified on chain at the network's required confirmations: "
    "approve `amount_units` of the token for the diamond, then call `contract`. "
    "While the deal is being created or verified: 202 with the same shape (`deal_id`, `approve`, `contract` "
    "null) and a `Retry-After` header: poll.",
    operation_id="getWidgetPayment",
    tags=["Widget"],
    responses={
        **responses(200, WidgetPayment, 401, 404, 422),
        **responses(202, WidgetPayment, description="No verified deal yet: poll after Retry-After"),
    },
)
def widget_payment(id: PaymentPathId) -> Response[Any]:  # noqa: A002
    data, ready = widget.widget_data(deps.payment_deps(), widget_payment_id(app, id))
    response = json_response(200 if ready else 202, data)
    if not ready:
        response.headers["Retry-After"] = str(widget.POLL_SECONDS)
    return response


handler = handlers.api(app)
