"""Uniqueness of (node_id, external_id) is DynamoDB's, under real concurrency."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import Api


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
