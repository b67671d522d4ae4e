"""GET /apps/{app_id} (NoRamp's app API: the app's own key or an integrator JWT)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppPathId, app_principal, json_response, make_resolver, responses
from payments_core.models.apps import AppResponse

app = make_resolver()


@app.get(
    "/apps/<app_id>",
    summary="Get an app",
    description="The app, with `permissions` and `is_member` for the caller: its own API key (any of the three "
    "forms) or an integration whose node reaches the app's node.",
    operation_id="getApp",
    tags=["Apps"],
    responses=responses(200, AppResponse, 401, 404, 422),
)
def get_app(app_id: AppPathId) -> Response[Any]:
    return json_response(200, apps.get_app(deps.catalog(), app_principal(app), app_id))


handler = handlers.api(app)
