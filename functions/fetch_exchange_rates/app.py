"""Every hour (EventBridge schedule): the ECB's daily euro reference rates -> `rate#ecb:eur:<currency>` entries.

Each rate is written only when it is newer than the stored one (the same document fetched again writes
nothing); a document that is not the ECB's fails the run whole (nothing written, the errors alarm fires, the
next run tries again; a document older than EXCHANGE_RATE_MAX_AGE_SECONDS is written, then fails the run).
With no feed configured (EXCHANGE_RATES_URL empty: the local stack) it answers `{"configured": false}` without
a network call. See payments_core/domain/rates.py.
"""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from datetime import UTC, datetime, timedelta
from typing import Any

from payments_core import deps
from payments_core.domain import rates
from payments_core.settings import get_settings


@handlers.function
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    feed = deps.rate_feed()
    max_age = timedelta(seconds=get_settings().exchange_rate_max_age_seconds)
    return rates.fetch_ecb_rates(feed, deps.rate_store(), now=datetime.now(UTC), max_age=max_age)._asdict()
