"""GET /payments/{app_id} (NoRamp's payments of an app)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from payments_core import deps
from payments_core.domain import app_payments, payments
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.app_payments import AppPaymentList

app = make_resolver()


@app.get(
    "/payments/<app_id>",
    summary="List an app's payments",
    description="The app's payments, newest first, each as Get Payment answers it; `total` is exact.",
    operation_id="listAppPayments",
    tags=["NoRamp payments"],
    responses=responses(200, AppPaymentList, 401, 404, 422),
)
def list_app_payments(
    app_id: Annotated[str, Path(description="The app's id (`app_...`)")],
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=payments.MAX_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    result = app_payments.list_app_payments(
        deps.app_view_deps(), app_principal(app), app_id, page=page, per_page=per_page
    )
    return json_response(200, result)


handler = handlers.api(app)
