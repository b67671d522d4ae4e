"""The local stack's servers: moto (server mode) and the API over HTTP in front of the Gateway.

- `MotoServer`: moto's ThreadedMotoServer on 127.0.0.1, with `moto_patches` applied (moto's DynamoDB
  writes serialized: see there), quiet, and failing fast when its port is taken.
- `FunctionInvoker`: invokes a function of the template in this process with its own environment
  (applied once when every function shares it, per invocation and serialized when they differ).
- `ApiApp`: the WSGI app: every request becomes the API Gateway proxy event through `Gateway`
  (route, authorizer first, its context passed on), plus `/docs` (Swagger UI, offline),
  `/openapi.json` (the committed contract) and `/_health` (not part of the API). Its own docs page may
  call it from either of its names (the spec lists both servers): requests from exactly those origins,
  `http://127.0.0.1:<port>` and `http://localhost:<port>` (never `*`), get CORS headers and their
  preflights (OPTIONS) an answer; any other origin gets none.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.openapi import swagger_ui
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack import lambdas, moto_patches, runtime
from devstack import template as tpl

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from devstack.gateway import Gateway

log = logging.getLogger("devstack")

OPENAPI_FILE = tpl.ROOT / "openapi.json"
SWAGGER_DIR = Path(swagger_ui.__file__).parent
SWAGGER_ASSETS = {
    "swagger-ui-bundle.min.js": "application/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}


# ---------------------------------------------------------------------------------------- moto
class _QuietMotoHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer (on 127.0.0.1 unless told otherwise) whose start() fails (instead of hanging) when
    the port is taken."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.error: OSError | None = None

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietMotoHandler)
        except OSError as exc:
            self.error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        moto_patches.apply()  # DynamoDB's atomicity under the server's concurrent requests
        super().start()
        if self.error is not None:
            raise self.error

    @property
    def url(self) -> str:
        """Where this machine reaches it (bound to every address, 0.0.0.0, it is reached at 127.0.0.1)."""
        host, port = self.get_host_and_port()
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


# ----------------------------------------------------------------------------------- functions
class FunctionInvoker:
    """`invoke(function, event)` with the function's environment in force.

    In one process, os.environ and the cached settings/clients are shared by every function. When no
    variable has two values across the template's functions (each function declares the settings it uses,
    and a setting has one value per stack), their union is applied once and invocations run concurrently,
    as separate Lambda containers do: a function reading a setting it does not declare is caught by the
    integration stack (each invoked function gets its own environment there), not here. Otherwise each
    invocation applies its function's environment (and clears the process caches) under a lock: one
    invocation at a time, so one hung on the chain would stall the API.
    """

    def __init__(self, environments: dict[str, dict[str, str]]) -> None:
        self._envs = environments
        self.union: dict[str, str] = {}
        self.shared = True
        for env in environments.values():
            for key, value in env.items():
                if self.union.setdefault(key, value) != value:
                    self.shared = False
        self._lock = threading.RLock()
        self._current: dict[str, str] | None = None
        self._names = set(self.union)

    def _apply(self, function: str) -> None:
        env = self._envs.get(function, {})
        if env == self._current:
            return
        for key in self._names - env.keys():  # another function's variable
            os.environ.pop(key, None)
        runtime.apply_environment(env)
        self._current = env

    def activate(self) -> None:
        """Apply the shared environment now (a no-op when functions differ: done per invocation)."""
        if self.shared:
            runtime.apply_environment(self.union)

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if self.shared:
            return lambdas.invoke(function, event)
        with self._lock:
            self._apply(function)
            return lambdas.invoke(function, event)


# ----------------------------------------------------------------------------------------- API
def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()


DOCS_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>RudiqPay Payments API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.min.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis],
    });
  </script>
</body>
</html>
"""


def local_origins(port: int) -> frozenset[str]:
    """The origins of the local stack's own pages: both names of this machine, on the API's port."""
    return frozenset({f"http://127.0.0.1:{port}", f"http://localhost:{port}"})


CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_EXPOSE_HEADERS = "Allow, Retry-After"
CORS_MAX_AGE_SECONDS = 600


class ApiApp:
    """WSGI: the API through the Gateway, and the few local-only pages."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        openapi_file: Path = OPENAPI_FILE,
        swagger_dir: Path = SWAGGER_DIR,
        ready: threading.Event | None = None,
        origins: Iterable[str] = (),
    ) -> None:
        self.gateway = gateway
        self.origins = frozenset(origins)
        self.openapi_file = openapi_file
        self.swagger_dir = swagger_dir
        self.ready = ready or threading.Event()
        self._local: dict[str, Callable[[Request], Response]] = {
            "/_health": self._health,
            "/docs": self._docs,
            "/docs/": self._docs,
            "/openapi.json": self._openapi,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            response = Response(_error_body("internal_error", "Internal error"), 502, content_type="application/json")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        origin = request.headers.get("Origin")
        allowed = origin if origin in self.origins else None
        if allowed and request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            methods = self.gateway.methods(request.path)
            if methods:
                return self._preflight(allowed, methods)
        response = self._dispatch(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
            response.vary.add("Origin")
        return response

    def _preflight(self, origin: str, methods: list[str]) -> Response:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
        response.vary.add("Origin")
        return response

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        local = self._local.get(path)
        if local is not None and request.method in ("GET", "HEAD"):
            return local(request)
        if path.startswith("/docs/") and request.method in ("GET", "HEAD"):
            return self._asset(path.removeprefix("/docs/"))
        headers = dict(request.headers.items())
        query = {k: list(v) for k, v in request.args.lists()}
        answer = self.gateway.request(
            request.method,
            path,
            headers=headers,
            query=query,
            body=request.get_data() or None,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        response = Response(answer.body, status=answer.status)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                response.headers[name] = value
        return response

    def _health(self, request: Request) -> Response:
        if not self.ready.is_set():
            return Response(json.dumps({"status": "starting"}), 503, content_type="application/json")
        return Response(json.dumps({"status": "ok"}), 200, content_type="application/json")

    def _docs(self, request: Request) -> Response:
        return Response(DOCS_HTML, 200, content_type="text/html; charset=utf-8")

    def _asset(self, name: str) -> Response:
        content_type = SWAGGER_ASSETS.get(name)
        if content_type is None:
            return Response(_error_body("route_not_found", "No such route"), 404, content_type="application/json")
        return Response((self.swagger_dir / name).read_bytes(), 200, content_type=content_type)

    def _openapi(self, request: Request) -> Response:
        try:
            data = self.openapi_file.read_bytes()
        except FileNotFoundError:
            body = _error_body("openapi_not_found", "openapi.json is not generated yet: run `make openapi`")
            return Response(body, 404, content_type="application/json")
        return Response(data, 200, content_type="application/json")


http_log = logging.getLogger("devstack.http")


class _RequestLog(WSGIRequestHandler):
    """One plain line per request on the `devstack.http` logger (INFO: the log file; the console with
    --verbose), without werkzeug's terminal colours, method, path (no query: it can carry ids) and status."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", "").split("?", 1)[0]
        http_log.info("%s %s %s", getattr(self, "command", "-"), path.translate(self._control_char_table), code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        http_log.info(format, *args)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        http_log.warning(format, *args)


def serve(app: ApiApp, host: str, port: int) -> Any:
    """A threaded werkzeug server for the API (the caller runs serve_forever / shutdown)."""
    return make_server(host, port, app, threaded=True, request_handler=_RequestLog)
