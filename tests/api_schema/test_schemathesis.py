"""The committed contract against the running local stack: schemathesis generates requests from
openapi.json (valid and invalid ones) and checks every answer: no 5xx, every status code, content
type and body documented, invalid input refused, and authentication enforced where the spec says so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.launch import LocalStackInfo, local_stack
from tests.support import payment_body

ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_path(ROOT / "openapi.json")
schema.config.generation.update(max_examples=40)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStackInfo, str]]:
    with local_stack(tmp_path_factory.mktemp("contract")) as info:
        creds = info.demo["integrations"]["root"]
        token = httpx.post(f"{info.api_url}/api/v1/auth/token", json=creds, timeout=10).json()["access_token"]
        yield info, token


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=40)
def test_api_conforms_to_the_committed_contract(
    case: schemathesis.Case[Any], running: tuple[LocalStackInfo, str]
) -> None:
    info, token = running
    case.call_and_validate(
        base_url=info.api_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=10
    )


def _successful_cases(info: LocalStackInfo, token: str) -> list[tuple[schemathesis.Case[Any], dict[str, str], int]]:
    """A request per operation that succeeds on the demo catalog: generated data rarely names ids that exist,
    so the generated cases above mostly see the error answers. (Retry-send succeeds only for a payment whose
    deal failed to be sent; its 200 body is the payment's, checked here on GET.) The widget answers 200 once
    the watcher verified the payment's deal at the network's confirmations (202 until then): waited for."""
    bearer = {"Authorization": f"Bearer {token}"}
    root = info.demo["nodes"]["root"]
    created = httpx.post(
        f"{info.api_url}/api/v1/payments", json=payment_body(info.demo, "contract-seed"), headers=bearer, timeout=10
    )
    assert created.status_code == 201, created.text
    payment = created.json()
    widget = {"Authorization": f"Bearer {payment['access_token']}"}
    by_id = {"id": payment["id"]}
    _wait_for_widget(info, payment["id"], widget)
    app = httpx.post(
        f"{info.api_url}/apps", json={"node_id": root, "name": "contract-seed"}, headers=bearer, timeout=10
    ).json()
    key = httpx.post(f"{info.api_url}/apps/{app['id']}/keys", json={}, headers=bearer, timeout=10).json()
    doomed = httpx.post(
        f"{info.api_url}/apps", json={"node_id": root, "name": "contract-delete"}, headers=bearer, timeout=10
    ).json()
    of_app = {"app_id": app["id"]}
    demo_app = {"app_id": info.demo["app_id"]}
    demo_key = {"x-api-key": info.demo["app_api_key"]}
    checkout: dict[str, Any] = {"payment_provider": "card"}
    sold = httpx.post(f"{info.api_url}/checkout/{info.demo['price_id']}", json=checkout, timeout=10)
    assert sold.status_code == 201, sold.text
    return [
        (
            schema["/checkout/{price_id}"]["POST"].Case(
                path_parameters={"price_id": info.demo["price_id"]}, body=checkout
            ),
            {},
            201,
        ),
        (schema["/payments/{app_id}"]["GET"].Case(path_parameters=demo_app), demo_key, 200),
        (
            schema["/payments/{app_id}/{payment_id}"]["GET"].Case(
                path_parameters={**demo_app, "payment_id": sold.json()["id"]}
            ),
            demo_key,
            200,
        ),
        (
            schema["/apps"]["POST"].Case(body={"node_id": root, "name": "contract-create", "app_fee": "2.5"}),
            bearer,
            201,
        ),
        (schema["/apps/{app_id}"]["GET"].Case(path_parameters=of_app), bearer, 200),
        (schema["/apps/{app_id}"]["GET"].Case(path_parameters=of_app), {"x-api-key": key["key"]}, 200),
        (schema["/apps/{app_id}"]["PATCH"].Case(path_parameters=of_app, body={"status": "active"}), bearer, 200),
        (schema["/apps/{app_id}/keys"]["POST"].Case(path_parameters=of_app, body={"name": "k"}), bearer, 201),
        (schema["/apps/{app_id}/keys"]["GET"].Case(path_parameters=of_app), bearer, 200),
        (
            schema["/apps/{app_id}/keys/{key_id}"]["DELETE"].Case(path_parameters={**of_app, "key_id": key["id"]}),
            bearer,
            200,
        ),
        (schema["/apps/{app_id}"]["DELETE"].Case(path_parameters={"app_id": doomed["id"]}), bearer, 200),
        (schema["/api/v1/auth/token"]["POST"].Case(body=info.demo["integrations"]["root"]), {}, 200),
        (schema["/.well-known/jwks.json"]["GET"].Case(), {}, 200),
        (schema["/api/v1/payments"]["POST"].Case(body=payment_body(info.demo, "contract-create")), bearer, 201),
        (schema["/api/v1/payments"]["GET"].Case(query={"node_id": root, "per_page": 5}), bearer, 200),
        (schema["/api/v1/payments/{id}"]["GET"].Case(path_parameters=by_id), bearer, 200),
        (schema["/api/v1/payments/{id}/logs"]["GET"].Case(path_parameters=by_id), bearer, 200),
        (schema["/api/v1/widget/payments/{id}"]["GET"].Case(path_parameters=by_id), widget, 200),
        (schema["/api/v1/payments/{id}/cancel"]["POST"].Case(path_parameters=by_id, body={}), bearer, 202),
        *_price_and_trigger_cases(info),
    ]


def _price_and_trigger_cases(info: LocalStackInfo) -> list[tuple[schemathesis.Case[Any], dict[str, str], int]]:
    """NoRamp's prices and triggers, on an app (and key) written to the stack's catalog: a trigger and a price made
    here for the reads, the update and the deletes (each delete of its own)."""
    from decimal import Decimal

    from payments_core.domain.entities import App, AppKey, AppOwner
    from payments_core.models.triggers import TRIGGER_EXAMPLE
    from payments_core.security import app_keys
    from payments_core.store.catalog import DynamoCatalogStore
    from tests.e2e.helpers import aws_client

    catalog = DynamoCatalogStore(aws_client(info, "dynamodb"), info.environment["CATALOG_TABLE"])
    root = info.demo["nodes"]["root"]
    app_id = "app_" + "5c" * 16
    catalog.put_new(App(app_id, root, (root,), "Contract app", "individual", "active", Decimal(0), AppOwner("u", "o")))
    key = app_keys.new_key()
    catalog.put_new(AppKey(id=key.key_id, app_id=app_id, secret_hash=key.secret_hash))
    auth = {"Authorization": f"Bearer {key.key}"}

    def made(path: str, body: dict[str, Any]) -> str:
        r = httpx.post(f"{info.api_url}{path}", json=body, headers=auth, timeout=10)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    trigger_id = made(f"/triggers/{app_id}", TRIGGER_EXAMPLE)
    spare_trigger = made(f"/triggers/{app_id}", TRIGGER_EXAMPLE)
    price_body: dict[str, Any] = {
        "name": "Seat",
        "amount": 50,
        "trigger_id": trigger_id,
        "trigger_data": {"params_data": {"seat": 1}},
    }
    price_id = made(f"/prices/{app_id}", price_body)
    spare_price = made(f"/prices/{app_id}", {"name": "Spare", "amount": "5.50"})
    app_path = {"app_id": app_id}
    return [
        (schema["/triggers/{app_id}"]["POST"].Case(path_parameters=app_path, body=TRIGGER_EXAMPLE), auth, 201),
        (schema["/triggers/{app_id}"]["GET"].Case(path_parameters=app_path), auth, 200),
        (
            schema["/triggers/{app_id}/{trigger_id}"]["GET"].Case(
                path_parameters={**app_path, "trigger_id": trigger_id}
            ),
            auth,
            200,
        ),
        (
            schema["/triggers/{app_id}/{trigger_id}"]["PATCH"].Case(
                path_parameters={**app_path, "trigger_id": trigger_id}, body={"name": "Renamed"}
            ),
            auth,
            200,
        ),
        (schema["/prices/{app_id}"]["POST"].Case(path_parameters=app_path, body=price_body), auth, 201),
        (schema["/prices/{app_id}"]["GET"].Case(path_parameters=app_path), auth, 200),
        (
            schema["/prices/{app_id}/{price_id}"]["GET"].Case(path_parameters={**app_path, "price_id": price_id}),
            auth,
            200,
        ),
        (
            schema["/prices/{app_id}/{price_id}"]["DELETE"].Case(path_parameters={**app_path, "price_id": spare_price}),
            auth,
            200,
        ),
        (
            schema["/triggers/{app_id}/{trigger_id}"]["DELETE"].Case(
                path_parameters={**app_path, "trigger_id": spare_trigger}
            ),
            auth,
            200,
        ),
    ]


def _wait_for_widget(info: LocalStackInfo, payment_id: str, headers: dict[str, str], timeout: float = 30.0) -> None:
    """Until the widget data is ready (200: the deal verified), polling its 202."""
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{info.api_url}/api/v1/widget/payments/{payment_id}", headers=headers, timeout=10)
        if r.status_code != 202:
            assert r.status_code == 200, r.text
            return
        assert time.monotonic() < deadline, f"the widget still answers 202 after {timeout:.0f}s: {r.text}"
        time.sleep(0.2)


def test_successful_answers_conform_to_the_committed_contract(running: tuple[LocalStackInfo, str]) -> None:
    info, token = running
    for case, headers, status in _successful_cases(info, token):
        response = case.call_and_validate(base_url=info.api_url, headers=headers, checks=CHECKS, timeout=10)
        assert response.status_code == status, (case.method, case.path, response.text)
