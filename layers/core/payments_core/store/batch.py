"""BatchGetItem with what every caller needs: chunks of 100 keys and UnprocessedKeys read again."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from payments_core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem call
_MAX_ROUNDS = 10


class UnprocessedKeysLeft(ServiceUnavailable):
    """DynamoDB kept throttling part of a batch read: 503, never a partial result."""

    code = "storage_busy"


def batch_get(
    db: DynamoDBClient,
    table: str,
    keys: list[dict[str, Any]],
    *,
    consistent: bool = False,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The raw items of `keys` that exist (any order). Unprocessed keys are asked again with jittered
    backoff, as the AWS SDK guidance for batch operations says; a read that stays partial raises."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_KEYS):
        spec: dict[str, Any] = {"Keys": keys[start : start + MAX_KEYS], "ConsistentRead": consistent}
        if projection:
            spec["ProjectionExpression"] = projection
        if names:
            spec["ExpressionAttributeNames"] = names
        request: dict[str, Any] = {table: spec}
        for attempt in range(_MAX_ROUNDS):
            resp = db.batch_get_item(RequestItems=request)
            found.extend(resp.get("Responses", {}).get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        else:
            raise UnprocessedKeysLeft("The data store is busy; try again")
    return found
