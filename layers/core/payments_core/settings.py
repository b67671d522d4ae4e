"""Runtime settings, read from the environment once, on first use.

The environment is the one `template.yaml` gives every function (Globals.Function.Environment);
the local stack and the tests set the same variables from the same template.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import NamedTuple


class Settings(NamedTuple):
    """Immutable, built once (a NamedTuple: defining a frozen dataclass costs a cold start ~1 ms more)."""

    payments_table: str
    payment_index_table: str
    catalog_table: str
    payment_logs_table: str
    create_deal_queue_url: str
    cancel_deal_queue_url: str
    signing_keys_secret_id: str
    jwks_parameter_name: str
    token_issuer: str
    wallet_secret_prefix: str
    create_deal_max_receives: int
    token_audience: str
    token_ttl_seconds: int
    region: str
    endpoint_url: str | None
    integration_secrets_table: str = ""
    rpc_secret_prefix: str = ""
    # How long an authorizer container trusts an integration's status (disable -> its tokens refused).
    integration_status_cache_seconds: float = 30.0
    # How long the JWKS (SSM) is cached per container, by the authorizer and the JWKS function.
    jwks_cache_seconds: float = 15.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            payments_table=e.get("PAYMENTS_TABLE", ""),
            payment_index_table=e.get("PAYMENT_KEYS_TABLE", ""),
            catalog_table=e.get("CATALOG_TABLE", ""),
            payment_logs_table=e.get("PAYMENT_LOGS_TABLE", ""),
            create_deal_queue_url=e.get("CREATE_DEAL_QUEUE_URL", ""),
            cancel_deal_queue_url=e.get("CANCEL_DEAL_QUEUE_URL", ""),
            signing_keys_secret_id=e.get("SIGNING_KEYS_SECRET_ID", ""),
            jwks_parameter_name=e.get("JWKS_PARAMETER_NAME", ""),
            token_issuer=e.get("TOKEN_ISSUER", "https://auth.rudiqpay.example"),
            wallet_secret_prefix=e.get("WALLET_SECRET_PREFIX", ""),
            create_deal_max_receives=int(e.get("CREATE_DEAL_MAX_RECEIVES", "5")),
            token_audience=e.get("TOKEN_AUDIENCE", "rudiqpay-integrator-api"),
            token_ttl_seconds=int(e.get("TOKEN_TTL_SECONDS", "3600")),
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            # Only set locally (moto server); on AWS the SDK finds its endpoints itself.
            endpoint_url=e.get("LOCAL_ENDPOINT_URL") or e.get("AWS_ENDPOINT_URL") or None,
            integration_secrets_table=e.get("INTEGRATION_SECRETS_TABLE", ""),
            rpc_secret_prefix=e.get("RPC_SECRET_PREFIX", ""),
            integration_status_cache_seconds=float(e.get("INTEGRATION_STATUS_CACHE_SECONDS", "30")),
            jwks_cache_seconds=float(e.get("JWKS_CACHE_SECONDS", "15")),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
