"""GET /.well-known/jwks.json"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments_core import deps
from payments_core.domain import auth
from payments_core.http.api import json_response, make_resolver, responses
from payments_core.models.auth import Jwks

# How long a client may keep the answer (domain.keys.JWKS_MAX_AGE_SECONDS; a unit test keeps them equal): with
# the function's own cache of the parameter (at most 20 s), a verifier outside the platform that honours it
# has a new key before it signs anything (the signing grace, 60 s). See docs/decisions/key-rotation-timeline.md.
JWKS_MAX_AGE_SECONDS = 15

app = make_resolver()


@app.get(
    "/.well-known/jwks.json",
    summary="Public keys of the token signer",
    description="The JWKS that verifies integrator access tokens (current and previous key during a rotation).",
    operation_id="getJwks",
    tags=["Auth"],
    security=[],
    responses=responses(200, Jwks),
    cache_control=f"public, max-age={JWKS_MAX_AGE_SECONDS}",
)
def jwks() -> Response[Any]:
    return json_response(200, auth.public_jwks(deps.jwks()), exclude_none=True)


handler = handlers.api(app)
