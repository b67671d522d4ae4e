"""What the integration and end-to-end tests share."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payments_core.domain.entities import Payment
    from payments_core.domain.stores import PaymentStore

SPEC_FILE = Path(__file__).resolve().parents[1] / "openapi.json"


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


@cache
def _spec_registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = json.loads(SPEC_FILE.read_text())
    return Registry().with_resource("urn:openapi", Resource.from_contents(spec, default_specification=DRAFT202012))


def spec_errors(value: Any, schema: dict[str, Any] | str) -> list[str]:
    """Where `value` breaks a schema of the committed openapi.json (formats checked too): a component's name
    (`"ErrorResponse"`) or a schema object of the spec (its `$ref`s resolve in the spec); [] when it conforms."""
    from jsonschema import Draft202012Validator

    if isinstance(schema, str):
        schema = {"$ref": f"urn:openapi#/components/schemas/{schema}"}
    else:
        schema = json.loads(json.dumps(schema).replace('"$ref": "#/', '"$ref": "urn:openapi#/'))
    validator = Draft202012Validator(
        schema, registry=_spec_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]


def point_demo_catalog(
    catalog: Any, demo: dict[str, Any], *, diamond: str, token: str, platform: str, confirmations: int | None = None
) -> None:
    """The demo network, currency and platform wallet pointed at a deployed diamond, token and signer."""
    from payments_core.domain.entities import Currency, Network, Wallet

    network = catalog.get(Network, demo["network_id"])
    currency = catalog.get(Currency, demo["currency_id"])
    wallet = catalog.get(Wallet, demo["wallet_id"])
    assert network is not None, "the demo catalog is seeded"
    assert currency is not None
    assert wallet is not None
    network = network._replace(diamond_address=diamond)
    if confirmations is not None:
        network = network._replace(required_confirmations=confirmations)
    catalog.put(network)
    catalog.put(currency._replace(tokens={demo["network_id"]: token}))
    catalog.put(wallet._replace(address=platform))


def stored(store: PaymentStore, payment_id: str) -> Payment:
    """The payment as the store has it now (it must exist)."""
    found = store.get(payment_id)
    assert found is not None, f"payment {payment_id} not found"
    return found


def a_payment(**fields: Any) -> Payment:
    """A payment as the store would hold it, from stored attribute values (`fields` override the defaults:
    a pending card payment of a fresh node, expiring in a day)."""
    from payments_core.store.codec import payment_from

    payment_id = fields.get("id") or str(uuid.uuid4())
    node_id = fields.get("node_id") or str(uuid.uuid4())
    now = datetime.now(UTC)
    defaults: dict[str, Any] = {
        "id": payment_id,
        "external_id": f"order-{payment_id[:8]}",
        "node_id": node_id,
        "node_path": [node_id],
        "network_id": str(uuid.uuid4()),
        "currency_id": str(uuid.uuid4()),
        "currency_symbol": "USDT",
        "currency_decimals": 6,
        "price": Decimal(10),
        "paid_price": Decimal(10),
        "payment_method": "credit_card",
        "payment_group": "product",
        "payment_address": "0x" + "7" * 40,
        "expires_at": _iso(now + timedelta(days=1)),
        "access_token": "pwt_x",
        "status": "pending",
        "version": 1,
        "created_at": _iso(now),
        "updated_at": _iso(now),
    }
    return payment_from({**defaults, **fields})


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")
