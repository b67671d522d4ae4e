"""PATCH /apps/{app_id} (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppPathId, json_response, make_resolver, principal, responses
from payments_core.models.apps import AppResponse, UpdateAppRequest

app = make_resolver()


@app.patch(
    "/apps/<app_id>",
    summary="Update an app",
    description="Changes the fields the body gives (any but `node_id`); written only if the app did not change "
    "meanwhile (409 `concurrent_update` when it kept changing).",
    operation_id="updateApp",
    tags=["Apps"],
    responses=responses(200, AppResponse, 401, 404, 409, 415, 422),
)
def update_app(app_id: AppPathId, body: Annotated[UpdateAppRequest, Body()]) -> Response[Any]:
    return json_response(200, apps.patch_app(deps.catalog(), principal(app), app_id, body))


handler = handlers.api(app)
