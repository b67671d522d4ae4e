"""API Gateway (REST) in-process: routes and authorizers from template.yaml.

For each request: a body over 10 MB gets the template's REQUEST_TOO_LARGE gateway response; match the
route (the most specific resource whose path matches, then its method, else its ANY method, else the
MISSING_AUTHENTICATION_TOKEN gateway response, as API Gateway does); if it has an authorizer, check the
identity source against the authorizer's ValidationExpression, run the authorizer (its answer cached per
token for ReauthorizeEvery seconds, as API Gateway does) and answer the template's UNAUTHORIZED gateway
response when it refuses (it raised `Unauthorized`), a 500 (AUTHORIZER_FAILURE) when it failed otherwise;
then invoke the function with the proxy event, the authorizer's context under requestContext.authorizer.
A gateway response carries the template's ResponseParameters headers.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack import lambdas
from devstack import template as tpl

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway (REST): 10 MB; larger gets the REQUEST_TOO_LARGE response


class AuthorizerFailed(Exception):
    """The authorizer raised something other than `Unauthorized`, or answered no policy: API Gateway's 500."""


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _CompiledRoute:
    route: tpl.Route
    regex: re.Pattern[str]
    literal_segments: int


@dataclass
class Gateway:
    stage: str = "dev"
    # invoke(function, event): the local stack passes one that applies each function's environment.
    invoker: Callable[[str, dict[str, Any]], Any] | None = None
    _routes: list[_CompiledRoute] = field(default_factory=list)
    _auth_cache: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for r in tpl.routes():
            literal = sum(1 for seg in r.path.split("/") if seg and not seg.startswith("{"))
            self._routes.append(_CompiledRoute(r, lambdas.path_regex(r.path), literal))
        # Most specific first, as API Gateway matches literal paths before parameters.
        self._routes.sort(key=lambda c: -c.literal_segments)
        self._authorizers = tpl.authorizers()
        t = tpl.load()
        api = next(iter(tpl.resources("AWS::Serverless::Api", t).values()))
        self._gateway_responses = api["Properties"].get("GatewayResponses", {})

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        return (self.invoker or lambdas.invoke)(function, event)

    def _gateway_response(self, kind: str, status: int, message: str = "") -> GatewayResponse:
        """The template's gateway response of this kind, else its DEFAULT_4XX / DEFAULT_5XX, as API Gateway picks."""
        default = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        spec = self._gateway_responses.get(kind) or self._gateway_responses.get(default, {})
        body = spec.get("ResponseTemplates", {}).get("application/json", '{"message": $context.error.messageString}')
        body = body.replace("$context.error.messageString", json.dumps(message))
        headers = {"Content-Type": "application/json"}
        for name, value in spec.get("ResponseParameters", {}).get("Headers", {}).items():
            headers[name] = str(value).strip("'")  # a static value is a quoted literal: "'1'"
        return GatewayResponse(int(spec.get("StatusCode", status)), headers, body.encode())

    def _resource(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The resource (template path) a request path falls on, and its path parameters."""
        for c in self._routes:
            m = c.regex.match(path)
            if m:
                return c.route.path, m.groupdict()
        return None

    def match(self, method: str, path: str) -> tuple[tpl.Route, dict[str, str]] | str | None:
        """The route and its path parameters: the resource's own method, else its ANY method; "method" when
        the path exists with other methods only; None for an unknown path."""
        found = self._resource(path)
        if found is None:
            return None
        resource, params = found
        on_resource = [c.route for c in self._routes if c.route.path == resource]
        for wanted in (method, "ANY"):
            for route in on_resource:
                if route.method == wanted:
                    return route, params
        return "method"

    def methods(self, path: str) -> list[str]:
        """The methods the resource a request path falls on has (not its ANY); [] for an unknown path."""
        found = self._resource(path)
        if found is None:
            return []
        return sorted({c.route.method for c in self._routes if c.route.path == found[0]} - {"ANY"})

    def _authorize(
        self,
        name: str,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        resource: str = "",
        path_parameters: dict[str, str] | None = None,
        query: dict[str, list[str]] | None = None,
    ) -> dict[str, Any] | None:
        """Run (or reuse the cached answer of) a TOKEN or REQUEST authorizer, then evaluate its policy
        against this request's method ARN, as API Gateway does for every request."""
        spec = self._authorizers[name]
        identity = spec.get("Identity", {})
        lowered = {k.lower(): v for k, v in headers.items()}
        request_type = spec.get("FunctionPayloadType", "TOKEN") == "REQUEST"
        if request_type:
            sources = [lowered.get(h.lower()) for h in identity.get("Headers", [])]
            if not all(sources):
                return None
            token = "\n".join(str(v) for v in sources)
        else:
            token = lowered.get(identity.get("Header", "Authorization").lower()) or ""
            if not token:
                return None
            expression = identity.get("ValidationExpression")
            if expression and not re.fullmatch(expression, token):
                return None
        arn = lambdas.method_arn(method, path, self.stage)
        ttl = int(identity.get("ReauthorizeEvery", 300))
        key = (name, token)
        now = time.monotonic()
        with self._lock:
            cached = self._auth_cache.get(key) if ttl > 0 else None
        if cached and now - cached[0] < ttl:
            answer = cached[1]
        else:
            function = spec["FunctionArn"]["Fn::GetAtt"][0]
            if request_type:
                event: dict[str, Any] = {
                    "type": "REQUEST",
                    "methodArn": arn,
                    "resource": resource,
                    "path": path,
                    "httpMethod": method,
                    "headers": dict(headers),
                    "queryStringParameters": {k: v[-1] for k, v in (query or {}).items()} or None,
                    "pathParameters": path_parameters or None,
                    "stageVariables": None,
                    "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": self.stage},
                }
            else:
                event = {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
            try:
                answer = self._invoke(function, event)
            except Exception as exc:
                if str(exc) != "Unauthorized":
                    # API Gateway answers any other authorizer error with a 500 (AUTHORIZER_FAILURE), not a 401
                    raise AuthorizerFailed(function) from exc
                answer = None
            if answer is not None and not isinstance(answer, dict):
                raise AuthorizerFailed(function)  # API Gateway: AUTHORIZER_CONFIGURATION_ERROR, a 500
            with self._lock:
                if ttl > 0:
                    self._auth_cache[key] = (now, answer)
        if not answer or not _allows(answer.get("policyDocument", {}), arn):
            return None
        return {**answer.get("context", {}), "principalId": answer.get("principalId")}

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, list[str]] | None = None,
        body: bytes | str | None = None,
        source_ip: str = "127.0.0.1",
    ) -> GatewayResponse:
        headers = dict(headers or {})
        if body is not None and len(body.encode() if isinstance(body, str) else body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", 413, "Request Too Long")
        matched = self.match(method, path)
        if matched is None or matched == "method":
            # API Gateway answers an unknown route (or a method a resource without ANY lacks) with 403
            # MissingAuthenticationToken.
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", 403)
        assert not isinstance(matched, str)
        route, params = matched
        authorizer_context = None
        if route.authorizer:
            try:
                authorizer_context = self._authorize(
                    route.authorizer, method, path, headers, resource=route.path, path_parameters=params, query=query
                )
            except AuthorizerFailed:
                return self._gateway_response("AUTHORIZER_FAILURE", 500)
            if authorizer_context is None:
                return self._gateway_response("UNAUTHORIZED", 401)
        event = lambdas.proxy_event(
            method=method,
            resource=route.path,
            path=path,
            headers=headers,
            query=query,
            body=body,
            path_parameters=params,
            authorizer=authorizer_context,
            stage=self.stage,
            source_ip=source_ip,
        )
        try:
            result = self._invoke(route.function, event)
        except Exception:
            return self._gateway_response("DEFAULT_5XX", 502)
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[k] = ", ".join(str(v) for v in values)
        raw = result.get("body") or ""
        data = raw.encode() if isinstance(raw, str) else raw
        if result.get("isBase64Encoded"):
            data = base64.b64decode(data)
        return GatewayResponse(int(result.get("statusCode", 200)), out_headers, data)


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """An IAM policy's verdict on execute-api:Invoke of `method_arn` (an explicit Deny wins)."""
    allowed = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
