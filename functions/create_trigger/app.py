"""POST /triggers/{app_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import triggers
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.triggers import CreateTriggerRequest, TriggerResponse

app = make_resolver()


@app.post(
    "/triggers/<app_id>",
    summary="Create a trigger",
    description="The call a paid payment runs on a chain (`call_data` per chain; only `evm` runs here) and its "
    "parameters.",
    operation_id="createTrigger",
    tags=["Triggers"],
    responses=responses(201, TriggerResponse, 401, 404, 415, 422, description="Created"),
)
def create_trigger(app_id: str, body: Annotated[CreateTriggerRequest, Body()]) -> Response[Any]:
    return json_response(201, triggers.create_trigger(deps.catalog(), app_principal(app), app_id, body))


handler = handlers.api(app)
