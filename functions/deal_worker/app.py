"""DealQueue (FIFO, one group per signing key: its lane) -> createDeal or cancelDeal on the network's diamond,
by the message's `type`; a key's transactions are sent one after another, in the order they were queued."""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from payments_chain.workers import chain_deps, run_batch
from payments_core import deps
from payments_core.domain import chain_work
from payments_core.settings import get_settings


@handlers.function
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    work = chain_deps()
    return run_batch(
        event,
        context,
        queue=deps.deal_queue(),
        work=lambda message: chain_work.work_message(work, message),
        max_receives=get_settings().create_deal_max_receives,
        # Only a create ends in send-failed (mark_send_failed leaves a cancelling payment as it is).
        on_last_failure=lambda payment_id, reason: chain_work.mark_send_failed(work, payment_id, reason),
        dead_letters=deps.dead_letter_queue(get_settings().deal_dead_letter_queue_url),
        # The creates at the head of each lane in one createDeals transaction (decision 0045).
        together=lambda payment_ids: chain_work.create_deals_together(work, payment_ids),
    )
