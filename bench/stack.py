"""The backend every measurement shares: one moto server on 127.0.0.1, built from template.yaml."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3

from devstack import runtime
from devstack.provision import Stack, provision

# Fake credentials and one region, as the tests use; nothing here may reach real AWS.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@dataclass
class BenchStack:
    server: Any  # moto.server.ThreadedMotoServer
    endpoint_url: str
    stack: Stack
    demo: dict[str, Any]

    def function_env(self, function: str) -> dict[str, str]:
        """What the function's container sees: the template's environment, pointed at moto."""
        return {**FAKE_AWS_ENV, **self.stack.environment(function), "AWS_ENDPOINT_URL": self.endpoint_url}

    def use_in_process(self, function: str) -> None:
        """This process becomes a fresh container of `function` (settings, clients, keys forgotten)."""
        runtime.apply_environment(self.function_env(function))

    def stop(self) -> None:
        runtime.reset_process_caches()
        self.server.stop()


def start() -> BenchStack:
    from moto.server import ThreadedMotoServer

    from devstack import moto_patches

    os.environ.update(FAKE_AWS_ENV)
    moto_patches.apply()  # as the local stack does: DynamoDB writes atomic under concurrent requests
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        stack = provision(boto3.session.Session(), endpoint_url=endpoint)
        bench = BenchStack(server, endpoint, stack, {})
        runtime.apply_environment({**FAKE_AWS_ENV, **stack.operator_environment(), "AWS_ENDPOINT_URL": endpoint})
        bench.demo = _seed(bench)
    except BaseException:
        server.stop()
        raise
    return bench


def _seed(bench: BenchStack) -> dict[str, Any]:
    from devstack.seed import seed_demo
    from payments_core import deps
    from payments_core.domain import keys

    keys.ensure_signing_key(deps.signing_key_store())
    return seed_demo(deps.catalog(), api_url=bench.endpoint_url)
