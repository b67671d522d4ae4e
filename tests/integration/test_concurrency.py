"""Uniqueness of (node_id, external_id) is DynamoDB's, under real concurrency."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.integration.helpers import Api


def test_fifty_concurrent_creates_of_one_external_id(api: Api) -> None:
    token = api.token("root")
    body = api.payment_body(external_id="race-1")

    def create(_: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        r = api.call("POST", "/api/v1/payments", token=token, json_body=body)
        return r.status, r.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(create, range(50)))

    statuses = Counter(status for status, _ in results)
    unexpected = [(s, b) for s, b in results if s not in (201, 409)]
    assert not unexpected, unexpected[:3]
    assert statuses == {201: 1, 409: 49}
    created_id = next(b["id"] for s, b in results if s == 201)
    conflicts = [b for s, b in results if s == 409]
    assert all(b["error"]["code"] == "payment_already_exists" for b in conflicts)
    assert {b["error"]["payment_id"] for b in conflicts} == {created_id}

    listing = api.call("GET", "/api/v1/payments", token=token, query={"node_id": body["node_id"]}).json()
    assert listing["total"] == 1
    assert [p["id"] for p in listing["items"]] == [created_id]


def test_concurrent_creates_of_one_node_take_dense_unique_list_positions(api: Api) -> None:
    """Creates racing for a node's next list position: every one lands once, totals stay exact and
    every page of every listing holds each payment exactly once, newest (last committed) first."""
    token = api.token("root")
    wallet = api.demo["wallet_id"]
    n = 24

    def create(i: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        extra = {"wallet_id": wallet} if i % 2 else {}
        r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id=f"c-{i}", **extra))
        return r.status, r.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(n)))
    assert [s for s, _ in results] == [201] * n, [b for s, b in results if s != 201][:3]
    created = {b["id"] for _, b in results}
    with_wallet = {b["id"] for _, b in results if b.get("wallet_id") == wallet}

    def walk(per_page: int, **filters: str) -> tuple[list[str], set[int]]:
        seen: list[str] = []
        totals = set()
        for page in range(1, n // per_page + 3):
            q = {"node_id": api.demo["nodes"]["root"], "page": page, "per_page": per_page, **filters}
            body = api.call("GET", "/api/v1/payments", token=token, query=q).json()
            totals.add(body["total"])
            seen += [p["id"] for p in body["items"]]
        return seen, totals

    everything, totals = walk(7)
    assert totals == {n}
    assert len(everything) == n
    assert set(everything) == created
    filtered, totals = walk(3, wallet_id=wallet)
    assert totals == {len(with_wallet)}
    assert len(filtered) == len(with_wallet)
    assert set(filtered) == with_wallet
    # Both listings are in the same (commit) order.
    assert [p for p in everything if p in with_wallet] == filtered
