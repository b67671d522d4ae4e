"""HTTP end-to-end tests: `python -m devstack` in a subprocess (launch.local_stack), spoken to over HTTP.

One stack per test session (per xdist worker); every test makes its own data (unique external ids,
its own nodes when it counts payments), so the order of the tests does not matter.
The tests that read the deal queues run on a second, quiet stack (`quiet_stack`: no chain, no chain
workers), started the first time one of them asks for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.launch import LocalStackInfo, local_stack
from payments_core.domain import catalog as admin
from payments_core.domain.entities import Node
from payments_core.store.catalog import DynamoCatalogStore
from payments_core.store.integration_secrets import DynamoSecretHashStore
from payments_core.store.integrations import DynamoIntegrationStatusStore
from payments_core.store.keys import AwsSigningKeyStore
from payments_core.store.payments import DynamoPaymentStore
from payments_core.store.rpc_urls import RpcUrlStore
from tests.e2e.helpers import (
    DEAL_QUEUES,
    Client,
    DealQueues,
    aws_client,
    consumed_deal_queues,
    http_client,
    stack_payment_store,
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackInfo]:
    with local_stack(tmp_path_factory.mktemp("devstack")) as info:
        yield info


@pytest.fixture(scope="session")
def http(stack: LocalStackInfo) -> Iterator[httpx.Client]:
    with http_client(stack) as client:
        yield client


@pytest.fixture(scope="session")
def client(stack: LocalStackInfo, http: httpx.Client) -> Client:
    return Client(http, stack.demo, {})


# ------------------------------------------------------------ the quiet stack: nothing consumes the queues
@pytest.fixture(scope="session")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackInfo]:
    """A second stack without chain and chain workers (--no-chain --no-workers): the deal queues keep
    their messages, and web3 payments stay in the statuses a test writes."""
    with local_stack(tmp_path_factory.mktemp("devstack-quiet"), chain=False, workers=False) as info:
        yield info


@pytest.fixture(scope="session")
def quiet_http(quiet_stack: LocalStackInfo) -> Iterator[httpx.Client]:
    with http_client(quiet_stack) as client:
        yield client


@pytest.fixture(scope="session")
def quiet_client(quiet_stack: LocalStackInfo, quiet_http: httpx.Client) -> Client:
    return Client(quiet_http, quiet_stack.demo, {})


@pytest.fixture(scope="session")
def catalog(stack: LocalStackInfo) -> DynamoCatalogStore:
    """The stack's catalog table, as the operator CLI (`paymentsctl --local`) reaches it."""
    return DynamoCatalogStore(aws_client(stack, "dynamodb"), stack.environment["CATALOG_TABLE"])


@pytest.fixture(scope="session")
def rpc_urls(stack: LocalStackInfo) -> RpcUrlStore:
    """The stack's RPC URLs (Secrets Manager), as the operator CLI writes them."""
    return RpcUrlStore(aws_client(stack, "secretsmanager"), stack.environment["RPC_SECRET_PREFIX"])


@pytest.fixture(scope="session")
def secret_hashes(stack: LocalStackInfo) -> DynamoSecretHashStore:
    """The stack's integration secrets table, as the operator CLI writes it."""
    return DynamoSecretHashStore(aws_client(stack, "dynamodb"), stack.environment["INTEGRATION_SECRETS_TABLE"])


@pytest.fixture(scope="session")
def integration_statuses(stack: LocalStackInfo) -> DynamoIntegrationStatusStore:
    """Integrations' status in the stack's catalog, as `paymentsctl integration disable|enable` sets it."""
    return DynamoIntegrationStatusStore(aws_client(stack, "dynamodb"), stack.environment["CATALOG_TABLE"])


@pytest.fixture(scope="session")
def signing_key_store(stack: LocalStackInfo) -> AwsSigningKeyStore:
    env = stack.environment
    return AwsSigningKeyStore(
        aws_client(stack, "secretsmanager"),
        aws_client(stack, "ssm"),
        secret_id=env["SIGNING_KEYS_SECRET_ID"],
        jwks_parameter=env["JWKS_PARAMETER_NAME"],
    )


@pytest.fixture
def fresh_node(catalog: DynamoCatalogStore, client: Client) -> Node:
    """A new node under the demo root: its payment listing starts empty."""
    return admin.create_node(catalog, f"e2e {uuid.uuid4().hex[:8]}", client.demo["nodes"]["root"])


# ------------------------------------------------------------------ lifecycle: the stack's table and queues
@pytest.fixture(scope="session")
def payment_store(stack: LocalStackInfo) -> DynamoPaymentStore:
    """The stack's payments table, reached through moto as a chain worker would reach it."""
    return stack_payment_store(stack)


@pytest.fixture(scope="session")
def quiet_payment_store(quiet_stack: LocalStackInfo) -> DynamoPaymentStore:
    """The quiet stack's payments table."""
    return stack_payment_store(quiet_stack)


@pytest.fixture(scope="session")
def deal_queues(quiet_stack: LocalStackInfo) -> DealQueues:
    """The quiet stack's deal queues (use with quiet_client and quiet_payment_store). Skips the test only if
    that stack runs the chain workers after all: their messages would be gone before a test could read them."""
    consumed = consumed_deal_queues()
    if quiet_stack.workers and consumed:
        pytest.skip(f"{' and '.join(consumed)} consumed by the chain workers in this stack: not readable from outside")
    env = quiet_stack.environment
    return DealQueues(aws_client(quiet_stack, "sqs"), env["DEAL_QUEUE_URL"], [])


@pytest.fixture(scope="session")
def chain_workers(stack: LocalStackInfo) -> None:
    """Skips the test unless the stack runs the chain workers on the deal queues, with a chain (anvil)."""
    if stack.rpc_url is None or not stack.workers or len(consumed_deal_queues()) < len(DEAL_QUEUES):
        pytest.skip("no chain workers with a chain in this stack")


@pytest.fixture(scope="session")
def chain_w3(stack: LocalStackInfo, chain_workers: None) -> Any:
    """web3 on the stack's anvil (skips without a chain and its workers). Typed Any: web3 is imported lazily."""
    from devstack import chain

    return chain.connect(str(stack.rpc_url))
