"""Payment logs: one entry per meaningful change, derived from the payments table's stream.

Every change the domain writes carries `last_event` (type, message, actor, status before); the log
writer turns each stream record into one entry, keyed by the stream record's own id, so a
redelivered record is written once.
"""

from __future__ import annotations

from typing import Any

from payments_core import metrics
from payments_core.domain.access import Principal, ensure_reaches
from payments_core.domain.payments import PaymentDeps, get_record
from payments_core.domain.stores import LogStore
from payments_core.models.payments import PaymentLog, PaymentLogList
from payments_core.observability import correlation_of, error_fields, logger, set_correlation_id
from payments_core.store.streams import images


def entry_from_stream(record: dict[str, Any]) -> dict[str, Any] | None:
    """The log entry of one stream record, or None when the record is not a meaningful change."""
    old, new = images(record)
    if new is None or record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    if old is not None and old.get("version") == new.get("version"):
        return None  # not a versioned change of the payment (no domain event)
    happened = dict(new.get("last_event") or {})
    event_id = str(record["eventID"])
    status_before = happened.get("status_before") or (old or {}).get("status")
    return {
        "payment_id": new["id"],
        "sk": f"{new['updated_at']}#{event_id}",
        "id": event_id,
        "event_type": happened.get("type") or ("created" if old is None else "status_changed"),
        "message": happened.get("message") or f"Status {status_before} -> {new['status']}",
        "actor_type": happened.get("actor_type") or "system",
        "actor_id": happened.get("actor_id"),
        "status_before": status_before,
        "status_after": new["status"],
        "created_at": new["updated_at"],
        "node_id": new.get("node_id"),
        "correlation_id": correlation_of(happened),  # kept with the entry, not part of the API's answer
    }


def write_log(logs: LogStore, record: dict[str, Any]) -> bool:
    """Write the entry of one stream record; False when there is none or it was written before.
    The record's log lines carry the correlation id of the change; a failure is counted and raised."""
    try:
        entry = entry_from_stream(record)
        set_correlation_id(entry["correlation_id"] if entry else None)
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
    record = get_record(deps, payment_id)
    ensure_reaches(principal, record["node_path"], what="payment's node")
    total = logs.count(record["id"])
    offset = (page - 1) * per_page
    entries = logs.page(record["id"], offset, per_page) if offset < total else []
    fields = PaymentLog.model_fields
    items = [PaymentLog.model_validate({k: v for k, v in e.items() if k in fields}) for e in entries]
    return PaymentLogList(items=items, page=page, per_page=per_page, total=total)
