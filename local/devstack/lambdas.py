"""Load function handlers from their CodeUri the way the Lambda runtime would, and build the
events API Gateway sends them."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from devstack import template as tpl

Handler = Callable[[dict[str, Any], Any], Any]
_IMPORT_LOCK = threading.RLock()


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int = 10
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_module(function: str, container: int = 0) -> ModuleType:
    """Import a function's handler module under a name of its own (every function has an app.py).

    `container`: Lambda runs concurrent requests in separate containers, each with its own module
    state (a handler's resolver is not meant to serve two requests at once); each container number
    gets a module instance of its own. The layer's modules are shared, as a process shares them.
    """
    fn = tpl.functions()[function]
    module_file, _ = fn.handler.rsplit(".", 1)
    name = f"fn_{function}" if container == 0 else f"fn_{function}__{container}"
    with _IMPORT_LOCK:  # a half-imported module must never be seen by a concurrent request
        if name in sys.modules:
            return sys.modules[name]
        path = tpl.ROOT / fn.code_uri / f"{module_file}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
        return module


def handler_of(function: str, container: int = 0) -> Handler:
    fn = tpl.functions()[function]
    attr: Handler = getattr(load_module(function, container), fn.handler.rsplit(".", 1)[1])
    return attr


class _Containers:
    """Warm containers per function: a request takes an idle one, or starts a new one when all are busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[int]] = {}
        self._count: dict[str, int] = {}

    def acquire(self, function: str) -> int:
        with self._lock:
            idle = self._idle.setdefault(function, [])
            if idle:
                return idle.pop()
            number = self._count.get(function, 0)
            self._count[function] = number + 1
            return number

    def release(self, function: str, container: int) -> None:
        with self._lock:
            self._idle.setdefault(function, []).append(container)


_CONTAINERS = _Containers()


def invoke(function: str, event: dict[str, Any]) -> Any:
    """One invocation, in a container of its own for as long as it runs (as Lambda does)."""
    fn = tpl.functions()[function]
    container = _CONTAINERS.acquire(function)
    try:
        handler = handler_of(function, container)
        return handler(event, LambdaContext(function_name=function, timeout_seconds=fn.timeout))
    finally:
        _CONTAINERS.release(function, container)


def path_regex(resource: str) -> re.Pattern[str]:
    """/api/v1/payments/{id} -> a regex with a named group per path parameter."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource))
    return re.compile(f"^{pattern}$")


def proxy_event(
    *,
    method: str,
    resource: str,
    path: str,
    headers: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    body: bytes | str | None = None,
    path_parameters: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event, as API Gateway builds it."""
    headers = dict(headers or {})
    multi_query = {k: list(v) for k, v in (query or {}).items()}
    text: str | None
    if body is None or body in {b"", ""}:
        text = None
    elif isinstance(body, bytes):
        # template.yaml declares no BinaryMediaTypes, so API Gateway passes every body as text, never
        # base64: bytes that are not UTF-8 arrive replaced (U+FFFD) and the function refuses the JSON.
        text = body.decode("utf-8", errors="replace")
    else:
        text = body
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", headers.get("user-agent"))},
            "authorizer": authorizer,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def method_arn(method: str, path: str, stage: str = "dev") -> str:
    return f"arn:aws:execute-api:us-east-1:123456789012:local/{stage}/{method}{path}"
