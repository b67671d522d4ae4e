"""The payments table, its uniqueness guards and its counters.

Layout (see template.yaml):
- PaymentsTable: one item per payment, keyed by `id`; GSIs list a node's payments newest first,
  optionally narrowed to one wallet, one network or both (`by_node`, `by_node_wallet`, ...).
- PaymentKeysTable: `ext#<node_id>#<external_id>` guards (one per payment, written in the same
  transaction as the payment, so DynamoDB itself enforces the unique (node_id, external_id)), and
  `count#...` counters, incremented in that same transaction, so `total` is exact and costs one read.
- `by_watch`: a sparse GSI of the web3 payments the chain watcher still has work on (`watch_pk` =
  `<network_id>#<status>`, `watch_sk` = `<expires_at>#<id>`); the attributes exist only while the status
  is one of WATCHED_STATUSES and are kept in step by every status change (lifecycle.move).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments_core.store.codec import from_item, s, to_item, update_expression
from payments_core.store.paging import query_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MAX_TRANSACTION_ATTEMPTS = 8


class StaleWrite(Exception):
    """The payment was changed by someone else since it was read (status or version differ)."""


class ExternalIdTaken(Exception):
    def __init__(self, payment_id: str) -> None:
        super().__init__(payment_id)
        self.payment_id = payment_id


@dataclass(frozen=True, slots=True)
class Listing:
    """Which index and partition a filtered listing reads, and the counter that holds its size."""

    index: str
    key_attribute: str
    key_value: str
    counter: str


def guard_key(node_id: str, external_id: str) -> str:
    return f"ext#{node_id}#{external_id}"


def listing_for(node_id: str, wallet_id: str | None = None, network_id: str | None = None) -> Listing:
    if wallet_id and network_id:
        value = f"{node_id}#{wallet_id}#{network_id}"
        return Listing("by_node_wallet_network", "node_wallet_network", value, f"count#wn#{value}")
    if wallet_id:
        value = f"{node_id}#{wallet_id}"
        return Listing("by_node_wallet", "node_wallet", value, f"count#w#{value}")
    if network_id:
        value = f"{node_id}#{network_id}"
        return Listing("by_node_network", "node_network", value, f"count#n#{value}")
    return Listing("by_node", "node_id", node_id, f"count#{node_id}")


def listings_of(item: dict[str, Any]) -> list[Listing]:
    """Every listing a payment appears in (its counters are incremented when it is created)."""
    node, wallet, network = item["node_id"], item.get("wallet_id"), item["network_id"]
    found = [listing_for(node), listing_for(node, network_id=network)]
    if wallet:
        found += [listing_for(node, wallet_id=wallet), listing_for(node, wallet, network)]
    return found


# The web3 statuses the chain watcher looks at: expiry (pending, send-failed, open), deposits and
# confirmations (open, paid) and cancel messages to send again (cancelling).
WATCHED_STATUSES = frozenset({"pending", "send-failed", "open", "paid", "cancelling"})
WATCH_INDEX = "by_watch"


def watch_key(network_id: str, status: str) -> str:
    return f"{network_id}#{status}"


def watch_attributes(item: dict[str, Any]) -> dict[str, str | None]:
    """The `by_watch` key of a payment: set while the watcher has work on it, None (removed) otherwise."""
    if item.get("payment_method") == "web3" and item.get("status") in WATCHED_STATUSES:
        return {
            "watch_pk": watch_key(str(item["network_id"]), str(item["status"])),
            "watch_sk": f"{item['expires_at']}#{item['id']}",
        }
    return {"watch_pk": None, "watch_sk": None}


def index_attributes(item: dict[str, Any]) -> dict[str, str]:
    """The GSI key attributes of a payment item."""
    attrs = {"created_sk": f"{item['created_at']}#{item['id']}"}
    for listing in listings_of(item):
        attrs[listing.key_attribute] = listing.key_value
    return attrs


class PaymentStore:
    def __init__(self, client: DynamoDBClient, payments_table: str, keys_table: str) -> None:
        self._db = client
        self._payments = payments_table
        self._keys = keys_table

    def insert(self, item: dict[str, Any]) -> None:
        """Write a new payment, its (node_id, external_id) guard and its counters, all or nothing.

        Raises ExternalIdTaken (with the existing payment's id) when the guard already exists.
        """
        item = {**item, **index_attributes(item), **watch_attributes(item)}
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._keys,
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
        for listing in listings_of(item):
            actions.append(
                {
                    "Update": {
                        "TableName": self._keys,
                        "Key": {"pk": s(listing.counter)},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        for attempt in range(_MAX_TRANSACTION_ATTEMPTS):
            try:
                self._db.transact_write_items(TransactItems=actions)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                guard = reasons[0] if reasons else {}
                if guard.get("Code") == "ConditionalCheckFailed":
                    old = from_item(dict(guard.get("Item", {})))
                    raise ExternalIdTaken(str(old.get("payment_id", ""))) from None
                conflicting = any(r.get("Code") == "TransactionConflict" for r in reasons)
                if not conflicting or attempt == _MAX_TRANSACTION_ATTEMPTS - 1:
                    raise
                # Another transaction holds one of our items (e.g. a counter): back off with jitter.
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not crypto

    def update(
        self, payment_id: str, *, expected_status: str, expected_version: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply `changes` only if the payment still has the status and version it was read with;
        the version goes up by one. Returns the new payment; raises StaleWrite otherwise."""
        names = {"#status": "status", "#version": "version"}
        values: dict[str, Any] = {":expected_status": expected_status, ":expected_version": expected_version}
        expression = update_expression({**changes, "version": expected_version + 1}, names, values)
        try:
            resp = self._db.update_item(
                TableName=self._payments,
                Key={"id": s(payment_id)},
                UpdateExpression=expression,
                ConditionExpression="#status = :expected_status AND #version = :expected_version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleWrite(payment_id) from None
            raise
        return from_item(dict(resp["Attributes"]))

    def annotate(
        self,
        payment_id: str,
        *,
        expected_status: str,
        changes: dict[str, Any],
        expected: dict[str, Any] | None = None,
    ) -> bool:
        """Set fields that are no domain event (confirmation progress, bookkeeping): only while the payment
        has `expected_status` (and the `expected` field values), and without a new version, so the log
        writer writes no entry for it. False when the condition did not hold."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":expected_status": expected_status}
        conditions = ["#status = :expected_status"]
        for i, (name, value) in enumerate((expected or {}).items()):
            names[f"#e{i}"] = name
            values[f":e{i}"] = value
            conditions.append(f"#e{i} = :e{i}")
        expression = update_expression(changes, names, values)
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
        self, network_id: str, status: str, *, expires_until: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
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
        return query_page(self._db, query, 0, limit)

    def get(self, payment_id: str) -> dict[str, Any] | None:
        resp = self._db.get_item(TableName=self._payments, Key={"id": s(payment_id)}, ConsistentRead=True)
        item = resp.get("Item")
        return from_item(item) if item else None

    def count(self, listing: Listing) -> int:
        resp = self._db.get_item(TableName=self._keys, Key={"pk": s(listing.counter)}, ProjectionExpression="n")
        item = resp.get("Item")
        return int(item["n"]["N"]) if item else 0

    def page(self, listing: Listing, offset: int, limit: int) -> list[dict[str, Any]]:
        """`limit` payments of a listing, newest first, after skipping `offset` of them."""
        query: dict[str, Any] = {
            "TableName": self._payments,
            "IndexName": listing.index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": listing.key_attribute},
            "ExpressionAttributeValues": {":v": s(listing.key_value)},
            "ScanIndexForward": False,
        }
        return query_page(self._db, query, offset, limit)
