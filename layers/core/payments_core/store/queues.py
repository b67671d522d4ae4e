"""SQS: the chain-work queues (FIFO, one message group per signing wallet)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DealQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        resp = self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(body, separators=(",", ":"), sort_keys=True),
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id,
        )
        return resp["MessageId"]

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Back off: the message comes back after `seconds` instead of the queue's visibility timeout."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(seconds, 43200))
        )
