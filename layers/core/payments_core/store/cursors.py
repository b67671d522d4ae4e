"""The chain watcher's block cursors: one item per network in the payment index table (PaymentKeysTable).

`pk = cursor#<network_id>`, `block` = the last block whose events were fully processed, `block_hash` = its
hash (a later run that finds another hash there knows the chain reorganised under the cursor). A cursor
only moves with a conditional write on the value it was read with, so of two overlapping runs one moves
it and the other finds it moved: it never goes backwards and no range is claimed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from payments_core.store.codec import from_item, s, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def cursor_key(network_id: str) -> str:
    return f"cursor#{network_id}"


@dataclass(frozen=True, slots=True)
class BlockCursor:
    network_id: str
    block: int
    block_hash: str | None


class DynamoCursorStore:
    """Implements payments_core.domain.stores.CursorStore."""

    def __init__(self, client: DynamoDBClient, index_table: str) -> None:
        self._db = client
        self._table = index_table

    def get(self, network_id: str) -> BlockCursor | None:
        resp = self._db.get_item(TableName=self._table, Key={"pk": s(cursor_key(network_id))}, ConsistentRead=True)
        item = resp.get("Item")
        if not item:
            return None
        data = from_item(item)
        return BlockCursor(network_id, int(data["block"]), data.get("block_hash"))

    def advance(
        self, network_id: str, *, previous: BlockCursor | None, block: int, block_hash: str | None, at: str
    ) -> bool:
        """Move the cursor to `block` if it is still `previous` (absent when None) and `block` is not behind
        it. False when another run moved it first (or `block` would go backwards): nothing is written."""
        if previous is not None and block < previous.block:
            return False
        values: dict[str, object] = {":block": block, ":at": at}
        names = {"#block": "block", "#hash": "block_hash", "#at": "updated_at"}
        if previous is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#block = :previous"
            values[":previous"] = previous.block
        update = "SET #block = :block, #at = :at"
        if block_hash is not None:
            update += ", #hash = :hash"
            values[":hash"] = block_hash
        else:
            update += " REMOVE #hash"
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": s(cursor_key(network_id))},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
