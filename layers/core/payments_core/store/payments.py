"""The payments table, its uniqueness guards, its counters and its list positions.

Layout (see template.yaml):
- PaymentsTable: one item per payment, keyed by `id`.
- PaymentKeysTable (in the code: the index table), written in the same transaction as the payment:
  - `ext#<node_id>#<external_id>`: the guard; DynamoDB itself enforces the unique (node_id, external_id).
  - per listing (the node; the node and one wallet; one network; both), a counter `count#<listing>` and
    a position `pos#<listing>#<n>` -> payment id. The create that takes position n+1 is the one whose
    transaction finds the counter still at n (a conditional update), so positions are dense, unique and
    in commit order, and the counter is the exact `total`.
  Page p of a listing is positions total-(p-1)*per_page down to ..., read by key (BatchGetItem): a page
  costs what it holds, whatever its number and however many payments the node has. No query, no scan,
  no counting.
- `by_watch`: a sparse GSI of the web3 payments the chain watcher still has work on (`watch_pk` =
  `<network_id>#<status>`, `watch_sk` = `<expires_at>#<id>`); the attributes exist only while the status
  is one of WATCHED_STATUSES and are kept in step by every status change (lifecycle.move).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from payments_core.domain.entities import Payment, PaymentChanges
from payments_core.domain.stores import ExternalIdTaken, PriceTaken, StaleWrite
from payments_core.errors import ServiceUnavailable
from payments_core.models.payments import PaymentMethod, PaymentStatus
from payments_core.store.batch import PendingRead, TableRead, batch_get
from payments_core.store.codec import (
    change_attributes,
    from_item,
    payment_attributes,
    payment_from,
    s,
    to_item,
    update_expression,
)
from payments_core.store.paging import query_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A create that loses the race for a listing position reads the counters again and retries, with
# jittered exponential backoff (capped), for at most this long; then 503 (one node's create rate is
# bounded by one transaction per listing position: tens per second on DynamoDB).
_INSERT_BUDGET_S = 8.0
_BACKOFF_BASE_S = 0.01
_BACKOFF_CAP_S = 0.2


class CreateContended(ServiceUnavailable):
    """Other creates of the same node kept taking the next list position for the whole retry budget."""

    code = "create_contended"


class Listing(NamedTuple):
    """One way of listing a node's payments (all, or narrowed to a wallet, a network or both)."""

    key: str

    @property
    def counter(self) -> str:
        return f"count#{self.key}"

    def position(self, n: int) -> str:
        return f"pos#{self.key}#{n}"


def app_listing(app_id: str) -> Listing:
    """An app's payments (NoRamp's `GET /payments/{app_id}`), newest first."""
    return Listing(f"app#{app_id}")


def guard_key(node_id: str, external_id: str) -> str:
    return f"ext#{node_id}#{external_id}"


def listing_for(node_id: str, wallet_id: str | None = None, network_id: str | None = None) -> Listing:
    if wallet_id and network_id:
        return Listing(f"wn#{node_id}#{wallet_id}#{network_id}")
    if wallet_id:
        return Listing(f"w#{node_id}#{wallet_id}")
    if network_id:
        return Listing(f"n#{node_id}#{network_id}")
    return Listing(node_id)


def position_actions(index_table: str, listing: Listing, n: int, payment_id: str) -> list[dict[str, Any]]:
    """The transaction's two actions that give a payment position n + 1 of `listing`: the counter moves
    from n (read before) to n + 1 only if it is still n, and the position is new."""
    seen = {
        "ConditionExpression": "n = :n",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":n": {"N": str(n)}},
    }
    unseen = {
        "ConditionExpression": "attribute_not_exists(n)",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    return [
        {
            "Update": {
                "TableName": index_table,
                "Key": {"pk": s(listing.counter)},
                "UpdateExpression": "ADD n :one",
                **(seen if n else unseen),
            }
        },
        {
            "Put": {
                "TableName": index_table,
                "Item": to_item({"pk": listing.position(n + 1), "payment_id": payment_id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def listings_of(node: str, wallet: str | None, network: str) -> list[Listing]:
    """Every listing a payment of (node, wallet, network) appears in (it takes the next position in each
    when it is created)."""
    found = [listing_for(node), listing_for(node, network_id=network)]
    if wallet:
        found += [listing_for(node, wallet_id=wallet), listing_for(node, wallet, network)]
    return found


# The web3 statuses the chain watcher looks at: expiry (pending, send-failed, open), deposits and
# confirmations (open, paid), cancel messages to send again (cancelling: not once its cancel failed for
# good, `cancel_failed_reason`) and sends whose worker stopped (sending).
WATCHED_STATUSES = frozenset(
    {
        PaymentStatus.PENDING,
        PaymentStatus.SENDING,
        PaymentStatus.SEND_FAILED,
        PaymentStatus.OPEN,
        PaymentStatus.PAID,
        PaymentStatus.CANCELLING,
    }
)
WATCH_INDEX = "by_watch"


def watch_key(network_id: str, status: str) -> str:
    return f"{network_id}#{status}"


def watch_attributes(payment: Payment) -> dict[str, str | None]:
    """The `by_watch` key of a payment: set while the watcher has work on it, None (removed) otherwise.
    Every write of the store keeps it in step with the status."""
    if (
        payment.payment_method is PaymentMethod.WEB3
        and payment.status in WATCHED_STATUSES
        and not (payment.status is PaymentStatus.CANCELLING and payment.cancel_failed_reason is not None)
    ):
        return {
            "watch_pk": watch_key(payment.network_id, payment.status),
            "watch_sk": f"{payment.expires_at}#{payment.id}",
        }
    return {"watch_pk": None, "watch_sk": None}


class DynamoPaymentStore:
    """Implements payments_core.domain.stores.PaymentStore on the payments and index tables."""

    def __init__(
        self, client: DynamoDBClient, payments_table: str, index_table: str, catalog_table: str | None = None
    ) -> None:
        self._db = client
        self._payments = payments_table
        self._index = index_table
        self._catalog = catalog_table  # only for checkouts (insert_checkout marks a dynamic price expired)

    def insert(self, payment: Payment, counters: dict[Listing, int] | None = None) -> None:
        """Write a new payment, its (node_id, external_id) guard and its list positions, all or nothing.

        `counters`: the payment's listing counters as just read (`read_counters`, made together with
        another read); the first attempt starts from them instead of reading them itself.
        Raises ExternalIdTaken (with the existing payment's id) when the guard already exists, and
        CreateContended when concurrent creates of the node kept winning the next positions.
        """
        self._insert(payment, listings_of(payment.node_id, payment.wallet_id, payment.network_id), counters)

    def insert_checkout(self, payment: Payment, listing: Listing, single_use_price: str | None = None) -> None:
        """Write a checkout's payment (NoRamp's app API) with its guard and its position in the app's `listing`;
        with `single_use_price` (a dynamic price's id), the same transaction marks that price expired, and only
        if it is not yet (nor deleted): PriceTaken otherwise, and nothing is written."""
        extra: list[Any] = []
        if single_use_price is not None:
            if not self._catalog:
                raise RuntimeError("this store was built without the catalog table")
            extra.append(
                {
                    "Update": {
                        "TableName": self._catalog,
                        "Key": {"pk": s(f"price#{single_use_price}")},
                        "UpdateExpression": "SET expired = :yes, updated_at = :now",
                        "ConditionExpression": (
                            "attribute_exists(pk) AND (attribute_not_exists(expired) OR expired = :no) "
                            "AND (attribute_not_exists(deleted) OR deleted = :no)"
                        ),
                        "ExpressionAttributeValues": {
                            ":yes": {"BOOL": True},
                            ":no": {"BOOL": False},
                            ":now": s(payment.created_at),
                        },
                    }
                }
            )
        self._insert(payment, [listing], None, extra)

    def _insert(
        self,
        payment: Payment,
        listings: list[Listing],
        counters: dict[Listing, int] | None,
        extra: Sequence[dict[str, Any]] = (),
    ) -> None:
        item = {**payment_attributes(payment), **watch_attributes(payment)}
        deadline = time.monotonic() + _INSERT_BUDGET_S
        attempt = 0
        known = counters if counters is not None and set(listings) <= set(counters) else None
        while True:
            counts = known if known is not None else self._counts(listings)
            known = None  # a retry reads them again
            actions: list[Any] = [*self._insert_actions(item, listings, counts), *extra]
            try:
                self._db.transact_write_items(TransactItems=actions)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                guard = reasons[0] if reasons else {}
                if guard.get("Code") == "ConditionalCheckFailed":
                    owner = str(from_item(dict(guard.get("Item", {}))).get("payment_id", ""))
                    if owner == item["id"]:
                        # Our own guard: an earlier attempt committed and only its answer was lost (the
                        # SDK retried it, or a timeout hid it). The payment is written: done.
                        return
                    raise ExternalIdTaken(owner) from None
                if extra and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[-len(extra) :]):
                    raise PriceTaken(item["id"]) from None
                # Another create took a position we counted on (or holds a counter in its transaction).
                raced = any(r.get("Code") in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
                if not raced:
                    raise
            pause = random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt))  # noqa: S311 - jitter
            if time.monotonic() + pause > deadline:
                raise CreateContended("Too many payments are being created for this node at once; try again")
            time.sleep(pause)
            attempt += 1

    def _insert_actions(self, item: dict[str, Any], listings: list[Listing], counts: dict[Listing, int]) -> list[Any]:
        """`item`: the payment's attributes as stored."""
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._index,
                    "Item": to_item({"pk": guard_key(item["node_id"], item["external_id"]), "payment_id": item["id"]}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._payments,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
        ]
        for listing in listings:
            actions += position_actions(self._index, listing, counts[listing], item["id"])
        return actions

    def read_counters(self, node_id: str, wallet_id: str | None, network_id: str) -> PendingRead[dict[Listing, int]]:
        """The counters of every listing a new payment of (node, wallet, network) takes a position in, as
        a pending read (see `insert`)."""
        return self._read_counts(listings_of(node_id, wallet_id, network_id))

    def read_total(self, listing: Listing) -> PendingRead[int]:
        """A listing's exact total (its counter), as a pending read (see `page`)."""
        return self._read_counts([listing]).then(lambda counts: counts[listing])

    def _counts(self, listings: list[Listing]) -> dict[Listing, int]:
        return self._read_counts(listings).run()

    def _read_counts(self, listings: list[Listing]) -> PendingRead[dict[Listing, int]]:
        """Counters are always read strongly consistent: a create's conditions are built on them."""
        by_key = {listing.counter: listing for listing in listings}

        def answer(raw: list[dict[str, Any]]) -> dict[Listing, int]:
            counts = dict.fromkeys(listings, 0)
            for found in raw:
                counts[by_key[found["pk"]["S"]]] = int(found["n"]["N"])
            return counts

        return PendingRead(answer, self._db, self._index, TableRead([{"pk": s(k)} for k in by_key], consistent=True))

    def update(self, payment: Payment, changes: PaymentChanges) -> Payment:
        """Apply `changes` only if the payment still has the status and version it was read with (`payment`);
        the version goes up by one and the `by_watch` key follows the status. Returns the new payment;
        raises StaleWrite otherwise."""
        try:
            resp = self._db.update_item(**self._update_of(payment, changes), ReturnValues="ALL_NEW")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleWrite(payment.id) from None
            raise
        return payment_from(from_item(dict(resp["Attributes"])))

    def update_all(self, updates: Sequence[tuple[Payment, PaymentChanges]]) -> list[Payment]:
        """`update` of several payments (at most 100) in one transaction: every one written, or none (StaleWrite
        when any of them no longer has the status and version it was read with, or another transaction holds
        it). Returns the new payments, in order: each as read with its changes and the next version."""
        if not updates:
            return []
        actions: list[Any] = [{"Update": self._update_of(p, c)} for p, c in updates]
        try:
            self._db.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            if any(
                r.get("Code") not in (None, "None", "ConditionalCheckFailed", "TransactionConflict") for r in reasons
            ):
                raise
            raise StaleWrite(",".join(p.id for p, _ in updates)) from None
        return [p._replace(**c)._replace(version=p.version + 1) for p, c in updates]

    def _update_of(self, payment: Payment, changes: PaymentChanges) -> dict[str, Any]:
        """The conditional UpdateItem of `update` (its parameters: an UpdateItem call's, a transaction's Update)."""
        names = {"#status": "status", "#version": "version"}
        values: dict[str, Any] = {":expected_status": payment.status, ":expected_version": payment.version}
        written = {**change_attributes(changes), "version": payment.version + 1}
        written.update(watch_attributes(payment._replace(**changes)))
        expression = update_expression(written, names, values)
        return {
            "TableName": self._payments,
            "Key": {"id": s(payment.id)},
            "UpdateExpression": expression,
            "ConditionExpression": "#status = :expected_status AND #version = :expected_version",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }

    def annotate(
        self,
        payment_id: str,
        *,
        expected_status: PaymentStatus,
        changes: PaymentChanges,
        expected: PaymentChanges | None = None,
    ) -> bool:
        """Set fields that are no domain event (confirmation progress, bookkeeping): only while the payment
        has `expected_status` (and the `expected` field values), and without a new version, so the log
        writer writes no entry for it. False when the condition did not hold."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":expected_status": expected_status}
        conditions = ["#status = :expected_status"]
        for i, (name, value) in enumerate(change_attributes(expected or {}).items()):
            names[f"#e{i}"] = name
            values[f":e{i}"] = value
            conditions.append(f"#e{i} = :e{i}")
        expression = update_expression(change_attributes(changes), names, values)
        try:
            self._db.update_item(
                TableName=self._payments,
                Key={"id": s(payment_id)},
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def watched(
        self, network_id: str, status: PaymentStatus, *, expires_until: str | None = None, limit: int = 500
    ) -> list[Payment]:
        """Up to `limit` payments of a network in a watched status, soonest expiry first; with
        `expires_until` (an ISO time as stored), only those whose expires_at is at or before it.
        Read from the `by_watch` index (eventually consistent: every write after it is conditional)."""
        condition = "watch_pk = :pk"
        values = {":pk": s(watch_key(network_id, status))}
        if expires_until is not None:
            condition += " AND watch_sk <= :until"
            values[":until"] = s(f"{expires_until}#~")  # "~" sorts after every id character
        query: dict[str, Any] = {
            "TableName": self._payments,
            "IndexName": WATCH_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        return [payment_from(item) for item in query_page(self._db, query, 0, limit)]

    def get(self, payment_id: str) -> Payment | None:
        resp = self._db.get_item(TableName=self._payments, Key={"id": s(payment_id)}, ConsistentRead=True)
        item = resp.get("Item")
        return payment_from(from_item(item)) if item else None

    def get_many(self, payment_ids: Sequence[str]) -> dict[str, Payment]:
        keys = [{"id": s(i)} for i in dict.fromkeys(payment_ids)]
        raw = batch_get(self._db, self._payments, keys, consistent=True) if keys else []
        return {r["id"]["S"]: payment_from(from_item(r)) for r in raw}

    def page(self, listing: Listing, offset: int, limit: int, total: int | None = None) -> tuple[int, list[Payment]]:
        """The listing's exact total, and `limit` of its payments, newest first, after skipping `offset`.

        Three reads whatever the page and the listing's size: the counter, the page's positions, the
        payments (strongly consistent: a position is never read before the transaction that wrote it).
        `total`: the counter as just read (`read_total`, made together with another read), if it was.
        """
        if total is None:
            total = self.read_total(listing).run()
        top = total - offset
        wanted = [listing.position(n) for n in range(top, max(top - limit, 0), -1)]
        if not wanted:
            return total, []
        positions = batch_get(self._db, self._index, [{"pk": s(k)} for k in wanted], consistent=True)
        ids = {p["pk"]["S"]: p["payment_id"]["S"] for p in positions}
        in_order = [ids[k] for k in wanted if k in ids]
        raw = batch_get(self._db, self._payments, [{"id": s(i)} for i in in_order], consistent=True)
        found = {r["id"]["S"]: r for r in raw}
        return total, [payment_from(from_item(found[i])) for i in in_order if i in found]
