"""DELETE /triggers/{app_id}/{trigger_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import triggers
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.triggers import TriggerDeleted

app = make_resolver()


@app.delete(
    "/triggers/<app_id>/<trigger_id>",
    summary="Delete a trigger",
    description="Marks the trigger deleted; 409 `trigger_in_use` while a live price uses it.",
    operation_id="deleteTrigger",
    tags=["Triggers"],
    responses=responses(200, TriggerDeleted, 401, 404, 409),
)
def delete_trigger(app_id: str, trigger_id: str) -> Response[Any]:
    return json_response(200, triggers.delete_trigger(deps.catalog(), app_principal(app), app_id, trigger_id))


handler = handlers.api(app)
