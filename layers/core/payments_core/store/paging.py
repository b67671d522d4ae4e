"""Offset pages over a DynamoDB query, newest first, without reading what is skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payments_core.store.codec import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def query_page(db: DynamoDBClient, query: dict[str, Any], offset: int, limit: int) -> list[dict[str, Any]]:
    """`limit` items of `query` after skipping `offset` of them.

    The skip uses Select=COUNT: DynamoDB returns no items, only where it stopped, so a call costs what
    its page position costs, never what the whole partition holds.
    """
    start: dict[str, Any] | None = None
    remaining = offset
    while remaining > 0:
        kwargs = {**query, "Select": "COUNT", "Limit": remaining}
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = db.query(**kwargs)
        remaining -= resp["Count"]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return []
    items: list[dict[str, Any]] = []
    while len(items) < limit:
        kwargs = {**query, "Limit": limit - len(items)}
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = db.query(**kwargs)
        items.extend(from_item(dict(i)) for i in resp["Items"])
        start = resp.get("LastEvaluatedKey")
        if not start:
            break
    return items
