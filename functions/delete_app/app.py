"""DELETE /apps/{app_id} (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppPathId, json_response, make_resolver, principal, responses
from payments_core.models.apps import AppResponse

app = make_resolver()


@app.delete(
    "/apps/<app_id>",
    summary="Delete an app",
    description="Marks the app `deleted` (answered as it is then); every app route answers 404 for it after.",
    operation_id="deleteApp",
    tags=["Apps"],
    responses=responses(200, AppResponse, 401, 404, 409, 422),
)
def delete_app(app_id: AppPathId) -> Response[Any]:
    return json_response(200, apps.delete_app(deps.catalog(), principal(app), app_id))


handler = handlers.api(app)
