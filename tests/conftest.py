"""Settings shared by every test: fake AWS credentials, one region, no real AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    # botocore's account-id endpoints escape moto's mock for some services (DynamoDB Streams).
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_DEV="false",
)

from devstack import moto_patches

moto_patches.apply()

# The running local stack's fixtures (`stack`, `client`, ...: tests/e2e/fixtures.py) serve tests/e2e and
# tests/devstack alike, one session-scoped stack for both; tests/integration and tests/devstack/emulator
# override `stack` with the in-process moto stack in their own conftest.
# tests/integration/iam.py records the AWS calls of every function across the integration tests and, after a
# run of all of them, compares them with template.yaml's grants (its hooks must be seen by xdist's controller).
pytest_plugins = ["tests.e2e.fixtures", "tests.integration.iam"]


@pytest.fixture(autouse=True)
def _no_correlation_id_between_tests() -> Iterator[None]:
    """A Lambda invocation opens its own correlation scope (metrics.log_metrics); a test that drives a resolver
    directly sets the process's correlation id and would leave it to the next test."""
    yield
    from payments_core.observability import set_correlation_id

    set_correlation_id(None)
