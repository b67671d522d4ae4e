"""Payment logs: one entry per meaningful change, derived from the payments table's stream.

Every change the domain writes carries `last_event` (type, message, actor, status before); the log
writer turns each stream record into one entry, keyed by the stream record's own id, so a
redelivered record is written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from payments_core import metrics
from payments_core.domain.access import Principal, ensure_reaches
from payments_core.domain.entities import LogEntry
from payments_core.domain.payments import PaymentDeps, read_payment
from payments_core.domain.stores import LogStore
from payments_core.models.payments import PaymentLog, PaymentLogList
from payments_core.observability import error_fields, logger, set_correlation_id
from payments_core.store.streams import payment_images


def entry_from_stream(record: dict[str, Any]) -> LogEntry | None:
    """The log entry of one stream record, or None when the record is not a meaningful change."""
    old, new = payment_images(record)
    if new is None or record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    if old is not None and old.version == new.version:
        return None  # not a versioned change of the payment (no domain event)
    happened = new.last_event
    event_id = str(record["eventID"])
    status_before = (happened.status_before if happened else None) or (old.status if old else None)
    return LogEntry(
        payment_id=new.id,
        sk=f"{new.updated_at}#{event_id}",
        id=event_id,
        event_type=(happened.type if happened else "") or ("created" if old is None else "status_changed"),
        message=(happened.message if happened else "") or f"Status {status_before} -> {new.status}",
        actor_type=(happened.actor_type if happened else "") or "system",
        actor_id=happened.actor_id if happened else None,
        status_before=status_before,
        status_after=new.status,
        created_at=new.updated_at,
        node_id=new.node_id,
        correlation_id=happened.correlation_id if happened else None,
    )


def write_log(logs: LogStore, record: dict[str, Any]) -> bool:
    """Write the entry of one stream record; False when there is none or it was written before.
    The record's log lines carry the correlation id of the change; a failure is counted and raised."""
    try:
        entry = entry_from_stream(record)
        set_correlation_id(entry.correlation_id if entry else None)
        written = logs.append(entry) if entry else False
    except Exception as exc:
        metrics.count("LogWriterFailures")
        # Retried (then the failure queue, docs/operations.md): why, by type and place, never a value.
        logger.warning("payment log entry not written", extra=error_fields(exc))
        raise
    metrics.count("LogEntriesWritten", int(written))
    return written


def list_logs(
    deps: PaymentDeps, logs: LogStore, principal: Principal, payment_id: str, *, page: int, per_page: int
) -> PaymentLogList:
    payment = read_payment(deps, payment_id, app_payments=True)
    ensure_reaches(principal, payment.node_path, what="payment's node")
    total = logs.count(payment.id)
    offset = (page - 1) * per_page
    entries = logs.page(payment.id, offset, per_page) if offset < total else []
    return PaymentLogList(items=[to_log(e) for e in entries], page=page, per_page=per_page, total=total)


def to_log(entry: LogEntry) -> PaymentLog:
    """The API's view of a log entry (the correlation id and the sort key stay inside)."""
    return PaymentLog(
        id=entry.id,
        payment_id=UUID(entry.payment_id),
        event_type=entry.event_type,
        message=entry.message,
        actor_type=entry.actor_type,
        actor_id=entry.actor_id,
        status_before=entry.status_before,
        status_after=entry.status_after,
        created_at=datetime.fromisoformat(entry.created_at),
    )
