"""Generate the API contract (OpenAPI 3.1) from the functions' pydantic models.

Each API function's resolver yields its own spec (powertools, enable_validation=True); OpenAPIMerge
merges them. Then two platform-wide edits:
- powertools documents request-validation failures as 422 `HTTPValidationError`; the platform answers
  them with its one error shape, so that schema is replaced by `ErrorResponse`;
- the integrator bearer security scheme is declared once and applied to every route that has the
  integrator authorizer in template.yaml (read from the template, not from a second list);
- an optional body (`body: Model | None = None`, which powertools writes `anyOf: [Model, null]`) becomes
  the model with `required: false`: "no body or a Model", which generated clients can send (with the
  anyOf, openapi-python-client's client serialises its "unset" placeholder as the body and crashes);
- every operation documents API Gateway's 429 `throttled` (with `Retry-After`, as every 429 and 503 has).

    python scripts/openapi.py --write   # regenerate openapi.json
    python scripts/openapi.py --check   # fail when openapi.json and the code disagree (make test)
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi.json"
sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT / "local")]

DESCRIPTION = """\
The RudiqPay integrator Payments API.

Authenticate with `POST /api/v1/auth/token` (client credentials) and send the returned JWT as
`Authorization: Bearer <token>`. Every error answer has one shape:
`{"error": {"code": "...", "message": "...", "details": [{"field", "code", "message"}]}}`;
`code` is stable and machine-readable, `details` names each offending field.
"""


def generate() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    from devstack import template as tpl
    from payments_core.http.api import ERROR_DESCRIPTIONS, RETRY_AFTER_HEADER

    logging.getLogger("aws_lambda_powertools").setLevel(logging.ERROR)
    merge = OpenAPIMerge(
        title="RudiqPay Payments API",
        version="1.0.0",
        description=DESCRIPTION,
        on_conflict="error",
    )
    functions = tpl.functions()
    # A resource's ANY method (405 method_not_allowed) is no operation of the API.
    operations = [r for r in tpl.routes() if r.method != "ANY"]
    routed = sorted({r.function for r in operations})
    for name in routed:
        merge.add_file(ROOT / functions[name].code_uri / "app.py", resolver_name="app")
    spec: dict[str, Any] = json.loads(merge.get_openapi_json_schema())

    schemes = {"IntegratorAuthorizer": "IntegratorBearer", "WidgetAuthorizer": "WidgetAccessToken"}
    app_schemes = ["AppKeyBearer", "AppKeyHeader", "IntegratorBearer"]  # the app authorizer takes any of these
    secured = {
        (r.method.lower(), r.path): app_schemes if r.authorizer == "AppAuthorizer" else [schemes[r.authorizer]]
        for r in operations
        if r.authorizer
    }
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components["securitySchemes"] = {
        "IntegratorBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Integrator access token from POST /api/v1/auth/token (ES256, see /.well-known/jwks.json)",
        },
        "AppKeyBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An app's API key (`nrk_...`) as `Authorization: Bearer <key>`; NoRamp's `Basic <key>` "
            "and the standard `Basic base64(<key>:)` are accepted too",
        },
        "AppKeyHeader": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "An app's API key"},
        "WidgetAccessToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The payment's own access_token (from its creation): opens that payment's widget data only",
        },
    }
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            op.pop("security", None)
            if (method, path) in secured:
                op["security"] = [{scheme: []} for scheme in secured[(method, path)]]
                op.setdefault("responses", {}).setdefault(
                    "401",
                    {
                        "description": "Missing, malformed, expired or wrongly signed token",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                    },
                )
    for item in spec.get("paths", {}).values():
        for op in item.values():
            _optional_body(op)
            op.setdefault("responses", {})["429"] = {
                "description": ERROR_DESCRIPTIONS[429],
                "headers": RETRY_AFTER_HEADER,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
            }
    text = json.dumps(spec).replace(
        '"#/components/schemas/HTTPValidationError"', '"#/components/schemas/ErrorResponse"'
    )
    spec = json.loads(text)
    schemas = spec["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for name in list(schemas):
        if f'"#/components/schemas/{name}"' not in json.dumps(spec):
            schemas.pop(name)
    # A model read and written differently (decimal strings in, numbers out) has two schemas, `X-Input` and
    # `X-Output`, with one title: generated clients name classes by title and refuse the duplicate.
    for name, schema in schemas.items():
        if name.endswith(("-Input", "-Output")):
            schema["title"] = name.replace("-", "")
    # Both names of the local stack: Swagger UI opened on either calls its own origin by default.
    spec["servers"] = [
        {"url": "http://127.0.0.1:3000", "description": "local stack (make dev)"},
        {"url": "http://localhost:3000", "description": "local stack (make dev), by name"},
    ]
    return spec


def _optional_body(op: dict[str, Any]) -> None:
    body = op.get("requestBody")
    if not body or body.get("required"):
        return
    for media in body.get("content", {}).values():
        variants = media.get("schema", {}).get("anyOf", [])
        refs = [v for v in variants if v != {"type": "null"}]
        if len(variants) == 2 and len(refs) == 1:
            media["schema"] = refs[0]
    body["required"] = False


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(generate())
    if args.write:
        SPEC.write_text(text)
        print(f"wrote {SPEC.relative_to(ROOT)}")
        return 0
    committed = SPEC.read_text() if SPEC.exists() else ""
    if committed != text:
        diff = difflib.unified_diff(
            committed.splitlines(), text.splitlines(), "openapi.json (committed)", "openapi.json (code)", lineterm=""
        )
        print("\n".join(list(diff)[:80]))
        print("openapi.json is out of date with the code: run `make openapi` and commit it.", file=sys.stderr)
        return 1
    print("openapi.json matches the code")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
