"""Every example in openapi.json (what Swagger UI's "Try it out" fills in) is valid against the schema it
illustrates, parses as the model behind it, and succeeds on the demo stack once its placeholders are the
demo's (the example ids, EXAMPLE_IDS, are `.dev/demo.json`'s nodes.root, network_id and currency_id; CLIENT_ID
and CLIENT_SECRET its integrations.root)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from devstack.launch import LocalStackInfo
from payments_core.domain.entities import App, AppOwner
from payments_core.http.json_codec import loads
from payments_core.models import app_payments, apps, auth, payments, prices, triggers
from payments_core.models.payments import EXAMPLE_IDS
from payments_core.models.triggers import TRIGGER_EXAMPLE
from payments_core.store.catalog import DynamoCatalogStore
from tests.e2e.helpers import Client
from tests.support import SPEC_FILE, spec_errors

SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text())
MODELS: dict[str, type[BaseModel]] = {
    cls.__name__: cls
    for module in (app_payments, apps, auth, payments, prices, triggers)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, BaseModel)
}


def examples(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for each `example`/`examples` of a schema, a parameter or a media type."""
    if isinstance(node, dict):
        schema = node.get("schema", node)  # a parameter's or media type's examples illustrate its schema
        if "example" in node:
            yield where, schema, node["example"]
        for i, value in enumerate(node.get("examples", []) if isinstance(node.get("examples"), list) else []):
            yield f"{where}/examples/{i}", schema, value
        for name, value in (node.get("examples") or {}).items() if isinstance(node.get("examples"), dict) else []:
            yield f"{where}/examples/{name}", schema, value.get("value")
        for key, child in node.items():
            if key not in ("example", "examples"):
                yield from examples(child, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from examples(child, f"{where}/{i}")


EXAMPLES = list(examples(SPEC))


def request_bodies() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, component, example) for each example of a request body's schema."""
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            component = ref.get("$ref", "").removeprefix("#/components/schemas/")
            for example in SPEC["components"]["schemas"].get(component, {}).get("examples", []):
                yield method.upper(), path, component, example


REQUEST_BODIES = list(request_bodies())


def test_the_spec_has_an_example_for_every_request_body() -> None:
    with_body = {
        (method.upper(), path)
        for path, operations in SPEC["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert with_body
    assert {(method, path) for method, path, _, _ in REQUEST_BODIES} == with_body


@pytest.mark.parametrize(("where", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_is_valid_against_its_schema(where: str, schema: dict[str, Any], example: Any) -> None:
    assert spec_errors(example, schema) == []


@pytest.mark.parametrize(
    ("component", "example"), [(c, e) for _, _, c, e in REQUEST_BODIES], ids=[r[2] for r in REQUEST_BODIES]
)
def test_every_request_body_example_parses_as_its_model(component: str, example: dict[str, Any]) -> None:
    """What JSON schema cannot say (member or member_id, items adding up to price, expiry in the future)."""
    MODELS[component].model_validate(loads(json.dumps(example)))


def on_the_demo(example: dict[str, Any], demo: dict[str, Any]) -> dict[str, Any]:
    """The example with the demo's ids and credentials for its placeholders; nothing else changes."""
    placeholders = {
        EXAMPLE_IDS["node_id"]: demo["nodes"]["root"],
        EXAMPLE_IDS["network_id"]: demo["network_id"],
        EXAMPLE_IDS["currency_id"]: demo["currency_id"],
        "CLIENT_ID": demo["integrations"]["root"]["client_id"],
        "CLIENT_SECRET": demo["integrations"]["root"]["client_secret"],
    }
    return {key: placeholders.get(value, value) if isinstance(value, str) else value for key, value in example.items()}


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
@pytest.mark.parametrize(
    ("method", "path", "example"), [(m, p, e) for m, p, _, e in REQUEST_BODIES], ids=[r[2] for r in REQUEST_BODIES]
)
def test_every_request_body_example_succeeds_on_the_demo_stack(
    *,
    client: Client,
    stack: LocalStackInfo,
    catalog: DynamoCatalogStore,
    method: str,
    path: str,
    example: dict[str, Any],
) -> None:
    url = path
    if "{app_id}" in path:  # NoRamp's app API: on an app of the demo's root node (the root integration reaches it)
        root = stack.demo["nodes"]["root"]
        app = App(
            f"app_{uuid.uuid4().hex}", root, (root,), "Examples", "individual", "active", Decimal(0), AppOwner("u", "o")
        )
        catalog.put_new(app)
        url = url.replace("{app_id}", app.id)
        if "{trigger_id}" in path:
            made = client.http.post(f"/triggers/{app.id}", json=TRIGGER_EXAMPLE, headers=client.auth())
            assert made.status_code == 201, made.text
            url = url.replace("{trigger_id}", made.json()["id"])
    if "{id}" in path:  # an action on a payment: on a fresh one
        created = client.create(payment_method="credit_card")
        assert created.status_code == 201, created.text
        url = path.replace("{id}", created.json()["id"])
    if "{price_id}" in path:  # a checkout: of the demo's price (its parameters are all the price's)
        url = url.replace("{price_id}", stack.demo["price_id"])
    r = client.http.request(method, url, json=on_the_demo(example, stack.demo), headers=client.auth())
    assert 200 <= r.status_code < 300, r.text
    answer = SPEC["paths"][path][method.lower()]["responses"][str(r.status_code)]
    assert spec_errors(r.json(), answer["content"]["application/json"]["schema"]) == []
