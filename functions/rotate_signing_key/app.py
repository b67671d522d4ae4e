"""Secrets Manager rotation function for the integrator token signing key."""

from payments_core import handlers  # isort: skip - first: the collector is paused while the rest loads

from typing import Any

from payments_core import deps
from payments_core.domain import keys
from payments_core.models.common import utcnow
from payments_core.observability import logger
from payments_core.settings import get_settings


@handlers.function
def handler(event: dict[str, Any], context: Any) -> None:
    logger.info("rotation step", extra={"step": event["Step"]})
    keys.rotation_step(
        deps.signing_key_store(),
        event["ClientRequestToken"],
        event["Step"],
        now=utcnow(),
        token_ttl_seconds=get_settings().token_ttl_seconds,
    )
