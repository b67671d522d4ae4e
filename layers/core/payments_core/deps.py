"""Process-wide dependencies, each built on first use and cached (one Lambda container).

Each dependency imports the stores and domain modules it builds when it is first built: a function
loads only those of the dependencies it uses (the JWKS function never loads the payment models). Each is
typed as the domain's protocol (payments_core.domain.stores) its AWS implementation satisfies: mypy checks
that it does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from payments_core.settings import get_settings
from payments_core.store import aws

if TYPE_CHECKING:  # each module is imported by the dependency that builds it (cold start)
    from payments_core.domain.app_payments import CheckoutDeps, ViewDeps
    from payments_core.domain.auth import CachedValue, IntegrationStatuses, JwksVerifier, TokenPolicy
    from payments_core.domain.payments import PaymentDeps
    from payments_core.domain.rates import RateFeed
    from payments_core.domain.stores import (
        CatalogStore,
        DealQueue,
        FeeSettingsStore,
        IntegrationStatusStore,
        LogStore,
        PaymentStore,
        RateLimiter,
        RateStore,
        SecretHashStore,
        SigningKeyStore,
    )
    from payments_core.store.rpc_urls import RpcUrlStore

# The token endpoint's copy of its signing key (domain.keys.SIGNING_KEY_CACHE_SECONDS, repeated here so that
# the JWKS function and the authorizer need not import domain.keys; a unit test keeps them equal).
SIGNING_KEY_CACHE_SECONDS = 30
# The JWKS setting's ceiling (domain.keys.JWKS_CACHE_MAX_SECONDS): shorter than the signing grace whatever
# the environment says.
JWKS_CACHE_MAX_SECONDS = 20
# Disabling an integration refuses its tokens within this, whatever the environment says (issue 10: 60 s).
INTEGRATION_STATUS_CACHE_MAX_SECONDS = 60.0


@cache
def catalog() -> CatalogStore:
    from payments_core.store.catalog import DynamoCatalogStore

    return DynamoCatalogStore(aws.dynamodb(), get_settings().catalog_table)


@cache
def payment_store() -> PaymentStore:
    from payments_core.store.payments import DynamoPaymentStore

    s = get_settings()
    return DynamoPaymentStore(aws.dynamodb(), s.payments_table, s.payment_index_table)


@cache
def checkout_store() -> PaymentStore:
    """The payment store of NoRamp's checkout: it also writes the catalog (a dynamic price's `expired`)."""
    from payments_core.store.payments import DynamoPaymentStore

    s = get_settings()
    return DynamoPaymentStore(aws.dynamodb(), s.payments_table, s.payment_index_table, s.catalog_table)


@cache
def rate_limiter() -> RateLimiter:
    from payments_core.store.rate_limits import DynamoRateLimiter

    return DynamoRateLimiter(aws.dynamodb(), get_settings().payment_index_table)


@cache
def checkout_deps() -> CheckoutDeps:
    from datetime import timedelta

    from payments_core.domain.app_payments import CheckoutDeps, CheckoutLimits

    s = get_settings()
    return CheckoutDeps(
        catalog=catalog(),
        payments=checkout_store(),
        limiter=rate_limiter(),
        fee_settings=fee_settings_store(),
        rates=rate_store(),
        limits=CheckoutLimits(s.checkout_limit_per_price, s.checkout_limit_per_address, s.checkout_window_seconds),
        rate_max_age=timedelta(seconds=s.exchange_rate_max_age_seconds),
        ttl=timedelta(seconds=s.checkout_ttl_seconds),
    )


@cache
def app_view_deps() -> ViewDeps:
    from payments_core.domain.app_payments import ViewDeps

    return ViewDeps(catalog=catalog(), payments=payment_store())


@cache
def payment_deps() -> PaymentDeps:
    from payments_core.domain.payments import PaymentDeps

    return PaymentDeps(
        catalog=catalog(),
        payments=payment_store(),
        deal_queue=deal_queue(),
    )


@cache
def deal_queue() -> DealQueue:
    """DealQueue: every create- and cancel-deal message, in its signing key's lane (decision 0038)."""
    from payments_core.store.queues import SqsDealQueue

    return SqsDealQueue(aws.sqs, get_settings().deal_queue_url)


@cache
def dead_letter_queue(queue_url: str) -> DealQueue:
    """A chain-work queue's dead-letter queue: where its worker puts a message it cannot parse, at once."""
    from payments_core.store.queues import SqsDealQueue

    return SqsDealQueue(aws.sqs, queue_url)


@cache
def logs() -> LogStore:
    from payments_core.store.logs import DynamoLogStore

    return DynamoLogStore(aws.dynamodb(), get_settings().payment_logs_table)


@cache
def token_policy() -> TokenPolicy:
    from payments_core.domain.auth import TokenPolicy

    s = get_settings()
    return TokenPolicy(issuer=s.token_issuer, audience=s.token_audience, ttl_seconds=s.token_ttl_seconds)


@cache
def signing_key() -> CachedValue:
    from payments_core.domain.auth import CachedValue
    from payments_core.store.keys import AwsSigningKeyStore

    s = get_settings()

    def load() -> Any:
        from payments_core.domain import keys

        # The Secrets Manager client is built at the first load, not here: the token endpoint loads the
        # key in a thread while it checks the credentials (domain.auth.issue_token).
        store = AwsSigningKeyStore(aws.secretsmanager(), None, secret_id=s.signing_keys_secret_id)
        return keys.signing_key(store, datetime.now(UTC))

    return CachedValue(load, ttl=SIGNING_KEY_CACHE_SECONDS)


@cache
def jwks() -> CachedValue:
    from payments_core.domain.auth import CachedValue
    from payments_core.store.keys import AwsSigningKeyStore

    s = get_settings()
    store = AwsSigningKeyStore(None, aws.ssm(), jwks_parameter=s.jwks_parameter_name)
    return CachedValue(store.read_jwks, ttl=min(s.jwks_cache_seconds, JWKS_CACHE_MAX_SECONDS))


@cache
def verifier() -> JwksVerifier:
    from payments_core.domain.auth import JwksVerifier, TokenPolicy

    s = get_settings()
    # Verifying needs no lifetime (a token's own `exp` says when it ends): the authorizer is not given one.
    return JwksVerifier(
        jwks=jwks(), policy=TokenPolicy(issuer=s.token_issuer, audience=s.token_audience, ttl_seconds=0)
    )


@cache
def secret_hashes() -> SecretHashStore:
    """Integrations' secret hashes: the token endpoint's (and the operator CLI's) only."""
    from payments_core.store.integration_secrets import DynamoSecretHashStore

    return DynamoSecretHashStore(aws.dynamodb(), get_settings().integration_secrets_table)


@cache
def integration_status_store() -> IntegrationStatusStore:
    from payments_core.store.integrations import DynamoIntegrationStatusStore

    return DynamoIntegrationStatusStore(aws.dynamodb(), get_settings().catalog_table)


@cache
def integration_statuses() -> IntegrationStatuses:
    """The integrator authorizer's view of which integrations are active (cached per container)."""
    from payments_core.domain.auth import IntegrationStatuses

    store = integration_status_store()
    return IntegrationStatuses(
        store.status, ttl=min(get_settings().integration_status_cache_seconds, INTEGRATION_STATUS_CACHE_MAX_SECONDS)
    )


@cache
def rpc_urls() -> RpcUrlStore:
    """Networks' RPC URLs (Secrets Manager): the chain functions' (and the operator CLI's) only."""
    from payments_core.store.rpc_urls import RpcUrlStore

    return RpcUrlStore(aws.secretsmanager(), get_settings().rpc_secret_prefix)


@cache
def signing_key_store() -> SigningKeyStore:
    from payments_core.store.keys import AwsSigningKeyStore

    s = get_settings()
    return AwsSigningKeyStore(
        aws.secretsmanager(), aws.ssm(), secret_id=s.signing_keys_secret_id, jwks_parameter=s.jwks_parameter_name
    )


@cache
def rate_store() -> RateStore:
    """Exchange rates (`rate#` catalog entries): the checkout's, the ECB fetcher's and the operator CLI's."""
    from payments_core.store.rates import DynamoRateStore

    return DynamoRateStore(aws.dynamodb(), get_settings().catalog_table)


@cache
def fee_settings_store() -> FeeSettingsStore:
    """The platform's fee settings (`fees#platform`): the checkout's and the operator CLI's."""
    from payments_core.store.rates import DynamoFeeSettingsStore

    return DynamoFeeSettingsStore(aws.dynamodb(), get_settings().catalog_table)


@cache
def rate_feed() -> RateFeed:
    """The ECB's daily reference rates over HTTPS; no feed when EXCHANGE_RATES_URL is empty (the local stack)."""
    from payments_core.store.rate_feed import HttpRateFeed

    return HttpRateFeed(get_settings().exchange_rates_url)
