"""DELETE /apps/{app_id}/keys/{key_id} (NoRamp's app API)"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import apps
from payments_core.http.api import AppKeyPathId, AppPathId, json_response, make_resolver, principal, responses
from payments_core.models.apps import AppKeyResponse

app = make_resolver()


@app.delete(
    "/apps/<app_id>/keys/<key_id>",
    summary="Revoke an API key of an app",
    description="The key is revoked (`status` revoked, `revoked_at`): refused from the next request on. "
    "Revoking it again answers the same.",
    operation_id="revokeAppKey",
    tags=["Apps"],
    responses=responses(200, AppKeyResponse, 401, 404, 409, 422),
)
def revoke_app_key(app_id: AppPathId, key_id: AppKeyPathId) -> Response[Any]:
    return json_response(200, apps.delete_app_key(deps.catalog(), principal(app), app_id, key_id))


handler = handlers.api(app)
