"""POST /api/v1/auth/token"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from payments_core import deps
from payments_core.domain import auth
from payments_core.http.api import json_response, make_resolver, responses
from payments_core.models.auth import TokenRequest, TokenResponse

app = make_resolver()


@app.post(
    "/api/v1/auth/token",
    summary="Get an integrator access token",
    description="Exchanges an integration's client credentials for a short-lived ES256 JWT.",
    operation_id="issueToken",
    tags=["Auth"],
    security=[],
    responses=responses(200, TokenResponse, 401, 415, 422, 503),
)
def issue_token(body: Annotated[TokenRequest, Body()]) -> Response[Any]:
    return json_response(
        200, auth.issue_token(deps.catalog(), deps.secret_hashes(), deps.signing_key(), deps.token_policy(), body)
    )


handler = handlers.api(app)
