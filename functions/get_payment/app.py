"""GET /api/v1/payments/{id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import payments
from payments_core.http.api import PaymentPathId, json_response, make_resolver, principal, responses
from payments_core.models.payments import PaymentResponse

app = make_resolver()


@app.get(
    "/api/v1/payments/<id>",
    summary="Get a payment",
    description="The whole payment, including its widget `access_token` and status.",
    operation_id="getPayment",
    tags=["Payments"],
    responses=responses(200, PaymentResponse, 401, 403, 404, 422),
)
def get_payment(id: PaymentPathId) -> Response[Any]:  # noqa: A002
    return json_response(200, payments.get_payment(deps.payment_deps(), principal(app), id))


handler = handlers.api(app)
