"""The payment logs table: written only by the stream's log writer, idempotently.

Items: (payment_id, sk = `<created_at>#<stream event id>`) per entry, and (payment_id, `#count`) with
the entry count, incremented in the same transaction as the entry's conditional put. A redelivered
stream record finds its entry there: the transaction is refused whole and nothing is counted twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments_core.domain.entities import LogEntry
from payments_core.store.codec import entity_attributes, log_entry_from, s, to_item
from payments_core.store.paging import query_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNT_SK = "#count"  # sorts before every timestamp, so entry queries (sk >= "0") never see it


class DynamoLogStore:
    """Implements payments_core.domain.stores.LogStore."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def append(self, entry: LogEntry) -> bool:
        """Write one entry; False when it was written before (a redelivery)."""
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(entity_attributes(entry)),
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"payment_id": s(entry.payment_id), "sk": s(COUNT_SK)},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def count(self, payment_id: str) -> int:
        resp = self._db.get_item(
            TableName=self._table, Key={"payment_id": s(payment_id), "sk": s(COUNT_SK)}, ProjectionExpression="n"
        )
        item = resp.get("Item")
        return int(item["n"]["N"]) if item else 0

    def page(self, payment_id: str, offset: int, limit: int) -> list[LogEntry]:
        """Entries newest first, skipping `offset` of them by keys only (as the payments listing does)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "payment_id = :p AND sk >= :first",
            "ExpressionAttributeValues": {":p": s(payment_id), ":first": s("0")},
            "ScanIndexForward": False,
        }
        return [log_entry_from(item) for item in query_page(self._db, query, offset, limit)]
