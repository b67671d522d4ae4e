"""Contract tests: an in-process EVM (eth-tester + py-evm) with the diamond deployed from the committed artifacts.

The diamond is deployed once per session (per xdist worker); every test runs against a snapshot that is reverted
afterwards, so tests are independent and each costs only its own transactions (~50 ms each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket

from tests.solidity.evm import System, deploy_system


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Everything here runs in-process: no socket may be opened."""
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(scope="session")
def deployed() -> System:
    return deploy_system()


@pytest.fixture
def system(deployed: System) -> Iterator[System]:
    snapshot = deployed.tester.take_snapshot()
    yield deployed
    deployed.tester.revert_to_snapshot(snapshot)
