"""Secrets, tokens and private keys never reach a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from payments_core import deps
from payments_core.observability import logger
from tests.integration.helpers import Api


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    capture = _Capture()
    capture.setFormatter(logger.registered_formatter)  # the JSON lines Lambda would ship
    level = logger.log_level
    logger.setLevel(logging.INFO)  # what the template sets (POWERTOOLS_LOG_LEVEL=INFO)
    logger._logger.addHandler(capture)
    try:
        yield capture.lines
    finally:
        logger._logger.removeHandler(capture)
        logger.setLevel(level)


def test_no_secret_or_token_is_logged(api: Api, log_lines: list[str]) -> None:
    creds = api.demo["integrations"]["root"]
    token = api.token()
    created = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body()).json()
    api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body())  # 409, logged
    api.call("GET", "/api/v1/payments", token=token + "x", query={"node_id": api.demo["nodes"]["root"]})  # 401
    api.call("POST", "/api/v1/auth/token", json_body={**creds, "client_secret": "wrong-secret-123"})
    logged = "\n".join(log_lines)
    assert "request refused" in logged  # the logger did write
    assert "token refused" in logged
    private_key = deps.signing_key_store().read(stage="AWSCURRENT")["d"]
    for secret in (creds["client_secret"], "wrong-secret-123", token, created["access_token"], private_key):
        assert secret not in logged
