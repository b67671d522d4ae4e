"""Secrets, tokens and private keys never reach a log line."""

from __future__ import annotations

import pytest

from payments_core import deps
from tests.integration.conftest import Api


def test_no_secret_or_token_is_logged(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    creds = api.demo["integrations"]["root"]
    capsys.readouterr()
    token = api.token()
    created = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body()).json()
    api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body())  # 409, logged
    api.call("GET", "/api/v1/payments", token=token + "x", query={"node_id": api.demo["nodes"]["root"]})  # 401
    api.call("POST", "/api/v1/auth/token", json_body={**creds, "client_secret": "wrong-secret-123"})
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "request refused" in logged  # the logger did write
    private_key = deps.key_store().read(stage="AWSCURRENT")["d"]
    for secret in (creds["client_secret"], "wrong-secret-123", token, created["access_token"], private_key):
        assert secret not in logged
