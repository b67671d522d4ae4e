"""The one handler convention: how every `functions/*/app.py` becomes a Lambda handler.

A handler module's first import is this module; its last statement builds its handler here:

    from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

    app = make_resolver()
    ...routes...
    handler = handlers.api(app)                  # an API Gateway function (the platform's resolver)

or, for any other event source (SQS, a stream, a schedule, an authorizer, Secrets Manager rotation):

    @handlers.function
    def handler(event: dict[str, Any], context: Any) -> ...:
        ...

Importing this module pauses the cyclic garbage collector (payments_core.lambda_init: its first import);
building the handler (`api` or `function`) ends the pause: it freezes what the module loaded and turns the
collector back on (see lambda_init for why and what it saves). Both also give the handler the platform's
logging and metrics: the Lambda context and, for the API, the request's correlation id, with no state left
from the invocation before, and the invocation's metrics (payments_core.metrics) flushed as EMF. A handler
module therefore builds its handler last: nothing it loads after that is frozen.
"""

from __future__ import annotations

from payments_core import lambda_init  # isort: skip - first: the collector is paused from here on

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from payments_core import metrics
from payments_core.observability import logger, set_correlation_id

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

type Handler[R] = Callable[[dict[str, Any], Any], R]


def api(app: APIGatewayRestResolver) -> Handler[dict[str, Any]]:
    """The Lambda handler of an API function: the request's correlation id in every log line, then
    `payments_core.http.api.handle_request` (the media-type check, then the resolver)."""
    from payments_core.http.api import handle_request

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # The request id (correlation_paths.API_GATEWAY_REST) follows the work it causes: messages, changes.
        set_correlation_id(logger.get_correlation_id())
        return handle_request(app, event, context)

    lambda_init.done()
    return handler


def function[R](handle: Handler[R]) -> Handler[R]:
    """The Lambda handler of any other function: `handle`, with the Lambda context in every log line and its
    metrics flushed (EMF) at the end of each invocation."""
    handler: Handler[R] = logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(handle))
    lambda_init.done()
    return handler
