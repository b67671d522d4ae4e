"""GET /api/v1/payments/{id}/logs"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from payments_core import deps
from payments_core.domain import logs
from payments_core.domain.payments import MAX_PER_PAGE
from payments_core.http.api import PaymentPathId, json_response, make_resolver, principal, responses
from payments_core.models.payments import PaymentLogList

app = make_resolver()


@app.get(
    "/api/v1/payments/<id>/logs",
    summary="List a payment's logs",
    description="One entry per meaningful change, newest first; `total` is exact.",
    operation_id="listPaymentLogs",
    tags=["Payments"],
    responses=responses(200, PaymentLogList, 401, 403, 404, 422),
)
def list_payment_logs(
    id: PaymentPathId,  # noqa: A002
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    result = logs.list_logs(deps.payment_deps(), deps.logs(), principal(app), id, page=page, per_page=per_page)
    return json_response(200, result)


handler = handlers.api(app)
