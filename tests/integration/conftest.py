"""Integration tests: moto in-process, every table, queue, secret and parameter built from
template.yaml, the functions invoked through the template's routes and authorizer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import runtime
from devstack.gateway import Gateway, GatewayResponse
from devstack.provision import Stack, provision
from devstack.seed import seed_demo
from tests.support import payment_body


@dataclass
class Api:
    """A client of the in-process gateway, with a token cache per integration."""

    gateway: Gateway
    demo: dict[str, Any]

    def token(self, who: str = "root") -> str:
        creds = self.demo["integrations"][who]
        r = self.gateway.request(
            "POST", "/api/v1/auth/token", headers={"Content-Type": "application/json"}, body=json.dumps(creds)
        )
        assert r.status == 200, r.body
        return str(r.json()["access_token"])

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        raw_body: str | None = None,
        query: dict[str, Any] | None = None,
    ) -> GatewayResponse:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = raw_body if raw_body is not None else (json.dumps(json_body) if json_body is not None else None)
        q = {k: [str(v)] for k, v in (query or {}).items() if v is not None}
        return self.gateway.request(method, path, headers=headers, query=q, body=body)

    def payment_body(self, **overrides: Any) -> dict[str, Any]:
        return payment_body(self.demo, overrides.pop("external_id", "order-1"), **overrides)


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        st = provision(boto3.session.Session())
        runtime.apply_environment(st.environment("CreatePaymentFunction"))
        yield st
        runtime.reset_process_caches()


@pytest.fixture
def demo(stack: Stack) -> dict[str, Any]:
    from payments_core import deps
    from payments_core.domain import keys

    keys.ensure_signing_key(deps.key_store())
    return seed_demo(deps.catalog(), api_url="in-process")


@pytest.fixture
def api(demo: dict[str, Any]) -> Api:
    return Api(Gateway(), demo)


@pytest.fixture
def pollers(stack: Stack) -> list[Any]:
    """The template's event source mappings (stream and queues), delivering to the real handlers."""
    from devstack import lambdas
    from devstack.pollers import build_pollers

    return build_pollers(stack, lambdas.invoke, wait_seconds=0)


@pytest.fixture
def stream_pollers(stack: Stack) -> list[Any]:
    """Only the payments stream's mapping (the log writer): no chain worker, no schedule."""
    from devstack import lambdas
    from devstack import template as tpl
    from devstack.pollers import build_pollers

    sources = [s for s in tpl.event_sources() if s.kind == "DynamoDB"]
    return build_pollers(stack, lambdas.invoke, sources, wait_seconds=0)


def drain(pollers: list[Any], *, rounds: int = 500) -> int:
    """Poll until two rounds in a row deliver nothing; returns how many records were received."""
    received, quiet = 0, 0
    for _ in range(rounds):
        got: int = sum(poller.poll_once().received for poller in pollers)
        received += got
        quiet = quiet + 1 if got == 0 else 0
        if quiet >= 2:
            return received
    raise AssertionError(f"the pollers were still receiving after {rounds} rounds")
