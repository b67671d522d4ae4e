"""GET /apps/{app_id}/keys (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppPathId, json_response, make_resolver, principal, responses
from payments_core.models.apps import AppKeyList

app = make_resolver()


@app.get(
    "/apps/<app_id>/keys",
    summary="List an app's API keys",
    description="The app's keys, newest first, revoked ones included: ids, names, status; never a key.",
    operation_id="listAppKeys",
    tags=["Apps"],
    responses=responses(200, AppKeyList, 401, 404, 422),
)
def list_app_keys(
    app_id: AppPathId,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=apps.MAX_KEYS_PER_PAGE, description="Items per page")] = 10,
) -> Response[Any]:
    return json_response(200, apps.list_app_keys(deps.catalog(), principal(app), app_id, page=page, per_page=per_page))


handler = handlers.api(app)
