"""What the chain-worker functions (and the chain watcher) share: their dependencies (built on first
use, cached per container) and the SQS batch loop with backoff and the last-attempt hook."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from payments_chain.client import DiamondClient, receipt_deadline, web3_for
from payments_core import deps
from payments_core.domain.chain_work import ChainDeps, ChainError, ChainFailure, ChainMessage, parse_message
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
# A record is not started with less than this left of the function's time, and receipt waits end this long
# before the deadline: the batch answers (the unstarted records as failures, released at once) while the
# function still runs. One RPC call's timeout (10 s, client.web3_for) plus the writes and releases.
DEADLINE_MARGIN_MS = 20_000


class OutOfTime(Exception):
    """A record left unstarted: too little of the function's time was left (DEADLINE_MARGIN_MS)."""


def diamond_for(network: Network) -> DiamondClient:
    """A network's diamond: what the workers sign with (`Chain`) and what the watcher reads (`WatchedChain`).
    Its RPC URL comes from Secrets Manager (`deps.rpc_urls`), never from the catalog."""
    if not network.diamond_address:
        # Terminal for the payment (send-failed at once); retry-send once an operator has set it.
        raise ChainError(f"network {network.id} has no diamond", reason=ChainFailure.NO_DIAMOND)
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
    work: Callable[[ChainMessage], str],
    max_receives: int,
    on_last_failure: Callable[[str, str], Any] | None = None,
    dead_letters: DealQueue | None = None,
    together: Callable[[list[str]], dict[str, str]] | None = None,
) -> PartialItemFailureResponse:
    """Process a FIFO batch: a failed message fails the rest of its group (order kept) but not the
    other groups; a failed message comes back with exponential backoff; on its last allowed delivery
    `on_last_failure` runs before it goes to the dead-letter queue. `work` takes each message (parsed by
    chain_work.parse_message); one that cannot be parsed goes to `dead_letters` at once (it never holds its
    group); a terminal failure is `work`'s to record, not raised. The batch ends before the function does:
    records left unstarted DEADLINE_MARGIN_MS before the deadline are answered as failures and released at
    once (decision 0041). `together`, when given, first takes the create messages at the head of each group
    (before the group's first other message) at once (createDeals, decision 0045) and answers the payments it
    finished; those messages are then done, the others worked one by one, in order."""

    delayed: set[str] = set()
    deadline = _deadline(context)
    finished: dict[str, str] = {}  # payment id -> outcome, of the create messages worked together

    def handle(record: SQSRecord) -> None:
        # The request that caused the message: this record's log lines and the changes it writes carry it.
        set_correlation_id(message_correlation_id(record.raw_event))
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime  # released at once below, not delayed: it was never tried
        delayed.add(record.message_id)
        message = parse_message(record.body)
        payment_id = message.payment_id if message is not None else None
        try:
            if message is None:
                dead_letter(record)
                return
            outcome = finished.get(message.payment_id) if message.kind == "create_deal" else None
            outcome = outcome or work(message)
        except Exception as exc:
            receives = int(record.attributes.approximate_receive_count or 1)
            logger.warning(
                "chain work failed",
                extra={"payment_id": payment_id, "receives": receives, **error_fields(exc)},
            )
            if receives >= max_receives:
                if on_last_failure is not None and payment_id:
                    on_last_failure(payment_id, failure_text(exc))
                # back at once: its next delivery finds it ended (or the dead-letter queue takes it)
                queue.delay(record.receipt_handle, 0)
            else:
                queue.delay(record.receipt_handle, backoff_seconds(receives))
            raise
        logger.info("chain work done", extra={"payment_id": payment_id, "outcome": outcome})

    def dead_letter(record: SQSRecord) -> None:
        """A malformed message: kept in the dead-letter queue (alarmed) and acknowledged here."""
        logger.error("malformed chain-work message", extra={"message_id": record.message_id})
        if dead_letters is None:
            raise ValueError("malformed message")  # without a dead-letter queue: the redrive takes it
        dead_letters.send(
            {"malformed": True, "message_id": record.message_id, "body": record.body[:10_000]},
            group=record.attributes.message_group_id or "malformed",
            dedup_id=record.message_id,
        )

    set_correlation_id(None)

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose messages all failed is answered like any other (every one listed), not raised:
    # the skipped ones below must still be released, and the answer tells the mapping the same thing.
    processor.raise_on_entire_batch_failure = False
    with receipt_deadline(deadline):
        if together is not None:
            finished.update(_work_together(event, together))
        response = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    # The messages the processor skipped (behind a failed one of their group) were never handled, and those left
    # unstarted for the deadline: let them come back at once instead of after the queue's visibility timeout.
    # FIFO order still holds: SQS does not deliver them while the failed message before them is in flight.
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    for record in event.get("Records", []):
        if record["messageId"] in failed and record["messageId"] not in delayed:
            queue.delay(record["receiptHandle"], 0)
    set_correlation_id(None)
    return response


def _work_together(event: dict[str, Any], together: Callable[[list[str]], dict[str, str]]) -> dict[str, str]:
    """The create messages at the head of each FIFO group of the batch, worked at once (see run_batch)."""
    heads: list[str] = []
    stopped: set[str] = set()  # groups whose head run of create messages has ended
    for record in event.get("Records", []):
        group = str((record.get("attributes") or {}).get("MessageGroupId") or "")
        message = parse_message(str(record.get("body") or ""))
        if group in stopped or message is None or message.kind != "create_deal":
            stopped.add(group)
            continue
        heads.append(message.payment_id)
    if len(heads) < 2:
        return {}  # one message: the per-message path is the same transaction
    try:
        return together(heads)
    except Exception as exc:  # noqa: BLE001 - an optimisation: every message is still worked one by one
        logger.warning("chain work together failed", extra=error_fields(exc))
        return {}


def _deadline(context: Any) -> float | None:
    """The monotonic time DEADLINE_MARGIN_MS before the function's end (None without a Lambda context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return time.monotonic() + (int(remaining()) - DEADLINE_MARGIN_MS) / 1000


def failure_text(exc: Exception) -> str:
    """What the payment shows of its last failure: a chain error's (redacted) message, else only its class."""
    return f"{exc.reason or 'chain_error'}: {exc}" if isinstance(exc, ChainError) else type(exc).__name__


def message_correlation_id(record: dict[str, Any]) -> str | None:
    """The `correlation_id` message attribute of an SQS record (store.queues.DealQueue.send sets it)."""
    attribute = (record.get("messageAttributes") or {}).get(CORRELATION_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    return str(value) if value else None
