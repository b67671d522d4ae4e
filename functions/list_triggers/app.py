"""GET /triggers/{app_id}"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from payments_core import deps
from payments_core.domain import triggers
from payments_core.http.api import app_principal, json_response, make_resolver, responses
from payments_core.models.triggers import TriggerList

app = make_resolver()


@app.get(
    "/triggers/<app_id>",
    summary="List triggers",
    description="The app's triggers, newest first (deleted ones left out); `total` is exact.",
    operation_id="listTriggers",
    tags=["Triggers"],
    responses=responses(200, TriggerList, 401, 404, 422),
)
def list_triggers(
    app_id: str,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=triggers.MAX_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    result = triggers.list_triggers(deps.catalog(), app_principal(app), app_id, page=page, per_page=per_page)
    return json_response(200, result)


handler = handlers.api(app)
