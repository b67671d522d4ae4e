"""CancelDealQueue (FIFO, a group per signing wallet) -> cancelDeal, then cancelled / refunded / expired."""

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
        queue=deps.cancel_queue(),
        work=lambda payment_id: chain_work.cancel_deal(work, payment_id),
        max_receives=get_settings().create_deal_max_receives,
        dead_letters=deps.dead_letter_queue(get_settings().cancel_deal_dead_letter_queue_url),
    )
