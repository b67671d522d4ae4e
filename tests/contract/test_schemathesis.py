"""The committed contract against the running local stack: schemathesis generates requests from
openapi.json (valid and invalid ones) and checks every answer: no 5xx, every status code, content
type and body documented, invalid input refused, and authentication enforced where the spec says so."""

from __future__ import annotations

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
