"""DynamoDB stream records, decoded into plain values (numbers as Decimal)."""

from __future__ import annotations

from typing import Any

from payments_core.domain.entities import Payment
from payments_core.store.codec import from_item, payment_from


def payment_images(record: dict[str, Any]) -> tuple[Payment | None, Payment | None]:
    """The (old, new) payments of a payments-table stream record from a Lambda DynamoDB stream event."""
    data = record.get("dynamodb", {})
    old, new = data.get("OldImage"), data.get("NewImage")
    return (payment_from(from_item(old)) if old else None, payment_from(from_item(new)) if new else None)
