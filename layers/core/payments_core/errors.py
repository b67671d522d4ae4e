"""Domain errors and the one error shape every 4xx and 5xx answer uses.

    {"error": {"code": "payment_not_found", "message": "...",
               "details": [{"field": "...", "code": "...", "message": "..."}]}}

`code` is stable and machine-readable; `message` is for humans and may change; `details` names each
offending field (dotted path into the request, e.g. `body.items.0.price` or `query.per_page`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        err.update(self.extra)
        return {"error": err}


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_error"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


def field_error(field: str, code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}
