"""API Gateway REQUEST authorizer for the widget route: the payment's own access_token only."""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_core import deps, metrics
from payments_core.domain import auth, widget
from payments_core.domain.access import Principal
from payments_core.errors import Unauthorized
from payments_core.observability import logger
from payments_core.security.tokens import InvalidToken


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    path_id = str((event.get("pathParameters") or {}).get("id", ""))
    try:
        token = auth.bearer_token(headers.get("authorization"))
        payment_id = widget.authorize(deps.payment_deps(), token, path_id)
    except (InvalidToken, Unauthorized) as exc:
        logger.info("widget token refused", extra={"reason": type(exc).__name__})
        metrics.count("WidgetTokensRefused")  # the alarm on this function's errors leaves these out
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for a 401
    principal = Principal(actor_type="payer", actor_id=payment_id, node_id="")
    return auth.allow_policy(principal, event["methodArn"], resource=f"GET/api/v1/widget/payments/{payment_id}")
