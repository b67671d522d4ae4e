"""Every minute (EventBridge schedule): the chain watcher, for each network with a diamond.

Deposits -> paid, confirmations -> confirmed, reorgs -> open again, expiry -> cancelDeal; see
payments_core/domain/watcher.py. One network's RPC failure is reported and never stops the others; the next
tick is its retry.
"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_chain.workers import watcher_deps
from payments_core.domain import watcher
from payments_core.models.common import utcnow


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The invocation's remaining time is the budget the networks share (none given: the default).
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return watcher.watch_all(watcher_deps(), utcnow(), seconds=remaining() / 1000 if remaining else None)
