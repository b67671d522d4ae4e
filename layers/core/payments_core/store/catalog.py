"""The catalog table: nodes, chains, networks, currencies, wallets, members, integrations.

One table keyed by `pk = <kind>#<id>`, with a `by_kind` index for listing one kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments_core.store.batch import PendingRead, TableRead
from payments_core.store.codec import from_item, s, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KINDS = ("node", "chain", "network", "currency", "wallet", "member", "integration")


class AlreadyExists(Exception):
    pass


def catalog_key(kind: str, id_: str) -> str:
    return f"{kind}#{id_}"


class CatalogStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        resp = self._db.get_item(TableName=self._table, Key={"pk": s(catalog_key(kind, id_))})
        item = resp.get("Item")
        return from_item(item) if item else None

    def get_many(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Read several entries in one round trip; missing ones are absent from the answer."""
        return self.read_many(refs).run()

    def read_many(self, refs: list[tuple[str, str]]) -> PendingRead[dict[tuple[str, str], dict[str, Any]]]:
        """`get_many` as a pending read, to be made together with another store's (`read_both`)."""
        keys = {catalog_key(kind, id_): (kind, id_) for kind, id_ in refs}

        def answer(raw: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
            found: dict[tuple[str, str], dict[str, Any]] = {}
            for entry in raw:
                item = from_item(entry)
                found[keys[item["pk"]]] = item
            return found

        return PendingRead(answer, self._db, self._table, TableRead([{"pk": s(k)} for k in keys]))

    def read_one(self, kind: str, id_: str) -> PendingRead[dict[str, Any] | None]:
        """`get` as a pending read, to be made together with another store's (`read_both`)."""
        return self.read_many([(kind, id_)]).then(lambda found: found.get((kind, id_)))

    def put_new(self, kind: str, item: dict[str, Any]) -> None:
        record = {**item, "pk": catalog_key(kind, item["id"]), "kind": kind}
        try:
            self._db.put_item(
                TableName=self._table, Item=to_item(record), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AlreadyExists(f"{kind} {item['id']} already exists") from None
            raise

    def put(self, kind: str, item: dict[str, Any]) -> None:
        """Write an entry whole (an operator's update of an existing entry)."""
        record = {**item, "pk": catalog_key(kind, item["id"]), "kind": kind}
        self._db.put_item(TableName=self._table, Item=to_item(record))

    def list(self, kind: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_kind",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": s(kind)},
        }
        while True:
            resp = self._db.query(**kwargs)
            out.extend(from_item(i) for i in resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
