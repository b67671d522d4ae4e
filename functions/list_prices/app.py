"""GET /prices/{app_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from payments_core import deps
from payments_core.domain import prices
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.prices import PriceList

app = make_resolver()


@app.get(
    "/prices/<app_id>",
    summary="List prices",
    description="The app's prices, newest first (deleted ones left out); `total` is exact.",
    operation_id="listPrices",
    tags=["Prices"],
    responses=responses(200, PriceList, 401, 404, 422),
)
def list_prices(
    app_id: str,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=prices.MAX_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    result = prices.list_prices(deps.catalog(), app_principal(app), app_id, page=page, per_page=per_page)
    return json_response(200, result)


handler = handlers.api(app)
