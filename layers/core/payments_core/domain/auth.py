"""Integrator authentication: client credentials -> JWT, and JWT -> principal (the authorizer)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from jwt import PyJWK

from payments_core.domain.access import Principal
from payments_core.errors import ServiceUnavailable, Unauthorized
from payments_core.models.auth import Jwks, TokenRequest, TokenResponse
from payments_core.security import tokens

if TYPE_CHECKING:
    from payments_core.domain.stores import CatalogStore, SecretHashStore


ACTIVE = "active"


class TokenPolicy(NamedTuple):
    issuer: str
    audience: str
    ttl_seconds: int


class CachedValue:
    """A value loaded on first use and reloaded after `ttl` seconds (per Lambda container)."""

    def __init__(self, load: Callable[[], Any], ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._value: Any = None
        self._at: float | None = None

    def get(self, *, refresh: bool = False) -> Any:
        now = self._clock()
        if refresh or self._at is None or now - self._at >= self._ttl:
            self._value = self._load()
            self._at = now
        return self._value

    def age(self) -> float:
        return float("inf") if self._at is None else self._clock() - self._at


def issue_token(
    catalog: CatalogStore,
    secret_hashes: SecretHashStore,
    signing_key: CachedValue,
    policy: TokenPolicy,
    req: TokenRequest,
) -> TokenResponse:
    from payments_core.domain.entities import Integration  # not on the authorizers' import path (cold start)
    from payments_core.security import passwords  # the hasher only where secrets are checked (cold start)
    from payments_core.store.batch import read_both

    # The token is signed while the secret is checked, and handed out only if the check passes. The slow hash
    # runs in C without the GIL; on a container's first request, loading the key (building the Secrets
    # Manager client, reading and parsing the secret) and signing run beside it, on the pool's one thread.
    # A key that fails to load is reported only for good credentials: a wrong secret is a 401 whatever else
    # happens. An unknown client id costs what a wrong secret costs: a hash checked (against DUMMY_HASH) and
    # a token signed (for no one) while it runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        key_load = pool.submit(signing_key.get)
        # The entry (status, node) and the hash, kept in a table of its own: one BatchGetItem.
        integration, stored_hash = read_both(
            catalog.read_one(Integration, req.client_id), secret_hashes.read_hash(req.client_id)
        )
        if stored_hash is None:
            integration = None
        # Signed for no one (empty ids) when the client id is unknown.
        subject = (integration.id, integration.node_id) if integration else ("", "")
        signed = pool.submit(_signed_token, key_load, subject, policy)
        encoded = stored_hash if integration is not None and stored_hash else passwords.DUMMY_HASH
        valid = passwords.verify_secret(req.client_secret, encoded)
        if integration is None or not valid or integration.status != ACTIVE:
            raise Unauthorized("Invalid client credentials", code="invalid_client")
        return TokenResponse(access_token=signed.result(), expires_in=policy.ttl_seconds)


def _signed_token(key_load: Future[Any], subject: tuple[str, str], policy: TokenPolicy) -> str:
    key = key_load.result()  # done: the pool's one thread loaded it before taking this task
    if not tokens.is_signing_key(key):
        raise ServiceUnavailable("No signing key is configured yet", code="signing_key_unavailable")
    claims = tokens.integrator_claims(
        integration_id=subject[0],
        node_id=subject[1],
        issuer=policy.issuer,
        audience=policy.audience,
        ttl=policy.ttl_seconds,
    )
    return tokens.sign(key, claims)


class JwksVerifier:
    """Verifies integrator JWTs against the published JWKS, cached per container.

    An unknown `kid` triggers one reload (at most every `min_refresh` seconds), so a key published
    by a rotation is picked up at once, and a token with a made-up kid cannot make us hammer SSM.
    """

    def __init__(self, jwks: CachedValue, policy: TokenPolicy, min_refresh: float = 30.0) -> None:
        self.jwks = jwks
        self.policy = policy
        self.min_refresh = min_refresh
        self._parsed: dict[str, PyJWK] = {}
        self._parsed_from: Any = None

    def _keys(self, *, refresh: bool = False) -> dict[str, PyJWK]:
        raw = self.jwks.get(refresh=refresh)
        if raw is not self._parsed_from:
            parsed: dict[str, PyJWK] = {}
            for jwk in (raw or {}).get("keys", []):
                if jwk.get("alg") == tokens.ALGORITHM and jwk.get("kid"):
                    parsed[jwk["kid"]] = PyJWK.from_dict(jwk, algorithm=tokens.ALGORITHM)
            self._parsed, self._parsed_from = parsed, raw
        return self._parsed

    def principal(self, token: str) -> Principal:
        kid = tokens.unverified_kid(token)
        keys = self._keys()
        if kid not in keys and self.jwks.age() >= self.min_refresh:
            keys = self._keys(refresh=True)
        key = keys.get(kid)
        if key is None:
            raise tokens.InvalidToken("unknown kid")
        claims = tokens.verify(token, key, issuer=self.policy.issuer, audience=self.policy.audience)
        return Principal(actor_type="integration", actor_id=claims["sub"], node_id=claims["node_id"])


class IntegrationStatuses:
    """Whether an integration is active, as the integrator authorizer asks for every token it accepts.

    Read from the catalog (`read(id)` -> its status, None for no such integration) and trusted for `ttl`
    seconds per container, answers for unknown or disabled integrations included: once an operator disables
    an integration, its tokens are refused within `ttl` seconds (API Gateway's own authorizer cache adds
    nothing: ReauthorizeEvery is 0), and enabling it takes as long to be seen. At most `max_entries`
    integrations are remembered (the oldest answers are dropped first).
    """

    def __init__(
        self,
        read: Callable[[str], str | None],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._read = read
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._known: dict[str, tuple[float, bool]] = {}

    def active(self, integration_id: str) -> bool:
        now = self._clock()
        cached = self._known.get(integration_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        is_active = self._read(integration_id) == ACTIVE
        self._known.pop(integration_id, None)
        if len(self._known) >= self._max:
            del self._known[next(iter(self._known))]  # insertion order: the oldest answer
        self._known[integration_id] = (now, is_active)
        return is_active


def authorize(verifier: JwksVerifier, statuses: IntegrationStatuses, token: str) -> Principal:
    """The integrator authorizer's decision: a valid token of an integration that is still active."""
    principal = verifier.principal(token)
    if not statuses.active(principal.actor_id):
        raise tokens.InvalidToken("the integration is not active")
    return principal


MAX_AUTHORIZATION = 4096
"""The longest Authorization header read (an integrator JWT is ~600 characters, a widget token ~80)."""

# RFC 6750: `Bearer` (any case), one or more spaces, a b64token (ASCII letters, digits, -._~+/, then = padding).
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)", re.ASCII)


def bearer_token(header: object) -> str:
    """The token of an `Authorization: Bearer <token>` header; InvalidToken for anything else (missing, empty,
    another scheme, several, non-ASCII, tabs, `Bearer` twice, longer than MAX_AUTHORIZATION), never another
    error: the authorizers answer 401 to whatever a caller sends."""
    if not isinstance(header, str) or not header:
        raise tokens.InvalidToken("no Authorization header")
    if len(header) > MAX_AUTHORIZATION:
        raise tokens.InvalidToken("Authorization header too long")
    m = _BEARER.fullmatch(header.strip(" "))
    if m is None:
        raise tokens.InvalidToken("not a bearer token")
    return m.group(1)


def authorize_app_request(
    verifier: JwksVerifier,
    statuses: IntegrationStatuses,
    catalog: CatalogStore,
    authorization: object,
    x_api_key: object,
) -> Principal:
    """The app authorizer's decision (NoRamp's app API): an active API key of an app, in any of NoRamp's forms
    (security.app_keys), or an integrator JWT (`authorize`). InvalidToken for anything else."""
    from payments_core.domain.entities import AppKey
    from payments_core.security import app_keys

    if isinstance(x_api_key, str) and len(x_api_key) > MAX_AUTHORIZATION:
        raise tokens.InvalidToken("x-api-key header too long")
    key = app_keys.key_from_headers(authorization, x_api_key)
    if key is None:
        return authorize(verifier, statuses, bearer_token(authorization))
    parsed = app_keys.parse(key)
    stored = catalog.get(AppKey, parsed.key_id)
    # An unknown key id costs what a wrong secret costs (a hash compared) so neither is told apart by time.
    matched = app_keys.matches(parsed.secret, stored.secret_hash if stored else "0" * 64)
    if stored is None or not matched or stored.status != ACTIVE:
        raise tokens.InvalidToken("unknown, wrong or revoked app key")
    return Principal(actor_type="app_key", actor_id=stored.id, node_id="", app_id=stored.app_id)


def allow_policy(principal: Principal, method_arn: str, resource: str = "*/*") -> dict[str, Any]:
    """An IAM policy for the whole API (were the answer cached, per token, it would serve every route), or
    for one `resource` (`METHOD/path`) when the token opens only that."""
    arn_parts = method_arn.split(":")
    api_gateway_arn = ":".join(arn_parts[:5])
    rest_api_id, stage = arn_parts[5].split("/")[:2]
    return {
        "principalId": principal.actor_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": f"{api_gateway_arn}:{rest_api_id}/{stage}/{resource}",
                }
            ],
        },
        "context": {
            "actor_type": principal.actor_type,
            "actor_id": principal.actor_id,
            "node_id": principal.node_id,
            **({"app_id": principal.app_id} if principal.app_id else {}),
        },
    }


def public_jwks(jwks: CachedValue) -> Jwks:
    return Jwks.model_validate(jwks.get() or {"keys": []})
