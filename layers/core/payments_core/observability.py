"""The one Logger of the platform (structured JSON), the correlation id, and how an error is described.

The correlation id is the API Gateway request id of the request that caused the work. It follows the
payment: SQS messages carry it as the `correlation_id` message attribute (store.queues), every change of a
payment writes it into `last_event` (the log writer takes it from the stream record), and the chain
workers set it per message. `set_correlation_id` sets it for the logger and for this invocation's context
(a ContextVar: the local stack runs concurrent invocations in threads of one process).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="payments")

_correlation: ContextVar[str | None] = ContextVar("payments_correlation_id", default=None)

CORRELATION_ATTRIBUTE = "correlation_id"
"""The SQS message attribute, and the key in a payment's `last_event`."""


def set_correlation_id(value: str | None) -> None:
    logger.set_correlation_id(value)
    _correlation.set(value)


def correlation_id() -> str | None:
    return _correlation.get()


@contextmanager
def correlation_scope() -> Iterator[None]:
    """One invocation: the correlation id it sets does not outlive it (metrics.log_metrics opens it)."""
    token = _correlation.set(None)
    try:
        yield
    finally:
        _correlation.reset(token)


# ---------------------------------------------------------------------------------------------- errors
OWN_PACKAGES = frozenset({"payments_core", "payments_chain"})
# Where libraries live: site-packages locally; on Lambda, layers' packages sit in /opt/python beside
# payments_core, and the runtime's own in /var/runtime and /var/lang.
_LIBRARY_PATHS = ("/site-packages/", "/dist-packages/", "/opt/python/", "/var/runtime/", "/var/lang/")


def _own(frame: FrameType) -> bool:
    """A frame of the project's own code: payments_core, payments_chain, a handler module (app.py)."""
    module = str(frame.f_globals.get("__name__") or "")
    root = module.split(".", maxsplit=1)[0]
    if root in OWN_PACKAGES:
        return True
    filename = frame.f_code.co_filename.replace("\\", "/")
    if root in sys.stdlib_module_names or filename.startswith("<"):
        return False
    return not any(part in filename for part in _LIBRARY_PATHS)


def _where(frame: FrameType, line: int) -> str:
    code = frame.f_code
    where = "/".join(code.co_filename.replace("\\", "/").rsplit("/", 2)[-2:])
    return f"{where}:{line} in {code.co_name}"


def raised_at(exc: BaseException) -> str:
    """Where the project's own code raised it or called what raised it: the innermost frame of the
    traceback inside payments_core, payments_chain or a handler module, as `package/module.py:line in
    function` (no values, no message); the innermost frame of all when none is the project's."""
    frames = list(traceback.walk_tb(exc.__traceback__))
    if not frames:
        return "unknown"
    own = [(frame, line) for frame, line in frames if _own(frame)]
    frame, line = (own or frames)[-1]
    return _where(frame, line)


def _client_error(exc: BaseException) -> Any:
    """The botocore ClientError behind `exc` (itself, or what it was raised from), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if hasattr(current, "operation_name") and isinstance(getattr(current, "response", None), dict):
            return current
        current = current.__cause__ or current.__context__
    return None


def error_fields(exc: BaseException) -> dict[str, str]:
    """What a log line may say of an unexpected error: its type, where it was raised and, for an AWS
    error, the operation and error code. Never its message or a value (either can carry request data,
    tokens or secrets)."""
    fields = {"error_type": type(exc).__name__, "raised_at": raised_at(exc)}
    aws = _client_error(exc)
    if aws is not None:
        fields["aws_operation"] = str(aws.operation_name)
        fields["aws_error_code"] = str((aws.response.get("Error") or {}).get("Code") or "unknown")
    return fields
