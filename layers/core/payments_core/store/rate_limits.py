"""Fixed-window request counters (the public checkout's limits per price and per source address).

One item per (subject, window) in the index table (PaymentKeysTable): `rate#<subject>#<window start>`, counted
up by a conditional `ADD` that fails once the window's limit is reached, so a counter is never over its limit
and concurrent requests cannot both take the last unit. The item carries `expires_at_epoch` (the table's TTL
attribute) and DynamoDB deletes it after its window. A window is `window_seconds` long, aligned on the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from payments_core.store.codec import s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRateLimiter:
    """Implements payments_core.domain.stores.RateLimiter on the index table."""

    def __init__(self, client: DynamoDBClient, index_table: str, *, clock: Callable[[], float] = time.time) -> None:
        self._db = client
        self._table = index_table
        self._clock = clock

    def take(self, subject: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one request of `subject` in the current window: None when it is within `limit`, else the
        seconds until the window ends (the `Retry-After`)."""
        now = self._clock()
        start = int(now // window_seconds) * window_seconds
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": s(f"rate#{subject}#{start}")},
                UpdateExpression="ADD n :one SET expires_at_epoch = if_not_exists(expires_at_epoch, :until)",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":until": {"N": str(start + 2 * window_seconds)},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return max(1, int(start + window_seconds - now + 0.999))
            raise
        return None
