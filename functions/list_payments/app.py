"""GET /api/v1/payments"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from payments_core import deps
from payments_core.domain import payments
from payments_core.http.api import json_response, make_resolver, principal, responses
from payments_core.models.payments import PaymentList

app = make_resolver()


@app.get(
    "/api/v1/payments",
    summary="List payments",
    description="A node's payments, newest first; `total` is exact.",
    operation_id="listPayments",
    tags=["Payments"],
    responses=responses(200, PaymentList, 401, 403, 404, 422, 503),
)
def list_payments(
    node_id: Annotated[UUID, Query(description="Node UUID")],
    wallet_id: Annotated[UUID | None, Query(description="Filter by wallet")] = None,
    network_id: Annotated[UUID | None, Query(description="Filter by network")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=payments.MAX_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    result = payments.list_payments(
        deps.payment_deps(),
        principal(app),
        node_id=str(node_id),
        wallet_id=str(wallet_id) if wallet_id else None,
        network_id=str(network_id) if network_id else None,
        page=page,
        per_page=per_page,
    )
    return json_response(200, result)


handler = handlers.api(app)
