"""DELETE /prices/{app_id}/{price_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import prices
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.prices import PriceDeleted

app = make_resolver()


@app.delete(
    "/prices/<app_id>/<price_id>",
    summary="Delete a price",
    description="Marks the price deleted: it cannot be checked out, and GET answers 404 after.",
    operation_id="deletePrice",
    tags=["Prices"],
    responses=responses(200, PriceDeleted, 401, 404, 409),
)
def delete_price(app_id: str, price_id: str) -> Response[Any]:
    return json_response(200, prices.delete_price(deps.catalog(), app_principal(app), app_id, price_id))


handler = handlers.api(app)
