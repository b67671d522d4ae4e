"""The stores and queues the domain takes as arguments, as protocols (beside `Chain` and `WalletKeys` in
chain_work.py and `WatchedChain` in watcher.py).

The AWS implementations are in payments_core.store (`DynamoCatalogStore`, `DynamoPaymentStore`, ...: only
they call boto3; payments_core.deps builds them, typed as these protocols); the unit tests' fakes
(tests/unit/fakes.py) implement the same protocols without subclassing them, and mypy checks that each has
every method, with the same signature (`tests/unit/fakes.py` ends with the check).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the token endpoint imports this module (SecretHashExists) at its cold start
    from payments_core.domain.entities import CatalogEntry, LogEntry, Payment, PaymentChanges
    from payments_core.domain.rates import ExchangeRate, RateKey
    from payments_core.fees import FeeSettings
    from payments_core.models.payments import PaymentStatus
    from payments_core.store.batch import PendingRead
    from payments_core.store.cursors import BlockCursor
    from payments_core.store.payments import Listing


class StaleWrite(Exception):
    """The payment was changed by someone else since it was read (status or version differ)."""


class ExternalIdTaken(Exception):
    """A payment of the node already has this external_id."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(payment_id)
        self.payment_id = payment_id


class PriceTaken(Exception):
    """A single-use (dynamic) price was checked out already, or deleted, before this checkout committed."""


class CatalogEntries:
    """Catalog entries read together (`CatalogStore.read_many`), looked up by entity type and id."""

    __slots__ = ("_found",)

    def __init__(self, found: Sequence[CatalogEntry] = ()) -> None:
        self._found: dict[tuple[type[Any], str], CatalogEntry] = {(type(entry), entry.id): entry for entry in found}

    def get[E: CatalogEntry](self, kind: type[E], id_: str) -> E | None:
        found = self._found.get((kind, id_))
        return found if isinstance(found, kind) else None

    def __len__(self) -> int:
        return len(self._found)


class CatalogStore(Protocol):
    def get[E: CatalogEntry](self, kind: type[E], id_: str) -> E | None: ...
    def read_many(self, refs: Sequence[tuple[type[CatalogEntry], str]]) -> PendingRead[CatalogEntries]:
        """Several entries in one round trip (missing ones are absent from the answer)."""

    def read_one[E: CatalogEntry](self, kind: type[E], id_: str) -> PendingRead[E | None]: ...
    def list[E: CatalogEntry](self, kind: type[E]) -> list[E]: ...
    def put_new(self, entry: CatalogEntry) -> None:
        """Raises store.catalog.AlreadyExists when an entry of this kind and id exists."""

    def put(self, entry: CatalogEntry) -> None:
        """Write an entry whole (an operator's update of an existing entry)."""

    def replace(self, old: CatalogEntry, new: CatalogEntry) -> None:
        """Write `new` over `old` only if the stored entry is still `old` (same `updated_at`); StaleWrite else."""

    def count_view(self, price_id: str) -> None:
        """One more checkout of the price (its `views`, counted atomically; nothing for an unknown price)."""

    def list_of_app[E: CatalogEntry](
        self, kind: type[E], app_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[builtins.list[E], int]:
        """One page of an app's entries of `kind` (entities.APP_SCOPED), newest first, and their total."""


class PaymentStore(Protocol):
    def get(self, payment_id: str) -> Payment | None: ...
    def get_many(self, payment_ids: Sequence[str]) -> dict[str, Payment]:
        """The payments of `payment_ids` that exist, by id, strongly consistent, in as few reads as it takes."""

    def insert(self, payment: Payment, counters: dict[Listing, int] | None = None) -> None:
        """Raises ExternalIdTaken when the node already has a payment of this external_id."""

    def insert_checkout(self, payment: Payment, listing: Listing, single_use_price: str | None = None) -> None:
        """A checkout's payment in the app's listing; with `single_use_price`, that price is marked expired in
        the same transaction (PriceTaken when it already was, or is deleted)."""

    def read_counters(
        self, node_id: str, wallet_id: str | None, network_id: str
    ) -> PendingRead[dict[Listing, int]]: ...
    def read_total(self, listing: Listing) -> PendingRead[int]: ...
    def page(
        self, listing: Listing, offset: int, limit: int, total: int | None = None
    ) -> tuple[int, list[Payment]]: ...
    def update(self, payment: Payment, changes: PaymentChanges) -> Payment:
        """Apply `changes` if the payment still has the status and version it was read with (`payment`); the
        version goes up by one. Returns the payment as written; raises StaleWrite otherwise."""

    def update_all(self, updates: Sequence[tuple[Payment, PaymentChanges]]) -> list[Payment]:
        """`update` of several payments at once: all written or none (StaleWrite); the new payments, in order."""

    def annotate(
        self,
        payment_id: str,
        *,
        expected_status: PaymentStatus,
        changes: PaymentChanges,
        expected: PaymentChanges | None = None,
    ) -> bool:
        """Apply `changes` (no domain event: no new version) if the payment still has `expected_status` and
        the `expected` field values. False when it has not."""

    def watched(
        self, network_id: str, status: PaymentStatus, *, expires_until: str | None = None, limit: int = 500
    ) -> list[Payment]: ...


class LogStore(Protocol):
    def append(self, entry: LogEntry) -> bool:
        """False when the entry was written before (a redelivery)."""

    def count(self, payment_id: str) -> int: ...
    def page(self, payment_id: str, offset: int, limit: int) -> list[LogEntry]: ...


class SecretHashExists(Exception):
    """The integration already has a secret hash (a client id is written once)."""


class SecretHashStore(Protocol):
    """Integrations' secret hashes (the integration secrets table: the token endpoint alone reads it)."""

    def put_new(self, client_id: str, secret_hash: str) -> None:
        """Store a new integration's hash; raises SecretHashExists rather than overwrite one."""

    def read_hash(self, client_id: str) -> PendingRead[str | None]: ...


class IntegrationStatusStore(Protocol):
    """An integration's status alone (what the integrator authorizer reads; the operator CLI sets it)."""

    def status(self, integration_id: str) -> str | None:
        """None when there is no such integration."""

    def set_status(self, integration_id: str, status: str) -> bool:
        """False when there is no such integration (never creates one)."""


class RateStore(Protocol):
    """Exchange rates, one per (source, base, target) (store.rates.DynamoRateStore: `rate#...` catalog entries)."""

    def read_rates(self, keys: Sequence[RateKey]) -> PendingRead[list[ExchangeRate]]:
        """The stored rates of these (source, base, target) keys, in one batch read; missing ones are absent."""

    def put_rate(self, rate: ExchangeRate) -> bool:
        """Write the rate unless the one stored for its key is as new or newer (`as_of`): False then."""

    def list_rates(self) -> list[ExchangeRate]: ...


class FeeSettingsStore(Protocol):
    """The platform's fee settings, one entry (store.rates.DynamoFeeSettingsStore: `fees#platform`)."""

    def get_fee_settings(self) -> FeeSettings | None: ...
    def read_fee_settings(self) -> PendingRead[FeeSettings | None]:
        """`get_fee_settings` as a pending read (made together with another table's: `read_both`)."""

    def put_fee_settings(self, settings: FeeSettings) -> bool:
        """Write the settings unless the stored ones are as new or newer (`updated_at`): False then."""


class CursorStore(Protocol):
    def get(self, network_id: str) -> BlockCursor | None: ...
    def advance(
        self, network_id: str, *, previous: BlockCursor | None, block: int, block_hash: str | None, at: str
    ) -> bool: ...


class RateLimiter(Protocol):
    def take(self, subject: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one request of `subject`: None within `limit` per window, else seconds until the window ends."""


class DealQueue(Protocol):
    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str: ...
    def delay(self, receipt_handle: str, seconds: int) -> None: ...


class SigningKeyStore(Protocol):
    """The token signing key's versions (staging labels) and the published JWKS."""

    def read(self, *, stage: str | None = None, version_id: str | None = None) -> Any: ...
    def read_dated(self, *, stage: str | None = None, version_id: str | None = None) -> tuple[Any, datetime | None]: ...
    def stages(self) -> dict[str, list[str]]: ...
    def put_pending(self, version_id: str, value: dict[str, Any]) -> None: ...
    def promote(self, version_id: str, current_version_id: str | None) -> None: ...
    def remove_stage(self, stage: str, version_id: str) -> None: ...
    def read_jwks(self) -> dict[str, Any]: ...
    def write_jwks(self, jwks: dict[str, Any]) -> None: ...
