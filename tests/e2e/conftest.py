"""HTTP end-to-end tests: `python -m devstack` in a subprocess (launch.local_stack), spoken to over HTTP.

One stack per test session (per xdist worker); every test makes its own data (unique external ids,
its own nodes when it counts payments), so the order of the tests does not matter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from devstack.launch import LocalStackInfo, local_stack
from payments_core.domain import catalog as admin
from payments_core.store.catalog import CatalogStore
from payments_core.store.keys import KeyStore

HTTP_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackInfo]:
    with local_stack(tmp_path_factory.mktemp("devstack")) as info:
        yield info


def aws_client(stack: LocalStackInfo, service: str) -> Any:
    """A boto3 client of the stack's moto, without touching this process's environment."""
    env = stack.environment
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.moto_url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass
class Client:
    """httpx against the running stack, with the demo catalog at hand."""

    http: httpx.Client
    demo: dict[str, Any]
    _tokens: dict[str, str]

    def token(self, who: str = "root") -> str:
        if who not in self._tokens:
            r = self.http.post("/api/v1/auth/token", json=self.demo["integrations"][who])
            assert r.status_code == 200, r.text
            self._tokens[who] = r.json()["access_token"]
        return self._tokens[who]

    def auth(self, who: str = "root") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    def payment_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "external_id": f"order-{uuid.uuid4().hex[:12]}",
            "node_id": self.demo["nodes"]["root"],
            "network_id": self.demo["network_id"],
            "currency_id": self.demo["currency_id"],
            "price": 100.5,
            "paid_price": 100.5,
            "payment_method": "web3",
            "payment_group": "product",
            "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    def create(self, who: str = "root", **overrides: Any) -> httpx.Response:
        return self.http.post("/api/v1/payments", json=self.payment_body(**overrides), headers=self.auth(who))


@pytest.fixture(scope="session")
def http(stack: LocalStackInfo) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(base_url=stack.api_url, timeout=HTTP_TIMEOUT, limits=limits) as client:
        yield client


@pytest.fixture(scope="session")
def client(stack: LocalStackInfo, http: httpx.Client) -> Client:
    return Client(http, stack.demo, {})


@pytest.fixture(scope="session")
def catalog(stack: LocalStackInfo) -> CatalogStore:
    """The stack's catalog table, as the operator CLI (`paymentsctl --local`) reaches it."""
    return CatalogStore(aws_client(stack, "dynamodb"), stack.environment["CATALOG_TABLE"])


@pytest.fixture(scope="session")
def key_store(stack: LocalStackInfo) -> KeyStore:
    env = stack.environment
    return KeyStore(
        aws_client(stack, "secretsmanager"),
        aws_client(stack, "ssm"),
        env["SIGNING_KEYS_SECRET_ID"],
        env["JWKS_PARAMETER_NAME"],
    )


@pytest.fixture
def fresh_node(catalog: CatalogStore, client: Client) -> dict[str, Any]:
    """A new node under the demo root: its payment listing starts empty."""
    return admin.create_node(catalog, f"e2e {uuid.uuid4().hex[:8]}", client.demo["nodes"]["root"])


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The platform's one error shape: {"error": {"code", "message", "details"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "details"} <= set(error), body
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code, body
    return dict(error)
