"""DynamoDB stream records, decoded into plain values (numbers as Decimal)."""

from __future__ import annotations

from typing import Any

from payments_core.store.codec import from_item


def images(record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The (old, new) images of a stream record from a Lambda DynamoDB stream event."""
    data = record.get("dynamodb", {})
    old, new = data.get("OldImage"), data.get("NewImage")
    return (from_item(old) if old else None, from_item(new) if new else None)
