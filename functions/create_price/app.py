"""POST /prices/{app_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import prices
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.prices import CreatePriceRequest, PriceResponse

app = make_resolver()


@app.post(
    "/prices/<app_id>",
    summary="Create a price",
    description="A price of the app: amount and currency, the trigger it runs and the values it fixes for the "
    "trigger's parameters.",
    operation_id="createPrice",
    tags=["Prices"],
    responses=responses(201, PriceResponse, 401, 404, 415, 422, description="Created"),
)
def create_price(app_id: str, body: Annotated[CreatePriceRequest, Body()]) -> Response[Any]:
    return json_response(201, prices.create_price(deps.catalog(), app_principal(app), app_id, body))


handler = handlers.api(app)
