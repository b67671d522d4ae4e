"""POST /apps/{app_id}/keys (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppPathId, json_response, make_resolver, principal, responses
from payments_core.models.apps import AppKeyCreated, CreateAppKeyRequest

app = make_resolver()


@app.post(
    "/apps/<app_id>/keys",
    summary="Create an API key of an app",
    description="A new API key of the app, shown this once in `key` (only its SHA-256 is stored).",
    operation_id="createAppKey",
    tags=["Apps"],
    responses=responses(201, AppKeyCreated, 401, 404, 415, 422, description="Created"),
)
def create_app_key(app_id: AppPathId, body: Annotated[CreateAppKeyRequest | None, Body()] = None) -> Response[Any]:
    name = body.name if body else None
    return json_response(201, apps.post_app_key(deps.catalog(), principal(app), app_id, name))


handler = handlers.api(app)
