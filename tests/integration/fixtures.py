"""Integration tests: moto in-process, every table, queue, secret and parameter built from
template.yaml, the functions invoked through the template's routes and authorizer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import runtime
from devstack import template as tpl
from devstack.gateway import Gateway
from devstack.provision import Stack, provision
from devstack.seed import seed_demo
from tests.integration import iam
from tests.integration.helpers import Api


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        st = provision(boto3.session.Session())
        # Every function's settings at once (as devstack's set-up has them): the tests set up and read what
        # several functions use.
        runtime.apply_environment(st.operator_environment())
        with iam.recording(st):  # the AWS calls each function makes (tests/integration/iam.py)
            yield st
        runtime.reset_process_caches()


@pytest.fixture
def demo(stack: Stack) -> dict[str, Any]:
    from payments_core import deps
    from payments_core.domain import keys

    keys.ensure_signing_key(deps.signing_key_store())
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
    from devstack.pollers import build_pollers

    sources = [s for s in tpl.event_sources() if s.kind == "DynamoDB"]
    return build_pollers(stack, lambdas.invoke, sources, wait_seconds=0)
