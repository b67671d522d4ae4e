"""API Gateway TOKEN authorizer for the integrator API."""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_core import deps, metrics
from payments_core.domain import auth
from payments_core.observability import logger
from payments_core.security.tokens import InvalidToken


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        token = auth.bearer_token(event.get("authorizationToken"))
        principal = auth.authorize(deps.verifier(), deps.integration_statuses(), token)
    except InvalidToken as exc:
        # The reason goes to the log, never the token; API Gateway answers 401.
        logger.info("token refused", extra={"reason": str(exc)})
        metrics.count("IntegratorTokensRefused")  # the alarm on this function's errors leaves these out
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for a 401
    return auth.allow_policy(principal, event["methodArn"])
