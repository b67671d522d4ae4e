"""POST /api/v1/payments"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import payments
from payments_core.http.api import json_response, make_resolver, principal, responses
from payments_core.models.payments import CreatePaymentRequest, PaymentResponse

app = make_resolver()


@app.post(
    "/api/v1/payments",
    summary="Create a payment",
    description="Creates a payment; `external_id` is unique per node. A web3 payment is queued for its on-chain deal.",
    operation_id="createPayment",
    tags=["Payments"],
    responses=responses(201, PaymentResponse, 401, 403, 404, 409, 415, 422, 503, description="Created"),
)
def create_payment(body: Annotated[CreatePaymentRequest, Body()]) -> Response[Any]:
    return json_response(201, payments.create_payment(deps.payment_deps(), principal(app), body))


handler = handlers.api(app)
