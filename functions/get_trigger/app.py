"""GET /triggers/{app_id}/{trigger_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import triggers
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.triggers import TriggerResponse

app = make_resolver()


@app.get(
    "/triggers/<app_id>/<trigger_id>",
    summary="Get a trigger",
    description="A trigger of the app (404 for a deleted one).",
    operation_id="getTrigger",
    tags=["Triggers"],
    responses=responses(200, TriggerResponse, 401, 404),
)
def get_trigger(app_id: str, trigger_id: str) -> Response[Any]:
    return json_response(200, triggers.get_trigger(deps.catalog(), app_principal(app), app_id, trigger_id))


handler = handlers.api(app)
