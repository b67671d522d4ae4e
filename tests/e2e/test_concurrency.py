"""Fifty concurrent creates of one (node_id, external_id) over HTTP: one wins, every other one is 409."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from payments_core.domain.entities import Node
from tests.e2e.helpers import Client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CALLERS = 50


def test_fifty_concurrent_creates_of_one_external_id(client: Client, fresh_node: Node) -> None:
    body = client.payment_body(node_id=fresh_node.id)
    headers = client.auth("root")
    start = threading.Barrier(CALLERS, timeout=30)

    def create(_: int) -> tuple[int, dict[str, Any]]:
        start.wait()
        r = client.http.post("/api/v1/payments", json=body, headers=headers)
        return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        results = list(pool.map(create, range(CALLERS), timeout=120))

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: CALLERS - 1}, statuses
    created_id = next(b["id"] for s, b in results if s == 201)
    conflicts = [b["error"] for s, b in results if s == 409]
    assert {e["code"] for e in conflicts} == {"payment_already_exists"}
    assert {e["payment_id"] for e in conflicts} == {created_id}

    listing = client.http.get("/api/v1/payments", params={"node_id": fresh_node.id}, headers=headers)
    assert listing.status_code == 200, listing.text
    assert listing.json()["total"] == 1
    assert [p["id"] for p in listing.json()["items"]] == [created_id]
    got = client.http.get(f"/api/v1/payments/{created_id}", headers=headers)
    assert got.status_code == 200
    assert got.json()["external_id"] == body["external_id"]
