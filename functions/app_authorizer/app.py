"""API Gateway REQUEST authorizer of NoRamp's app API: an app's API key (any of NoRamp's forms) or an
integrator JWT (payments_core.domain.auth.authorize_app_request)."""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_core import deps, metrics
from payments_core.domain import auth
from payments_core.observability import logger
from payments_core.security.tokens import InvalidToken


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        principal = auth.authorize_app_request(
            deps.verifier(),
            deps.integration_statuses(),
            deps.catalog(),
            headers.get("authorization"),
            headers.get("x-api-key"),
        )
    except InvalidToken as exc:
        # The reason goes to the log, never the key or token; API Gateway answers 401.
        logger.info("app credentials refused", extra={"reason": str(exc)})
        metrics.count("AppCredentialsRefused")  # the alarm on this function's errors leaves these out
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for a 401
    return auth.allow_policy(principal, event["methodArn"])
