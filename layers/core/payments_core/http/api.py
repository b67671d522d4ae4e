"""The resolver every API function uses, with the platform's error shape and exact JSON.

A handler module does only this:

    app = make_resolver()

    @app.get("/api/v1/payments/<id>", responses=responses(200, PaymentResponse, 403, 404))
    def get_payment(id: str) -> Response:
        return json_response(200, payments.get_payment(deps(), principal(app), id))

    handler = handlers.api(app)  # payments_core.handlers: the one handler convention
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel

from payments_core import metrics
from payments_core.domain.access import Principal
from payments_core.errors import DomainError, ErrorCode, Unauthorized
from payments_core.http import json_codec
from payments_core.models.common import ErrorResponse
from payments_core.observability import error_fields, logger

JSON = "application/json"
_MEDIA_TYPE_MESSAGE = "Send the body as application/json"

ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, malformed, expired or wrongly signed token",
    403: "The integration's node does not reach the node concerned",
    404: "Not found",
    409: "Conflict",
    415: "The body is not `application/json`",
    422: "Validation error: `details` names each bad field",
    429: "Over the stage's request rate (answered by API Gateway): retry after `Retry-After` seconds",
    503: "Temporarily unavailable: retry after `Retry-After` seconds",
}

RETRY_AFTER_SECONDS = 1
"""Every 503 and 429 the platform answers says when to try again (`Retry-After`, RFC 9110 §10.2.3)."""
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}

PaymentPathId = Annotated[str, Path(description="Payment UUID", json_schema_extra={"format": "uuid"})]
"""A payment id in the path: documented as a UUID; any other text is answered 404 `payment_not_found`
(as an unknown UUID is, and as the seed documents), not 422."""

AppPathId = Annotated[str, Path(description="App id: `app_` and 32 hex digits")]
"""An app id in the path (NoRamp's app API): any other text is answered 404 `app_not_found`, as an unknown id."""

AppKeyPathId = Annotated[str, Path(description="API key id: `key_` and 16 hex digits")]
"""An app key's id in the path: any other text is answered 404 `app_key_not_found`."""


def responses(success: int, model: type[BaseModel], *errors: int, description: str = "OK") -> dict[int, Any]:
    """OpenAPI responses of a route: its success model and its documented errors (one shape)."""
    out: dict[int, Any] = {success: {"description": description, "content": {JSON: {"model": model}}}}
    for code in errors:
        out[code] = {"description": ERROR_DESCRIPTIONS[code], "content": {JSON: {"model": ErrorResponse}}}
        if code in (429, 503):
            out[code]["headers"] = RETRY_AFTER_HEADER
    return out


def json_response(status: int, body: BaseModel | dict[str, Any], *, exclude_none: bool = False) -> Response[Any]:
    data = body.model_dump(mode="python", exclude_none=exclude_none) if isinstance(body, BaseModel) else body
    return Response(status_code=status, content_type=JSON, body=json_codec.dumps(data))


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response[Any]:
    return json_response(status, {"error": {"code": code, "message": message, "details": details or []}})


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = list(err.get("loc", ()))
        code = str(err.get("type", "invalid"))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if code == "json_invalid":
            # The resolver's loc is ("body", character offset) and its message a constant; the decoder's reason
            # (json_codec's or the standard library's: never a value from the body) says what is wrong.
            reason = (err.get("ctx") or {}).get("error")
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            loc = loc[:1]
            if reason:
                message = f"{message}: {reason}" + (f" (at character {position})" if position else "")
        # pydantic puts the model-level validator's errors at the body root; keep it readable.
        details.append({"field": _location(loc) or "body", "code": code, "message": message})
    return details


class _Resolver(APIGatewayRestResolver):
    """powertools' REST resolver with the request being resolved kept on the resolver, not on its class.

    powertools stores the event and the Lambda context on the `BaseRouter` class (process-wide, for its
    included `Router`s, which this platform does not use) and every resolver reads them from there. One
    request per process in Lambda, so nothing shows; but a process that resolves requests on several
    threads at once, one resolver each (the local stack's warm "containers"), had requests read each
    other's event: a create answered 409 for another create's external_id, its own body never seen.
    """

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self.__dict__["_event"] = self._to_proxy_event(event)
        self.__dict__["_context"] = context
        return super().resolve(event, context)

    @property
    def current_event(self) -> Any:
        return self.__dict__["_event"]

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self.__dict__["_event"] = value

    @property
    def lambda_context(self) -> Any:
        return self.__dict__["_context"]

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self.__dict__["_context"] = value


def make_resolver() -> APIGatewayRestResolver:
    app = _Resolver(
        enable_validation=True,
        serializer=json_codec.dumps,
        json_body_deserializer=json_codec.loads,
    )

    def refused(code: str) -> None:
        # By route (the template's resource path: a handful of values) and code; never by id or value.
        event = app.current_event
        metrics.count("RequestsRefused", operation=f"{event.http_method} {event.resource}", error_code=code)

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain(exc: DomainError) -> Response[Any]:
        logger.info("request refused", extra={"error_code": exc.code, "status": exc.status_code})
        refused(exc.code)
        response = json_response(exc.status_code, exc.body())
        if exc.status_code in (429, 503):
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _media_type(exc: RequestUnsupportedContentType) -> Response[Any]:
        refused("unsupported_media_type")
        return _error(415, "unsupported_media_type", _MEDIA_TYPE_MESSAGE)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        details = _validation_details(exc.errors())
        logger.info("request invalid", extra={"fields": [d["field"] for d in details]})
        refused("validation_error")
        return _error(422, "validation_error", "The request is not valid", details)

    @app.not_found
    def _no_route(exc: NotFoundError) -> Response[Any]:
        return _error(404, "route_not_found", "No such route")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[Any]:
        # The error's type, the innermost frame of our own code it went through and, for an AWS error, the
        # operation and error code; never its message or a stack trace: either can carry request values,
        # tokens or secrets. The correlation id ties the line to the request.
        logger.error("unhandled error", extra=error_fields(exc))
        metrics.count("UnhandledErrors")
        return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Internal error")

    return app


def principal(app: APIGatewayRestResolver) -> Principal:
    """The caller, as the integrator authorizer put it in the request context."""
    ctx = app.current_event.request_context.authorizer.raw_event or {}
    actor_id, node_id = ctx.get("actor_id"), ctx.get("node_id")
    if not actor_id or not node_id:
        raise Unauthorized("Missing or invalid bearer token")
    return Principal(actor_type=str(ctx.get("actor_type") or "integration"), actor_id=actor_id, node_id=node_id)


def app_principal(app: APIGatewayRestResolver) -> Principal:
    """The caller of NoRamp's app API, as the app authorizer put it in the request context: an app key
    (`app_id` set, no node) or an integration (its node)."""
    ctx = app.current_event.request_context.authorizer.raw_event or {}
    actor_type, actor_id = str(ctx.get("actor_type") or ""), ctx.get("actor_id")
    if actor_type == "app_key" and actor_id and ctx.get("app_id"):
        return Principal(actor_type=actor_type, actor_id=actor_id, node_id="", app_id=str(ctx["app_id"]))
    if actor_type == "integration" and actor_id and ctx.get("node_id"):
        return Principal(actor_type=actor_type, actor_id=actor_id, node_id=str(ctx["node_id"]))
    raise Unauthorized("Missing or invalid credentials")


def _unsupported_media_type(event: dict[str, Any]) -> bool:
    """A body that is not JSON. The resolver would try forms and multipart; the API takes JSON only.

    Media types are case-insensitive (RFC 9110): `Application/JSON` is normalised for the resolver.
    """
    if event.get("httpMethod") not in ("POST", "PUT", "PATCH") or not event.get("body"):
        return False
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() == "content-type":
            media_type = str(value).split(";")[0].strip().lower()
            if media_type == JSON or media_type.endswith("+json"):
                headers[name] = str(value).lower()
                return False
            return bool(media_type)
    return False


def widget_payment_id(app: APIGatewayRestResolver, path_id: str) -> str:
    """The payment the widget authorizer opened for this request; it must be the one in the path."""
    ctx = app.current_event.request_context.authorizer.raw_event or {}
    if ctx.get("actor_type") != "payer" or ctx.get("actor_id") != path_id:
        raise Unauthorized("Invalid widget access token")
    return path_id


def handle_request(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One API Gateway event through `app`: a body that is not JSON is answered 415 before the resolver
    sees it. The Lambda handler around it is built by payments_core.handlers.api."""
    if _unsupported_media_type(event):
        metrics.count("RequestsRefused", operation=f"{event.get('httpMethod')} {event.get('resource')}",
                      error_code="unsupported_media_type")  # fmt: skip
        return {
            "statusCode": 415,
            "headers": {"Content-Type": JSON},
            "body": json_codec.dumps(
                {"error": {"code": "unsupported_media_type", "message": _MEDIA_TYPE_MESSAGE, "details": []}}
            ),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


def method_not_allowed(allowed: Mapping[str, Sequence[str]], event: dict[str, Any]) -> dict[str, Any]:
    """The answer behind every API resource's ANY method: 405 `method_not_allowed`, with `Allow` naming the
    methods `allowed` gives the event's resource (RFC 9110 §15.5.6). The method asked is not echoed."""
    logger.set_correlation_id(str((event.get("requestContext") or {}).get("requestId") or "") or None)
    methods = ", ".join(allowed.get(str(event.get("resource") or ""), ()))
    logger.info("method not allowed", extra={"resource": event.get("resource"), "allow": methods})
    message = f"This route takes {methods} only" if methods else "This route takes no method"
    error = {"code": ErrorCode.METHOD_NOT_ALLOWED.value, "message": message, "details": []}
    return {
        "statusCode": 405,
        "headers": {"Content-Type": JSON, "Allow": methods},
        "body": json_codec.dumps({"error": error}),
        "isBase64Encoded": False,
    }
