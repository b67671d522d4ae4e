"""POST /api/v1/payments/{id}/cancel"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import lifecycle
from payments_core.http.api import PaymentPathId, json_response, make_resolver, principal, responses
from payments_core.models.payments import CancelAccepted, CancelRequest

app = make_resolver()


@app.post(
    "/api/v1/payments/<id>/cancel",
    summary="Cancel a payment",
    description="Cancels at once where no deal can exist yet; otherwise queues cancelDeal on the diamond "
    "contract (a paid deal is refunded). Asking again answers 202 and sends nothing twice.",
    operation_id="cancelPayment",
    tags=["Payments"],
    responses=responses(202, CancelAccepted, 401, 403, 404, 409, 415, 422, description="Accepted"),
)
def cancel_payment(
    id: PaymentPathId,  # noqa: A002
    body: Annotated[CancelRequest | None, Body()] = None,
) -> Response[Any]:
    lifecycle.cancel_payment(deps.payment_deps(), principal(app), id)
    return json_response(202, CancelAccepted())


handler = handlers.api(app)
