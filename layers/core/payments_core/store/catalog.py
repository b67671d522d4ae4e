"""The catalog table: nodes, chains, networks, currencies, wallets, members, integrations, and NoRamp's
apps with their API keys, prices and triggers.

One table keyed by `pk = <kind>#<id>`, with a `by_kind` index for listing one kind, and a sparse `by_app` index
of the app-scoped entries (entities.APP_SCOPED: `app_id`, `app_sk = <kind>#<created_at>#<id>`): one app's
prices (or triggers, or keys), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from payments_core.domain.entities import APP_SCOPED, KINDS, CatalogEntry
from payments_core.domain.stores import CatalogEntries, StaleWrite
from payments_core.store.batch import PendingRead, TableRead
from payments_core.store.codec import CATALOG_DECODERS, entity_attributes, from_item, s, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class AlreadyExists(Exception):
    pass


def catalog_key(kind: str, id_: str) -> str:
    return f"{kind}#{id_}"


def app_sort_key(kind: str, created_at: str, id_: str) -> str:
    return f"{kind}#{created_at}#{id_}"


def _decode(item: dict[str, Any]) -> CatalogEntry:
    data = from_item(item)
    return CATALOG_DECODERS[data["kind"]](data)


class DynamoCatalogStore:
    """Implements payments_core.domain.stores.DynamoCatalogStore on the catalog table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def get[E: CatalogEntry](self, kind: type[E], id_: str) -> E | None:
        resp = self._db.get_item(TableName=self._table, Key={"pk": s(catalog_key(KINDS[kind], id_))})
        item = resp.get("Item")
        return cast(E, _decode(dict(item))) if item else None

    def read_many(self, refs: Sequence[tuple[type[CatalogEntry], str]]) -> PendingRead[CatalogEntries]:
        """Several entries in one round trip (missing ones are absent from the answer), as a pending read
        (made alone with `.run()`, or together with another store's: `read_both`)."""
        keys = dict.fromkeys(catalog_key(KINDS[kind], id_) for kind, id_ in refs)

        def answer(raw: list[dict[str, Any]]) -> CatalogEntries:
            return CatalogEntries([_decode(entry) for entry in raw])

        return PendingRead(answer, self._db, self._table, TableRead([{"pk": s(k)} for k in keys]))

    def read_one[E: CatalogEntry](self, kind: type[E], id_: str) -> PendingRead[E | None]:
        """`get` as a pending read, to be made together with another store's (`read_both`)."""
        ref: tuple[type[CatalogEntry], str] = (kind, id_)  # type: ignore[assignment]  # mypy: type[E] is one of them
        return self.read_many([ref]).then(lambda found: found.get(kind, id_))

    def _record(self, entry: CatalogEntry) -> dict[str, Any]:
        kind = KINDS[type(entry)]
        record = {**entity_attributes(entry), "pk": catalog_key(kind, entry.id), "kind": kind}
        # A deleted price or trigger leaves the sparse index: an app's lists and totals leave it out.
        if type(entry) in APP_SCOPED and not getattr(entry, "deleted", False):
            record["app_sk"] = app_sort_key(kind, entry.created_at, entry.id)
        return record

    def replace(self, old: CatalogEntry, new: CatalogEntry) -> None:
        """Write `new` over `old` only if the stored entry is still `old` (its `updated_at` unchanged):
        StaleWrite otherwise (another change came first: read again)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(self._record(new)),
                ConditionExpression="attribute_exists(pk) AND updated_at = :seen",
                ExpressionAttributeValues={":seen": s(old.updated_at)},  # type: ignore[union-attr]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleWrite(f"{KINDS[type(old)]} {old.id} changed meanwhile") from None
            raise

    def count_view(self, price_id: str) -> None:
        """One more checkout of a price (its `views`): an atomic ADD, leaving `updated_at` (and so the optimistic
        `replace` of a concurrent change) alone."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": s(catalog_key("price", price_id))},
                UpdateExpression="ADD #views :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#views": "views"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def list_of_app[E: CatalogEntry](
        self, kind: type[E], app_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[E], int]:
        """One page of an app's entries of `kind` (newest first) and how many it has in all (a deleted price or
        trigger is not in the index: left out of both)."""
        condition: dict[str, Any] = {
            "KeyConditionExpression": "app_id = :a AND begins_with(app_sk, :k)",
            "ExpressionAttributeValues": {":a": s(app_id), ":k": s(f"{KINDS[kind]}#")},
        }
        total, start = 0, None
        while True:  # COUNT reads the keys only (what the index projects is not returned)
            count_args: dict[str, Any] = {"TableName": self._table, "IndexName": "by_app", "Select": "COUNT"}
            if start:
                count_args["ExclusiveStartKey"] = start
            resp = self._db.query(**count_args, **condition)
            total += resp["Count"]
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        out: list[E] = []
        skipped = 0
        kwargs: dict[str, Any] = {"TableName": self._table, "IndexName": "by_app", "ScanIndexForward": False}
        while len(out) < limit:
            resp = self._db.query(**kwargs, **condition, Limit=offset - skipped + limit - len(out))
            for item in resp["Items"]:
                if skipped < offset:
                    skipped += 1
                elif len(out) < limit:
                    out.append(cast(E, _decode(dict(item))))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out, total

    def put_new(self, entry: CatalogEntry) -> None:
        try:
            self._db.put_item(
                TableName=self._table, Item=to_item(self._record(entry)), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AlreadyExists(f"{KINDS[type(entry)]} {entry.id} already exists") from None
            raise

    def put(self, entry: CatalogEntry) -> None:
        """Write an entry whole (an operator's update of an existing entry)."""
        self._db.put_item(TableName=self._table, Item=to_item(self._record(entry)))

    def list[E: CatalogEntry](self, kind: type[E]) -> list[E]:
        out: list[E] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_kind",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": s(KINDS[kind])},
        }
        while True:
            resp = self._db.query(**kwargs)
            out.extend(cast(E, _decode(dict(i))) for i in resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
