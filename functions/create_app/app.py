"""POST /apps (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import json_response, make_resolver, principal, responses
from payments_core.models.apps import AppResponse, CreateAppRequest

app = make_resolver()


@app.post(
    "/apps",
    summary="Create an app",
    description="A new app of a node the integration reaches (`status` draft by default); its owner (`user`) is "
    "the integration.",
    operation_id="createApp",
    tags=["Apps"],
    responses=responses(201, AppResponse, 401, 403, 404, 415, 422, description="Created"),
)
def create_app(body: Annotated[CreateAppRequest, Body()]) -> Response[Any]:
    return json_response(201, apps.post_app(deps.catalog(), principal(app), body))


handler = handlers.api(app)
