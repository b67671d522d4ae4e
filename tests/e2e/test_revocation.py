"""Revocation on the running local stack (issue 10 §3), driven by `paymentsctl` as an operator would:
a disabled integration's token is refused within the status cache, it gets no new token, and enabling it
undoes both; `keys retire-previous` stops a token signed by the previous key within the JWKS cache.

A stack of its own (no chain, no workers) with short caches, so the waits are seconds: retiring a key
would break the tokens other tests keep on the shared stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.launch import LocalStackInfo, local_stack
from payments_core.domain import keys
from payments_core.security import tokens
from payments_core.store.keys import AwsSigningKeyStore
from tests.e2e.helpers import aws_client, http_client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STATUS_CACHE_SECONDS = 2
JWKS_CACHE_SECONDS = 2
SLACK_SECONDS = 3.0  # the stack's own latency on a shared machine


@pytest.fixture(scope="module")
def short_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackInfo]:
    parameters = {
        "IntegrationStatusCacheSeconds": str(STATUS_CACHE_SECONDS),
        "JwksCacheSeconds": str(JWKS_CACHE_SECONDS),
    }
    with local_stack(
        tmp_path_factory.mktemp("devstack-revocation"), chain=False, workers=False, parameters=parameters
    ) as info:
        yield info


@pytest.fixture(scope="module")
def http(short_stack: LocalStackInfo) -> Iterator[httpx.Client]:
    with http_client(short_stack) as client:
        yield client


def paymentsctl(stack: LocalStackInfo, *argv: str) -> tuple[int, Any]:
    """The operator CLI in a shell of its own, pointed at the stack as `--local` points it at `make dev`'s."""
    env = {**os.environ, **stack.environment}
    cli = Path(sys.executable).with_name("paymentsctl")
    done = subprocess.run([str(cli), *argv], env=env, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, json.loads(done.stdout if done.returncode == 0 else done.stderr)


def token(http: httpx.Client, credentials: dict[str, str]) -> httpx.Response:
    return http.post("/api/v1/auth/token", json=credentials)


def seconds_until(check: Callable[[], bool], limit: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start <= limit:
        if check():
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def test_disable_refuses_the_integrations_tokens_within_the_cache_and_enable_restores_them(
    short_stack: LocalStackInfo, http: httpx.Client
) -> None:
    node = short_stack.demo["nodes"]["root"]
    rc, created = paymentsctl(short_stack, "integration", "create", "--node", node, "--name", f"e2e {uuid.uuid4()}")
    assert rc == 0, created
    credentials = {"client_id": created["id"], "client_secret": created["client_secret"]}
    issued = token(http, credentials)
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}

    def listed() -> int:
        return http.get("/api/v1/payments", params={"node_id": node}, headers=bearer).status_code

    assert listed() == 200  # the authorizer has read (and cached) the status: active
    other = token(http, short_stack.demo["integrations"]["root"]).json()["access_token"]

    rc, answer = paymentsctl(short_stack, "integration", "disable", created["id"])
    assert (rc, answer["status"]) == (0, "disabled")
    refused_after = seconds_until(lambda: listed() == 401, STATUS_CACHE_SECONDS + SLACK_SECONDS)
    assert refused_after is not None, "the disabled integration's token still works"
    assert listed() == 401  # and stays refused
    again = token(http, credentials)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "invalid_client"
    # Another integration is untouched.
    other_bearer = {"Authorization": f"Bearer {other}"}
    assert http.get("/api/v1/payments", params={"node_id": node}, headers=other_bearer).status_code == 200

    rc, answer = paymentsctl(short_stack, "integration", "enable", created["id"])
    assert (rc, answer["status"]) == (0, "active")
    assert seconds_until(lambda: listed() == 200, STATUS_CACHE_SECONDS + SLACK_SECONDS) is not None
    assert token(http, credentials).status_code == 200


def test_retire_previous_stops_a_token_of_the_previous_key_at_once(
    short_stack: LocalStackInfo, http: httpx.Client
) -> None:
    env = short_stack.environment
    store = AwsSigningKeyStore(
        aws_client(short_stack, "secretsmanager"),
        aws_client(short_stack, "ssm"),
        secret_id=env["SIGNING_KEYS_SECRET_ID"],
        jwks_parameter=env["JWKS_PARAMETER_NAME"],
    )
    node = short_stack.demo["nodes"]["root"]
    credentials = short_stack.demo["integrations"]["root"]
    old = token(http, credentials).json()["access_token"]

    def answer(bearer: str) -> int:
        headers = {"Authorization": f"Bearer {bearer}"}
        return http.get("/api/v1/payments", params={"node_id": node}, headers=headers).status_code

    assert answer(old) == 200
    # The rotation `paymentsctl keys rotate` makes once the stack's first key is past its signing grace (the
    # stack is seconds old: a rotation now is refused as rotation_too_soon).
    rc, refused = paymentsctl(short_stack, "keys", "rotate")
    if rc != 0:
        assert refused["error"]["code"] == "rotation_too_soon"
        keys.rotate_now(store, now=datetime.now(UTC) + timedelta(seconds=keys.SIGNING_GRACE_SECONDS))
    assert len(store.read_jwks()["keys"]) == 2
    time.sleep(JWKS_CACHE_SECONDS)  # every container has the new JWKS
    assert answer(old) == 200  # the previous key still verifies

    rc, retired = paymentsctl(short_stack, "keys", "retire-previous")
    assert rc == 0, retired
    assert retired["retired_kids"] == [tokens.unverified_kid(old)]
    refused_after = seconds_until(lambda: answer(old) == 401, JWKS_CACHE_SECONDS + SLACK_SECONDS)
    assert refused_after is not None, "a token of the retired key still verifies"
    # The token endpoint signs with the current key, grace or not, once its container's copy of the key is
    # older than SIGNING_KEY_CACHE_SECONDS (a new container: at once); its tokens verify.
    fresh = ""

    def signs_with_the_current_key() -> bool:
        nonlocal fresh
        fresh = token(http, credentials).json()["access_token"]
        return tokens.unverified_kid(fresh) not in retired["retired_kids"]

    assert seconds_until(signs_with_the_current_key, keys.SIGNING_KEY_CACHE_SECONDS + SLACK_SECONDS) is not None
    assert answer(fresh) == 200
    published = http.get("/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in published] == [tokens.unverified_kid(fresh)]
