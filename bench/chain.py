"""Issue 4's throughput benchmark, on the local stack with anvil, the chain workers and the watcher:
200 web3 payments created at once -> seconds until every deal exists (deals per second), and each
payment's create-to-deal time (p50, p95), read from its own log (`created` -> `deal_created`)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from bench.report import Result, percentile

PAYMENTS = 200
DEADLINE_S = 600
CREATE_ATTEMPTS = 5


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def run(count: int = PAYMENTS) -> list[Result]:
    from devstack.launch import local_stack

    with TemporaryDirectory() as tmp, local_stack(Path(tmp), chain=True) as stack:
        demo = stack.demo
        with httpx.Client(base_url=stack.api_url, timeout=60) as http:
            token = http.post("/api/v1/auth/token", json=demo["integrations"]["root"]).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
            base = {
                "node_id": demo["nodes"]["root"], "network_id": demo["network_id"], "currency_id": demo["currency_id"],
                "wallet_id": demo["wallet_id"], "price": 10, "paid_price": 10, "payment_method": "web3",
                "payment_group": "product", "payment_address": demo["payer_address"], "expires_at": expires,
            }  # fmt: skip

            retried: list[int] = []

            def create(i: int) -> str:
                # One node's creates take its list positions one after another: a burst may be answered
                # 503 `create_contended` ("try again"), and an integrator tries again, as this does.
                for attempt in range(CREATE_ATTEMPTS):
                    r = http.post("/api/v1/payments", json={**base, "external_id": f"tput-{i}"}, headers=headers)
                    if r.status_code != 503 or r.json()["error"]["code"] != "create_contended":
                        break
                    retried.append(i)
                    time.sleep(0.5 * (attempt + 1))
                r.raise_for_status()
                return str(r.json()["id"])

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                ids = list(pool.map(create, range(count)))
            created_s = time.perf_counter() - started
            pending = set(ids)
            while pending and time.perf_counter() - started < DEADLINE_S:
                for pid in list(pending):
                    if http.get(f"/api/v1/payments/{pid}", headers=headers).json().get("deal_id") is not None:
                        pending.discard(pid)
                if pending:
                    time.sleep(0.5)
            all_deals_s = time.perf_counter() - started
            if pending:
                raise TimeoutError(f"{len(pending)} of {count} payments had no deal after {DEADLINE_S} s")

            def create_to_deal(pid: str) -> float:
                entries: list[dict[str, Any]] = http.get(
                    f"/api/v1/payments/{pid}/logs", params={"per_page": 100}, headers=headers
                ).json()["items"]
                by_type = {e["event_type"]: e["created_at"] for e in entries}
                return (_ts(by_type["deal_created"]) - _ts(by_type["created"])) * 1000

            with ThreadPoolExecutor(max_workers=8) as pool:
                latencies = list(pool.map(create_to_deal, ids))
    note = (
        f"{count} payments, one signing wallet (one FIFO group: its nonces in order); created in {created_s:.1f} s"
        f" by 8 clients ({len(retried)} creates answered 503 create_contended and sent again)"
    )
    return [
        Result("chain", f"{count} web3 payments: seconds until every deal exists", all_deals_s, "s", note=note),
        Result("chain", "deals per second", count / all_deals_s, "deals/s", note=note),
        Result("chain", "create -> deal, p50", percentile(latencies, 50), "ms", note="from each payment's own log"),
        Result("chain", "create -> deal, p95", percentile(latencies, 95), "ms", note="from each payment's own log"),
    ]
