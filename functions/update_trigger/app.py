"""PATCH /triggers/{app_id}/{trigger_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import triggers
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.triggers import TriggerResponse, UpdateTriggerRequest

app = make_resolver()


@app.patch(
    "/triggers/<app_id>/<trigger_id>",
    summary="Update a trigger",
    description="Changes any of the trigger's fields; a change of its parameters that a live price's fixed values "
    "no longer fit is 409 `trigger_in_use`.",
    operation_id="updateTrigger",
    tags=["Triggers"],
    responses=responses(200, TriggerResponse, 401, 404, 409, 415, 422),
)
def update_trigger(app_id: str, trigger_id: str, body: Annotated[UpdateTriggerRequest, Body()]) -> Response[Any]:
    return json_response(200, triggers.update_trigger(deps.catalog(), app_principal(app), app_id, trigger_id, body))


handler = handlers.api(app)
