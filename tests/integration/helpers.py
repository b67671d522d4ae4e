"""What the integration tests share besides their fixtures (tests/integration/fixtures.py): a client of the
in-process gateway, and draining the event source pollers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devstack.gateway import Gateway, GatewayResponse
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


def create_web3_payment(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    """POST a web3 payment of the demo's wallet (201 asserted); its body, parsed."""
    body = api.payment_body(wallet_id=api.demo["wallet_id"], **overrides)
    r = api.call("POST", "/api/v1/payments", token=token, json_body=body)
    assert r.status == 201, r.body
    created: dict[str, Any] = r.json()
    return created


def get_payment(api: Api, token: str, payment_id: str) -> dict[str, Any]:
    got: dict[str, Any] = api.call("GET", f"/api/v1/payments/{payment_id}", token=token).json()
    return got


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
