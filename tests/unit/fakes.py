"""In-memory fakes of the stores the domain takes as arguments (no AWS, no moto).

Each fake implements its protocol of payments_core.domain.stores (none subclasses the real store, so none
can reach a boto3 client); `_conforms` at the end makes mypy check that each has every method of its
protocol, with the same signature.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from payments_core.domain.chain_work import (
    Chain,
    ChainError,
    ChainEvent,
    CreatedDeal,
    DealInfo,
    DealStatus,
    SentTransaction,
    WalletKeys,
)
from payments_core.domain.entities import KINDS, CatalogEntry, LogEntry, Payment, PaymentChanges, Price
from payments_core.domain.stores import (
    CatalogEntries,
    CatalogStore,
    CursorStore,
    DealQueue,
    ExternalIdTaken,
    IntegrationStatusStore,
    LogStore,
    PaymentStore,
    PriceTaken,
    SecretHashExists,
    SecretHashStore,
    SigningKeyStore,
    StaleWrite,
)
from payments_core.domain.watcher import WatchedChain
from payments_core.models.payments import PaymentStatus
from payments_core.store.batch import PendingRead
from payments_core.store.cursors import BlockCursor
from payments_core.store.payments import Listing, listings_of, watch_attributes, watch_key


class FakeCatalog:
    """The catalog table as a dict keyed by (entity class, id)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[type[Any], str], CatalogEntry] = {}
        self.read_many_calls: list[list[tuple[type[CatalogEntry], str]]] = []

    def add[E: CatalogEntry](self, entry: E) -> E:
        self.entries[(type(entry), entry.id)] = entry
        return entry

    def get[E: CatalogEntry](self, kind: type[E], id_: str) -> E | None:
        found = self.entries.get((kind, id_))
        return found if isinstance(found, kind) else None

    def read_many(self, refs: Sequence[tuple[type[CatalogEntry], str]]) -> PendingRead[CatalogEntries]:
        self.read_many_calls.append(list(refs))
        return PendingRead.ready(CatalogEntries([self.entries[ref] for ref in refs if ref in self.entries]))

    def read_one[E: CatalogEntry](self, kind: type[E], id_: str) -> PendingRead[E | None]:
        return PendingRead.ready(self.get(kind, id_))

    def put_new(self, entry: CatalogEntry) -> None:
        if (type(entry), entry.id) in self.entries:
            raise AssertionError(f"{KINDS[type(entry)]} {entry.id} already exists")
        self.add(entry)

    def put(self, entry: CatalogEntry) -> None:
        self.add(entry)

    def replace(self, old: CatalogEntry, new: CatalogEntry) -> None:
        if self.entries.get((type(old), old.id)) != old:
            raise StaleWrite(f"{KINDS[type(old)]} {old.id} changed meanwhile")
        self.add(new)

    def list[E: CatalogEntry](self, kind: type[E]) -> list[E]:
        return [entry for entry in self.entries.values() if isinstance(entry, kind)]

    def count_view(self, price_id: str) -> None:
        price = self.get(Price, price_id)
        if price is not None:
            self.add(price._replace(views=price.views + 1))

    def list_of_app[E: CatalogEntry](
        self, kind: type[E], app_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[builtins.list[E], int]:
        mine = [e for e in self.list(kind) if getattr(e, "app_id", None) == app_id and not getattr(e, "deleted", False)]
        mine.sort(key=lambda e: (getattr(e, "created_at", ""), e.id), reverse=True)
        return mine[offset : offset + limit], len(mine)


class FakeSecretHashes:
    """The integration secrets table as a dict: client id -> hash."""

    def __init__(self) -> None:
        self.hashes: dict[str, str] = {}

    def put_new(self, client_id: str, secret_hash: str) -> None:
        if client_id in self.hashes:
            raise SecretHashExists(f"integration {client_id} already has a secret")
        self.hashes[client_id] = secret_hash

    def read_hash(self, client_id: str) -> PendingRead[str | None]:
        return PendingRead.ready(self.hashes.get(client_id))


class FakeIntegrationStatuses:
    """Integrations' statuses as a dict; counts the reads (what the authorizer's cache saves)."""

    def __init__(self, statuses: dict[str, str] | None = None) -> None:
        self.statuses: dict[str, str] = dict(statuses or {})
        self.reads: list[str] = []

    def status(self, integration_id: str) -> str | None:
        self.reads.append(integration_id)
        return self.statuses.get(integration_id)

    def set_status(self, integration_id: str, status: str) -> bool:
        if integration_id not in self.statuses:
            return False
        self.statuses[integration_id] = status
        return True


@dataclass
class PageCall:
    listing: Listing
    offset: int
    limit: int


class FakePaymentStore:
    """Payments, the unique (node_id, external_id) guard and the listing positions, in memory; `update` and
    `annotate` are conditional as the real ones are, and `watched` reads the `by_watch` key the real store
    keeps (`watch_attributes`), as the real index does. Payments are immutable: nothing is copied."""

    def __init__(self, catalog: FakeCatalog | None = None) -> None:
        self.catalog = catalog  # the prices a checkout of a dynamic price marks expired
        self.items: dict[str, Payment] = {}
        self.guards: dict[tuple[str, str], str] = {}
        self.positions: dict[Listing, list[str]] = {}  # listing -> payment ids, position 1 first
        self.inserted: list[Payment] = []
        self.get_calls: list[str] = []
        self.page_calls: list[PageCall] = []
        self.updates: list[PaymentChanges] = []  # the changes of each update that was written
        self.annotations: list[PaymentChanges] = []  # likewise for annotate
        self.stale_writes = 0  # updates refused because the payment had moved

    def read_counters(self, node_id: str, wallet_id: str | None, network_id: str) -> PendingRead[dict[Listing, int]]:
        listings = listings_of(node_id, wallet_id, network_id)
        return PendingRead.ready({listing: len(self.positions.get(listing, [])) for listing in listings})

    def read_total(self, listing: Listing) -> PendingRead[int]:
        return PendingRead.ready(len(self.positions.get(listing, [])))

    def insert_checkout(self, payment: Payment, listing: Listing, single_use_price: str | None = None) -> None:
        price = None
        if single_use_price is not None:
            assert self.catalog is not None, "FakePaymentStore(catalog) for checkouts of dynamic prices"
            price = self.catalog.get(Price, single_use_price)
            if price is None or price.expired or price.deleted:
                raise PriceTaken(payment.id)
        guard = (payment.node_id, payment.external_id)
        if guard in self.guards:
            raise ExternalIdTaken(self.guards[guard])
        if price is not None and self.catalog is not None:
            self.catalog.add(price._replace(expired=True, updated_at=payment.created_at))
        self.guards[guard] = payment.id
        self.items[payment.id] = payment
        self.positions.setdefault(listing, []).append(payment.id)
        self.inserted.append(payment)

    def insert(self, payment: Payment, counters: dict[Listing, int] | None = None) -> None:
        guard = (payment.node_id, payment.external_id)
        if guard in self.guards:
            raise ExternalIdTaken(self.guards[guard])
        if payment.id in self.items:
            raise AssertionError(f"payment {payment.id} already exists")
        self.guards[guard] = payment.id
        self.items[payment.id] = payment
        for listing in listings_of(payment.node_id, payment.wallet_id, payment.network_id):
            self.positions.setdefault(listing, []).append(payment.id)
        self.inserted.append(payment)

    def get(self, payment_id: str) -> Payment | None:
        self.get_calls.append(payment_id)
        return self.items.get(payment_id)

    def get_many(self, payment_ids: Sequence[str]) -> dict[str, Payment]:
        self.get_calls.extend(payment_ids)
        return {i: self.items[i] for i in payment_ids if i in self.items}

    def page(self, listing: Listing, offset: int, limit: int, total: int | None = None) -> tuple[int, list[Payment]]:
        self.page_calls.append(PageCall(listing, offset, limit))
        newest_first = list(reversed(self.positions.get(listing, [])))
        return len(newest_first), [self.items[i] for i in newest_first[offset : offset + limit]]

    def update_all(self, updates: Sequence[tuple[Payment, PaymentChanges]]) -> list[Payment]:
        for payment, _ in updates:  # all conditions first: nothing written unless every one holds
            current = self.items.get(payment.id)
            if current is None or current.status != payment.status or current.version != payment.version:
                self.stale_writes += 1
                raise StaleWrite(payment.id)
        return [self.update(payment, changes) for payment, changes in updates]

    def update(self, payment: Payment, changes: PaymentChanges) -> Payment:
        current = self.items.get(payment.id)
        if current is None or current.status != payment.status or current.version != payment.version:
            self.stale_writes += 1
            raise StaleWrite(payment.id)
        written = current._replace(**changes)._replace(version=payment.version + 1)
        self.items[payment.id] = written
        self.updates.append(changes)
        return written

    def annotate(
        self,
        payment_id: str,
        *,
        expected_status: PaymentStatus,
        changes: PaymentChanges,
        expected: PaymentChanges | None = None,
    ) -> bool:
        current = self.items.get(payment_id)
        if current is None or current.status != expected_status:
            return False
        if any(getattr(current, name) != value for name, value in (expected or {}).items()):
            return False
        self.items[payment_id] = current._replace(**changes)
        self.annotations.append(changes)
        return True

    def watched(
        self, network_id: str, status: PaymentStatus, *, expires_until: str | None = None, limit: int = 500
    ) -> list[Payment]:
        key = watch_key(network_id, status)
        keyed = [(watch_attributes(p), p) for p in self.items.values()]
        found = sorted(((str(w["watch_sk"]), p) for w, p in keyed if w["watch_pk"] == key), key=lambda wp: wp[0])
        if expires_until is not None:
            found = [(k, p) for k, p in found if k <= f"{expires_until}#~"]
        return [p for _, p in found[:limit]]

    def put(self, payment: Payment) -> Payment:
        """A payment as a test sets it up (no guard, no listing position)."""
        self.items[payment.id] = payment
        return payment


class FakeLogStore:
    """A payment's log entries in memory, newest first as the real table's query reads them."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], LogEntry] = {}

    def append(self, entry: LogEntry) -> bool:
        key = (entry.payment_id, entry.sk)
        if key in self.entries:
            return False
        self.entries[key] = entry
        return True

    def count(self, payment_id: str) -> int:
        return sum(1 for p, _ in self.entries if p == payment_id)

    def page(self, payment_id: str, offset: int, limit: int) -> list[LogEntry]:
        keys = sorted((k for k in self.entries if k[0] == payment_id), key=lambda k: k[1], reverse=True)
        return [self.entries[k] for k in keys[offset : offset + limit]]


class FakeCursorStore:
    """The watcher's block cursors, one per network, moved only from the value last read."""

    def __init__(self) -> None:
        self.cursors: dict[str, BlockCursor] = {}

    def get(self, network_id: str) -> BlockCursor | None:
        return self.cursors.get(network_id)

    def advance(
        self, network_id: str, *, previous: BlockCursor | None, block: int, block_hash: str | None, at: str
    ) -> bool:
        if previous is not None and block < previous.block:
            return False
        if self.cursors.get(network_id) != previous:
            return False
        self.cursors[network_id] = BlockCursor(network_id, block, block_hash)
        return True


@dataclass
class SentMessage:
    body: dict[str, Any]
    group: str
    dedup_id: str


class FakeDealQueue:
    """A FIFO queue that keeps what was sent; bodies must survive `json.dumps` like the real one."""

    def __init__(self) -> None:
        self.sent: list[SentMessage] = []
        self.delayed: list[tuple[str, int]] = []
        self._ids = itertools.count(1)

    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        # The real queue serializes with the stdlib json module: a Decimal or UUID would fail there.
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        self.sent.append(SentMessage(json.loads(text), group, dedup_id))
        return f"msg-{next(self._ids)}"

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self.delayed.append((receipt_handle, seconds))


class StageError(Exception):
    """What Secrets Manager would answer with an InvalidParameter/ResourceExists error."""


class FakeSigningKeyStore:
    """Secrets Manager staging labels and the JWKS parameter, in memory.

    Semantics kept from Secrets Manager:
    - a secret starts with one version holding AWSCURRENT (here the template's "{}" placeholder);
    - put_secret_value with an existing ClientRequestToken and the same value is a no-op; with another
      value it fails; the version gets AWSPENDING (moved off any other version);
    - moving AWSCURRENT to a version requires RemoveFromVersionId to name the version holding it,
      and moves AWSPREVIOUS onto that old version;
    - a staging label is on at most one version; a version without labels is deprecated.
    """

    def __init__(self, initial_value: str = "{}", initial_version: str = "v0-placeholder") -> None:
        self.versions: dict[str, str] = {initial_version: initial_value}
        self.labels: dict[str, set[str]] = {initial_version: {"AWSCURRENT"}}
        self.jwks_value: str | None = None
        self.jwks_writes: list[dict[str, Any]] = []
        self.jwks_reads = 0
        self.now = datetime(2026, 1, 1, tzinfo=UTC)  # when the next version is made; tests move it
        self.created: dict[str, datetime] = {initial_version: self.now}

    # -- helpers
    def holder(self, stage: str) -> str | None:
        for version, labels in self.labels.items():
            if stage in labels:
                return version
        return None

    def _move(self, stage: str, to_version: str) -> None:
        for labels in self.labels.values():
            labels.discard(stage)
        self.labels.setdefault(to_version, set()).add(stage)

    def value(self, stage: str) -> Any:
        return self.read(stage=stage)

    # -- the SigningKeyStore protocol
    def read(self, *, stage: str | None = None, version_id: str | None = None) -> Any:
        return self.read_dated(stage=stage, version_id=version_id)[0]

    def read_dated(self, *, stage: str | None = None, version_id: str | None = None) -> tuple[Any, datetime | None]:
        if version_id:
            if version_id not in self.versions:
                return None, None
            if stage and stage not in self.labels.get(version_id, set()):
                return None, None
            chosen: str | None = version_id
        else:
            chosen = self.holder(stage or "AWSCURRENT")
        if chosen is None:
            return None, None
        try:
            return json.loads(self.versions[chosen] or "null"), self.created[chosen]
        except ValueError:
            return None, self.created[chosen]

    def stages(self) -> dict[str, list[str]]:
        return {version: sorted(labels) for version, labels in self.labels.items() if labels}

    def put_pending(self, version_id: str, value: dict[str, Any]) -> None:
        text = json.dumps(value)
        if version_id in self.versions and self.versions[version_id] != text:
            raise StageError(f"version {version_id} already exists with another value")
        if version_id not in self.versions:
            self.created[version_id] = self.now
        self.versions[version_id] = text
        self._move("AWSPENDING", version_id)

    def promote(self, version_id: str, current_version_id: str | None) -> None:
        if version_id not in self.versions:
            raise StageError(f"no version {version_id}")
        holder = self.holder("AWSCURRENT")
        if holder is not None and holder != version_id:
            if current_version_id != holder:
                raise StageError(f"AWSCURRENT is on {holder}, not on {current_version_id}")
            self._move("AWSPREVIOUS", holder)
        self._move("AWSCURRENT", version_id)
        self.labels[version_id].discard("AWSPENDING")

    def remove_stage(self, stage: str, version_id: str) -> None:
        if stage not in self.labels.get(version_id, set()):
            raise StageError(f"{stage} is not on version {version_id}")
        self.labels[version_id].discard(stage)

    def read_jwks(self) -> dict[str, Any]:
        self.jwks_reads += 1
        if self.jwks_value is None:
            return {"keys": []}
        value: dict[str, Any] = json.loads(self.jwks_value)
        return value

    def write_jwks(self, jwks: dict[str, Any]) -> None:
        self.jwks_value = json.dumps(jwks)
        self.jwks_writes.append(json.loads(self.jwks_value))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeChain:
    """A diamond on a chain, in memory: deals by id and ref, blocks (hash and time by number), the events and
    receipts the watcher reads. Implements chain_work.Chain and watcher.WatchedChain."""

    def __init__(self, head: int = 100, block_seconds: int = 12) -> None:
        self.head_block = head
        self.block_seconds = block_seconds
        self.deals: dict[int, DealInfo] = {}
        self.created: dict[str, CreatedDeal] = {}  # ref -> its createDeal
        self.hashes: dict[int, str | None] = {}  # overrides of the default hash of a block (a reorg)
        self.logged: list[ChainEvent] = []
        self.receipts: dict[str, tuple[int, str]] = {}
        self.create_calls: list[str] = []  # refs
        self.cancel_calls: list[int] = []  # deal ids
        self.signed_by: list[str] = []  # the address of every transaction's key, in order
        self.settled: list[str] = []  # the keys' addresses settle() was asked for
        self.pending: list[tuple[str, str, int]] = []  # createDeals sent, not mined yet: (ref, key, amount)
        self.balances: dict[str, int] = {}  # native coin, in wei
        self.before_send: list[Callable[[], None]] = []  # run (once each) just before the next transactions
        self._tx = itertools.count(1)

    def _hash(self) -> str:
        return f"0x{next(self._tx):064x}"

    # -- chain_work.Chain
    def deal_id_of(self, ref: str) -> int:
        found = self.created.get(ref)
        return found.deal_id if found else 0

    def find_created(self, ref: str) -> CreatedDeal | None:
        return self.created.get(ref)

    def get_deal(self, deal_id: int) -> DealInfo:
        if deal_id not in self.deals:
            raise ChainError(f"no deal {deal_id}", reverted=True)
        return self.deals[deal_id]

    def create_deal(
        self, private_key: str, *, ref: str, payee: str, token: str, amount: int, expires_at: int
    ) -> CreatedDeal:
        self.create_calls.append(ref)
        self.signed_by.append(key_address(private_key))
        if ref in self.created:
            raise ChainError("RefAlreadyUsed", reverted=True)
        deal_id = len(self.deals) + 1
        self.deals[deal_id] = DealInfo(
            deal_id, ref, key_address(private_key), payee, token, amount, expires_at, "0x" + "0" * 40,
            DealStatus.OPEN,
        )  # fmt: skip
        self.created[ref] = CreatedDeal(deal_id, self._hash(), self.head_block, self.block_hash(self.head_block))
        return self.created[ref]

    def create_deals(self, key: str, requests: list[tuple[str, str, str, int, int]]) -> list[CreatedDeal | None]:
        """createDeals: one transaction, all or nothing per ref (a used ref creates nothing: None)."""
        tx = self._hash()
        out: list[CreatedDeal | None] = []
        for ref, payee, token, amount, expires_at in requests:
            self.create_calls.append(ref)
            if ref in self.created:
                out.append(None)
                continue
            deal_id = len(self.deals) + 1
            self.deals[deal_id] = DealInfo(
                deal_id, ref, key_address(key), payee, token, amount, expires_at, "0x" + "0" * 40, DealStatus.OPEN
            )
            self.created[ref] = CreatedDeal(deal_id, tx, self.head_block)
            out.append(self.created[ref])
        return out

    def cancel_deal(self, private_key: str, deal_id: int) -> SentTransaction:
        if self.before_send:
            self.before_send.pop(0)()  # what the chain mined between the caller's read and this transaction
        self.cancel_calls.append(deal_id)
        self.signed_by.append(key_address(private_key))
        deal = self.get_deal(deal_id)
        if deal.creator != key_address(private_key):
            raise ChainError("NotCreator", reverted=True)  # the contract's rule
        if deal.status not in (DealStatus.OPEN, DealStatus.PAID):
            raise ChainError("DealAlreadyClosed", reverted=True)
        refunded = deal.status is DealStatus.PAID
        done = DealStatus.REFUNDED if refunded else DealStatus.CANCELLED
        self.deals[deal_id] = dataclasses.replace(deal, status=done)
        return SentTransaction(self._hash(), self.head_block, refunded=refunded)

    def settle(self, private_key: str) -> None:
        """The key's pending createDeals (`pending`, a worker that stopped waiting) are mined now."""
        self.settled.append(key_address(private_key))
        for ref, key, amount in [p for p in self.pending if p[1] == private_key]:
            self.pending.remove((ref, key, amount))
            self.create_deal(key, ref=ref, payee="0xpayee", token="0xtoken", amount=amount, expires_at=0)

    def pay(self, deal_id: int, *, block: int, payer: str = "0xpayer") -> ChainEvent:
        """The payer's deposit into a deal, mined in `block`."""
        deal = self.get_deal(deal_id)
        self.deals[deal_id] = dataclasses.replace(deal, status=DealStatus.PAID, payer=payer)
        tx = self._hash()
        ev = ChainEvent(
            "Deposited", deal_id, {"payer": payer, "amount": deal.amount}, block, self.block_hash(block) or "", tx, 0
        )
        self.logged.append(ev)
        self.receipts[tx] = (block, ev.block_hash)
        return ev

    # -- watcher.WatchedChain
    def head(self) -> int:
        return self.head_block

    def block_hash(self, number: int) -> str | None:
        if number in self.hashes:
            return self.hashes[number]
        return f"0x{number:064x}" if 0 <= number <= self.head_block else None

    def block_timestamp(self, number: int) -> int:
        return 1_800_000_000 + number * self.block_seconds

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return [e for e in self.logged if from_block <= e.block_number <= to_block]

    def receipt_block(self, transaction_hash: str) -> tuple[int, str] | None:
        return self.receipts.get(transaction_hash)

    def balance(self, address: str) -> int:
        return self.balances.get(address, 0)


class FakeWalletKeys:
    def private_key(self, wallet_id: str) -> str:
        return f"key-of-{wallet_id}"


def wallet_address(wallet_id: str) -> str:
    """The address of a wallet's key in the fakes (FakeWalletKeys' key, FakeChain's signer)."""
    return "0x" + hashlib.sha256(wallet_id.encode()).hexdigest()[:40]


def key_address(private_key: str) -> str:
    """The address a fake key signs as: a wallet's (FakeWalletKeys) or, for another key, one of its own."""
    return wallet_address(private_key.removeprefix("key-of-"))


def _conforms(  # noqa: PLR0917 - one argument per protocol
    catalog: FakeCatalog,
    payments: FakePaymentStore,
    logs: FakeLogStore,
    cursors: FakeCursorStore,
    queue: FakeDealQueue,
    keys: FakeSigningKeyStore,
    chain: FakeChain,
    wallet_keys: FakeWalletKeys,
    secret_hashes: FakeSecretHashes,
    statuses: FakeIntegrationStatuses,
) -> None:
    """Never called: mypy checks here that each fake implements its protocol (a missing or changed method
    fails `make typecheck`, naming it)."""
    _catalog: CatalogStore = catalog
    _payments: PaymentStore = payments
    _logs: LogStore = logs
    _cursors: CursorStore = cursors
    _queue: DealQueue = queue
    _keys: SigningKeyStore = keys
    _chain: Chain = chain
    _watched: WatchedChain = chain
    _wallet_keys: WalletKeys = wallet_keys
    _secret_hashes: SecretHashStore = secret_hashes
    _statuses: IntegrationStatusStore = statuses
