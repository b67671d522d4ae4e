"""Any method an API resource does not have: 405 `method_not_allowed`, the resource's methods in `Allow`.

API Gateway (REST) answers a method a resource lacks as it answers an unknown path (MISSING_AUTHENTICATION_TOKEN,
404 `route_not_found` here). template.yaml gives every resource of the API an `ANY` method, without authorizer,
that lands here: API Gateway prefers a resource's own methods to its ANY. ALLOWED repeats the template's routes
(tests/unit/test_template.py keeps the two equal).
"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_core.http.api import method_not_allowed

ALLOWED = {
    "/.well-known/jwks.json": ("GET",),
    "/api/v1/auth/token": ("POST",),
    "/api/v1/payments": ("GET", "POST"),
    "/api/v1/payments/{id}": ("GET",),
    "/api/v1/payments/{id}/cancel": ("POST",),
    "/api/v1/payments/{id}/logs": ("GET",),
    "/api/v1/payments/{id}/retry-send": ("POST",),
    "/api/v1/widget/payments/{id}": ("GET",),
    "/apps": ("POST",),
    "/apps/{app_id}": ("DELETE", "GET", "PATCH"),
    "/apps/{app_id}/keys": ("GET", "POST"),
    "/apps/{app_id}/keys/{key_id}": ("DELETE",),
    "/prices/{app_id}": ("GET", "POST"),
    "/prices/{app_id}/{price_id}": ("DELETE", "GET"),
    "/triggers/{app_id}": ("GET", "POST"),
    "/triggers/{app_id}/{trigger_id}": ("DELETE", "GET", "PATCH"),
    "/checkout/{price_id}": ("POST",),
    "/payments/{app_id}": ("GET",),
    "/payments/{app_id}/{payment_id}": ("GET",),
}


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return method_not_allowed(ALLOWED, event)
