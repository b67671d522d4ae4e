"""GET /prices/{app_id}/{price_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import prices
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.prices import PriceResponse

app = make_resolver()


@app.get(
    "/prices/<app_id>/<price_id>",
    summary="Get a price",
    description="A price of the app (404 for a deleted one).",
    operation_id="getPrice",
    tags=["Prices"],
    responses=responses(200, PriceResponse, 401, 404),
)
def get_price(app_id: str, price_id: str) -> Response[Any]:
    return json_response(200, prices.get_price(deps.catalog(), app_principal(app), app_id, price_id))


handler = handlers.api(app)
