"""What the chain-worker functions (and the chain watcher) share: their dependencies (built on first
use, cached per container) and the SQS batch loop with backoff and the last-attempt hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from payments_chain.client import DiamondClient, web3_for
from payments_core import deps
from payments_core.domain.chain_work import ChainDeps, ChainError
from payments_core.domain.entities import Network
from payments_core.domain.stores import DealQueue
from payments_core.domain.watcher import WatcherDeps
from payments_core.observability import CORRELATION_ATTRIBUTE, error_fields, logger, set_correlation_id
from payments_core.settings import get_settings
from payments_core.store import aws
from payments_core.store.cursors import DynamoCursorStore
from payments_core.store.wallet_keys import WalletKeyStore

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 300


def diamond_for(network: Network) -> DiamondClient:
    """A network's diamond: what the workers sign with (`Chain`) and what the watcher reads (`WatchedChain`).
    Its RPC URL comes from Secrets Manager (`deps.rpc_urls`), never from the catalog."""
    if not network.diamond_address:
        raise ChainError(f"network {network.id} has no diamond")  # retried: an operator may set it
    return DiamondClient(web3_for(deps.rpc_urls().get(network.id)), network.diamond_address)


@cache
def chain_deps() -> ChainDeps:
    return ChainDeps(
        payments=deps.payment_store(),
        catalog=deps.catalog(),
        wallet_keys=WalletKeyStore(aws.secretsmanager(), get_settings().wallet_secret_prefix),
        chain_for=diamond_for,
        worker="chain-worker",
    )


@cache
def watcher_deps() -> WatcherDeps:
    return WatcherDeps(
        payments=deps.payment_store(),
        catalog=deps.catalog(),
        cursors=DynamoCursorStore(aws.dynamodb(), get_settings().payment_index_table),
        deal_queue=deps.deal_queue(),
        chain_for=diamond_for,
        worker="chain-watcher",
    )


def backoff_seconds(receive_count: int) -> int:
    return int(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1)))


def run_batch(
    event: dict[str, Any],
    context: Any,
    *,
    queue: DealQueue,
    work: Callable[[dict[str, Any]], str],
    max_receives: int,
    on_last_failure: Callable[[str, str], Any] | None = None,
) -> PartialItemFailureResponse:
    """Process a FIFO batch: a failed message fails the rest of its group (order kept) but not the
    other groups; a failed message comes back with exponential backoff; on its last allowed delivery
    `on_last_failure` runs before it goes to the dead-letter queue. `work` takes each message's body."""

    delayed: set[str] = set()

    def handle(record: SQSRecord) -> None:
        delayed.add(record.message_id)
        # The request that caused the message: this record's log lines and the changes it writes carry it.
        set_correlation_id(message_correlation_id(record.raw_event))
        message = json.loads(record.body)
        payment_id = str(message["payment_id"])
        try:
            outcome = work(message)
        except Exception as exc:
            receives = int(record.attributes.approximate_receive_count or 1)
            logger.warning(
                "chain work failed",
                extra={"payment_id": payment_id, "receives": receives, **error_fields(exc)},
            )
            if receives >= max_receives:
                if on_last_failure is not None:
                    on_last_failure(payment_id, type(exc).__name__)
                queue.delay(record.receipt_handle, 0)  # straight on to the dead-letter queue
            else:
                queue.delay(record.receipt_handle, backoff_seconds(receives))
            raise
        logger.info("chain work done", extra={"payment_id": payment_id, "outcome": outcome})

    set_correlation_id(None)

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose messages all failed is answered like any other (every one listed), not raised:
    # the skipped ones below must still be released, and the answer tells the mapping the same thing.
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    # The messages the processor skipped (behind a failed one of their group) were never handled: let them
    # come back at once instead of after the queue's visibility timeout. FIFO order still holds: SQS does
    # not deliver them while the failed message before them is in flight.
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    for record in event.get("Records", []):
        if record["messageId"] in failed and record["messageId"] not in delayed:
            queue.delay(record["receiptHandle"], 0)
    set_correlation_id(None)
    return response


def message_correlation_id(record: dict[str, Any]) -> str | None:
    """The `correlation_id` message attribute of an SQS record (store.queues.DealQueue.send sets it)."""
    attribute = (record.get("messageAttributes") or {}).get(CORRELATION_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    return str(value) if value else None
