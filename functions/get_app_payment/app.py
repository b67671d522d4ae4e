"""GET /payments/{app_id}/{payment_id} (NoRamp's Get Payment)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments_core import deps
from payments_core.domain import app_payments
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.app_payments import AppPaymentResponse

app = make_resolver()


@app.get(
    "/payments/<app_id>/<payment_id>",
    summary="Get an app's payment",
    description="NoRamp's payment view: its status, fee breakdown, the trigger's input and output, the app and "
    "the price. 404 for an unknown payment or one of another app (indistinguishable).",
    operation_id="getAppPayment",
    tags=["NoRamp payments"],
    responses=responses(200, AppPaymentResponse, 401, 404, 422),
)
def get_app_payment(
    app_id: Annotated[str, Path(description="The app's id (`app_...`)")],
    payment_id: Annotated[str, Path(description="The payment's id (`pay_...`)")],
) -> Response[Any]:
    result = app_payments.get_app_payment(deps.app_view_deps(), app_principal(app), app_id, payment_id)
    return json_response(200, result)


handler = handlers.api(app)
