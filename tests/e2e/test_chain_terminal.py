"""A payment whose deal can never be created, on the local stack's chain (anvil), over HTTP (issue 11 §2): it ends
`send-failed` at once with its reason, and the payments behind it in its lane get their deals without delay.

The poison passes the API and fails on chain: its currency's token on the demo network is an account without code
(an operator's catalog mistake the API cannot see: it never reaches the chain), so createDeal reverts with the
contract's InvalidToken. The six payments sign through a wallet of the test's own, owned by the demo platform
wallet (whose key signs): one FIFO lane, shared with no other test."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from payments_core.domain import catalog as admin
from payments_core.domain.entities import Wallet
from payments_core.store.catalog import DynamoCatalogStore
from tests.e2e.helpers import Client, get_payment, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2
NO_CONTRACT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil account 3: no code
DEADLINE = 10.0  # seconds from the last create's answer until all five good payments have their deals


def _lane(client: Client, catalog: DynamoCatalogStore) -> str:
    owner = catalog.get(Wallet, client.demo["wallet_id"])
    assert owner is not None
    wallet = admin.create_wallet(
        catalog, node_id=client.demo["nodes"]["root"], network_id=client.demo["network_id"], address=owner.address,
        owner_wallet_id=owner.id, name=f"e2e terminal {uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    return wallet.id


def _create(client: Client, **overrides: Any) -> str:
    r = client.create(payment_address=PAYEE, price=2.5, paid_price=2.5, **overrides)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_poison_payment_is_send_failed_at_once_and_the_five_behind_it_get_deals_within_10s(
    client: Client, catalog: DynamoCatalogStore, chain_w3: Any
) -> None:
    wallet_id = _lane(client, catalog)
    bad = admin.create_currency(catalog, symbol="USDB", decimals=6, tokens={client.demo["network_id"]: NO_CONTRACT})
    poison = _create(client, wallet_id=wallet_id, currency_id=bad.id)
    good = [_create(client, wallet_id=wallet_id) for _ in range(5)]
    answered = time.monotonic()

    deadline = answered + DEADLINE
    while True:
        payments = [get_payment(client, i) for i in good]
        if all(p["status"] == "open" for p in payments) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    took = time.monotonic() - answered
    assert [p["status"] for p in payments] == ["open"] * 5, f"after {took:.1f}s: {[p['status'] for p in payments]}"
    assert len({p["deal_id"] for p in payments}) == 5

    failed = wait_for_status(client, poison, "send-failed", timeout=5.0)
    assert failed["send_failed_reason"]["code"] == "token_refused"
    assert failed["deal_id"] is None
    r = client.http.get(f"/api/v1/payments/{poison}/logs", params={"per_page": 100}, headers=client.auth())
    types = [e["event_type"] for e in reversed(r.json()["items"])]
    assert types == ["created", "deal_sending", "send_failed"], types  # one attempt, no retry
