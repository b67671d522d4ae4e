"""Runtime settings, read from the environment on first use.

Each function's environment in `template.yaml` holds the variables that function uses (its own
`Environment`; `Globals` only what every function uses: logging, pydantic's plugins, the local endpoint);
the local stack and the tests set the same variables from the same template. A setting is read when it is
first asked for, so a function never needs the variables of the others; one its environment lacks fails
there, with a `MissingSetting` that names the variable (never a silent empty string).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache


class MissingSetting(RuntimeError):
    """A variable the code needs is not in the function's environment (template.yaml)."""

    def __init__(self, variable: str, problem: str = "is not set") -> None:
        super().__init__(f"{variable} {problem}: see this function's Environment in template.yaml")
        self.variable = variable


class Settings:
    """The environment's settings, each read (and checked) on first use. Cheap to build: a plain class
    of properties (no dataclass or NamedTuple to define at import)."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return cls(os.environ if env is None else env)

    def _required(self, variable: str) -> str:
        value = self._env.get(variable)
        if not value:
            raise MissingSetting(variable)
        return value

    def _integer(self, variable: str) -> int:
        text = self._required(variable)
        try:
            return int(text)
        except ValueError:
            raise MissingSetting(variable, "is not an integer") from None

    def _seconds(self, variable: str, default: float) -> float:
        text = self._env.get(variable)
        if not text:
            return default
        try:
            return float(text)
        except ValueError:
            raise MissingSetting(variable, "is not a number") from None

    # -- NoRamp's checkout
    @property
    def checkout_limit_per_price(self) -> int:
        """Checkouts of one price per window (`CheckoutLimitPerPrice`)."""
        return self._integer("CHECKOUT_LIMIT_PER_PRICE")

    @property
    def checkout_limit_per_address(self) -> int:
        """Checkouts from one source address per window (`CheckoutLimitPerAddress`)."""
        return self._integer("CHECKOUT_LIMIT_PER_ADDRESS")

    @property
    def checkout_window_seconds(self) -> int:
        return self._integer("CHECKOUT_WINDOW_SECONDS")

    @property
    def checkout_ttl_seconds(self) -> int:
        """How long a checkout's payment waits for its payer (its `expires_at`)."""
        return self._integer("CHECKOUT_TTL_SECONDS")

    # -- tables and queues
    @property
    def payments_table(self) -> str:
        return self._required("PAYMENTS_TABLE")

    @property
    def payment_index_table(self) -> str:
        """PaymentKeysTable: the guards, counters, list positions and block cursors."""
        return self._required("PAYMENT_KEYS_TABLE")

    @property
    def catalog_table(self) -> str:
        return self._required("CATALOG_TABLE")

    @property
    def payment_logs_table(self) -> str:
        return self._required("PAYMENT_LOGS_TABLE")

    @property
    def deal_queue_url(self) -> str:
        """DealQueue: the lanes, one FIFO group per signing key, carrying its create- and cancel-deal messages."""
        return self._required("DEAL_QUEUE_URL")

    @property
    def deal_dead_letter_queue_url(self) -> str:
        """DealDeadLetterQueue: where a message the deal worker cannot parse goes at once (and the redrive's)."""
        return self._required("DEAL_DEAD_LETTER_QUEUE_URL")

    @property
    def create_deal_max_receives(self) -> int:
        """How many deliveries a chain-work message gets before the dead-letter queue (its maxReceiveCount)."""
        return self._integer("CREATE_DEAL_MAX_RECEIVES")

    # -- tokens and keys
    @property
    def signing_keys_secret_id(self) -> str:
        return self._required("SIGNING_KEYS_SECRET_ID")

    @property
    def jwks_parameter_name(self) -> str:
        return self._required("JWKS_PARAMETER_NAME")

    @property
    def token_issuer(self) -> str:
        return self._required("TOKEN_ISSUER")

    @property
    def token_audience(self) -> str:
        return self._required("TOKEN_AUDIENCE")

    @property
    def token_ttl_seconds(self) -> int:
        return self._integer("TOKEN_TTL_SECONDS")

    @property
    def wallet_secret_prefix(self) -> str:
        return self._required("WALLET_SECRET_PREFIX")

    @property
    def jwks_cache_seconds(self) -> float:
        """How long the JWKS (SSM) is cached per container, by the authorizer and the JWKS function."""
        return self._seconds("JWKS_CACHE_SECONDS", 15.0)

    # -- integrations and networks
    @property
    def integration_secrets_table(self) -> str:
        return self._required("INTEGRATION_SECRETS_TABLE")

    @property
    def integration_status_cache_seconds(self) -> float:
        """How long an authorizer container trusts an integration's status (disable -> its tokens refused)."""
        return self._seconds("INTEGRATION_STATUS_CACHE_SECONDS", 30.0)

    @property
    def rpc_secret_prefix(self) -> str:
        return self._required("RPC_SECRET_PREFIX")

    # -- exchange rates
    @property
    def exchange_rate_max_age_seconds(self) -> int:
        """A rate older than this is refused (domain.rates.rate_for: a 503, never stale data)."""
        return self._integer("EXCHANGE_RATE_MAX_AGE_SECONDS")

    @property
    def exchange_rates_url(self) -> str | None:
        """The ECB's daily reference-rate document; empty (the local stack): no feed, nothing fetched."""
        if "EXCHANGE_RATES_URL" not in self._env:
            raise MissingSetting("EXCHANGE_RATES_URL")
        return self._env["EXCHANGE_RATES_URL"] or None

    # -- where AWS is
    @property
    def region(self) -> str:
        return self._env.get("AWS_REGION") or self._env.get("AWS_DEFAULT_REGION") or "us-east-1"

    @property
    def endpoint_url(self) -> str | None:
        """Only set locally (moto server); on AWS the SDK finds its endpoints itself."""
        return self._env.get("LOCAL_ENDPOINT_URL") or self._env.get("AWS_ENDPOINT_URL") or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
