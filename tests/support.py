"""What the integration and end-to-end tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def payment_body(demo: dict[str, Any], external_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid web3 create-payment body on the demo catalog (root node, USDT), expiring in an hour;
    an override of None drops the field."""
    body: dict[str, Any] = {
        "external_id": external_id,
        "node_id": demo["nodes"]["root"],
        "network_id": demo["network_id"],
        "currency_id": demo["currency_id"],
        "price": 100.5,
        "paid_price": 100.5,
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
