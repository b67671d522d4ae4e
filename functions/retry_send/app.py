"""POST /api/v1/payments/{id}/retry-send"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import lifecycle
from payments_core.http.api import PaymentPathId, json_response, make_resolver, principal, responses
from payments_core.models.payments import PaymentResponse

app = make_resolver()


@app.post(
    "/api/v1/payments/<id>/retry-send",
    summary="Re-send a web3 payment to the create-deal worker",
    description="For a web3 payment still waiting for its deal (never sent, or failed to send). "
    "A second call within a few seconds is the same click: answered, not sent again.",
    operation_id="retrySendPayment",
    tags=["Payments"],
    responses=responses(200, PaymentResponse, 400, 401, 403, 404, 409, 422),
)
def retry_send(id: PaymentPathId) -> Response[Any]:  # noqa: A002
    return json_response(200, lifecycle.retry_send(deps.payment_deps(), principal(app), id))


handler = handlers.api(app)
