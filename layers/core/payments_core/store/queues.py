"""SQS: the chain-work queues (FIFO, one message group per signing wallet)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from payments_core.observability import CORRELATION_ATTRIBUTE, correlation_id

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsDealQueue:
    """A chain-work queue (payments_core.domain.stores.DealQueue). `client` may be a factory: read-only
    functions never build an SQS client."""

    def __init__(self, client: SQSClient | Callable[[], SQSClient], queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    @property
    def _sqs(self) -> SQSClient:
        if callable(self._client) and not hasattr(self._client, "send_message"):
            self._client = self._client()
        return self._client  # type: ignore[return-value]

    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        """Send a message; it carries the correlation id in effect as its `correlation_id` attribute."""
        cid = correlation_id()
        attributes = {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": cid}} if cid else {}
        resp = self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(body, separators=(",", ":"), sort_keys=True),
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id,
            MessageAttributes=attributes,  # type: ignore[arg-type]
        )
        return resp["MessageId"]

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Back off: the message comes back after `seconds` instead of the queue's visibility timeout."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(seconds, 43200))
        )
