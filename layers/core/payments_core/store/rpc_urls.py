"""Networks' RPC URLs (they often carry a provider's API key): one Secrets Manager secret per network,
`<prefix><network id>`, read only by the chain functions (the workers and the watcher), never stored in the
catalog. Cached per container for CACHE_SECONDS, so an operator's change reaches a warm container in minutes.
See docs/decisions/rpc-urls-in-secrets-manager.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 300.0


class RpcUrlMissing(Exception):
    pass


class RpcUrlStore:
    def __init__(self, client: SecretsManagerClient, prefix: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._sm = client
        self._prefix = prefix
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}

    def secret_id(self, network_id: str) -> str:
        return f"{self._prefix}{network_id}"

    def get(self, network_id: str) -> str:
        now = self._clock()
        cached = self._cache.get(network_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            url = self._sm.get_secret_value(SecretId=self.secret_id(network_id))["SecretString"].strip()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                raise RpcUrlMissing(f"no RPC URL for network {network_id}") from None
            raise
        self._cache[network_id] = (now, url)
        return url

    def put(self, network_id: str, url: str) -> None:
        """Store (or replace) a network's RPC URL (operator CLI, local stack)."""
        name = self.secret_id(network_id)
        try:
            self._sm.create_secret(
                Name=name, SecretString=url, Description="RPC URL of a network (may hold an API key)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            self._sm.put_secret_value(SecretId=name, SecretString=url)
        self._cache.pop(network_id, None)
