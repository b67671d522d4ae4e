"""Issue 11 §5's throughput benchmark, on the local stack with anvil (a block a second, and a transaction waits
for it: `strict_blocks`), a signing pool of POOL keys
and the deal worker (decision 0046):

- live: the workers consuming (after a warm-up of WARM_UP payments), PAYMENTS web3 payments naming no wallet
  (spread over the POOL + 1 lanes) created by 8 clients -> seconds from the LAST create's answer until every deal
  exists (its DealCreated event read from anvil; the bench then also waits until the worker has recorded each
  one) (target <= 4 s), each payment's create -> deal time (p50, p95; target p95 <= 3 s) read from its own log
  (`created` -> `deal_created`);
- backlog: PAYMENTS more created with the workers stopped, then the workers started -> PAYMENTS / seconds until
  every deal exists (deals per second, target >= 50);
- how many createDeals transactions carried how many deals (DealCreated events grouped by transaction), and that
  every payment has exactly one deal (each ref once on chain);
- faults (issue 11 §5's fault figure): PAYMENTS more queued with the demo network's RPC URL pointed at an RPC fault
  proxy in front of anvil (devstack.rpc_faults: FAULT_RATE of the calls fail, seeded), the deal worker started in a
  process of its own (devstack.deal_worker), SIGKILLed once the proxy has forwarded KILL_AFTER_SENDS of its
  transactions (its batches in flight: createDeals sent, nothing recorded), a fresh worker process started ->
  exactly one deal per payment (each ref once on chain, else it raises), seconds from the kill until every deal
  exists (the killed batches come back after DealQueue's VisibilityTimeout), how many RPC calls failed.

The deal worker runs in this process (`local_stack(..., workers=False)`: the stack does not poll DealQueue) with
the local stack's own poller code: PollerThreads over DealQueue, as many threads as the template's
`ScalingConfig: MaximumConcurrency`, the deal worker invoked in a container per concurrent batch (devstack.lambdas),
with the stack's environment. So the backlog is a queue nobody consumes until the bench starts its pollers. The
fault phase's workers are child processes (the same pollers, `python -m devstack.deal_worker`) so that one can be
killed.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import httpx

from bench.report import Result, percentile

if TYPE_CHECKING:
    from devstack.launch import LocalStackInfo
    from devstack.pollers import PollerThreads

PAYMENTS = 200
POOL = 8  # anvil accounts 2..9: with the platform wallet, 9 lanes
DEADLINE_S = 300
CREATE_ATTEMPTS = 5
CLIENTS = 8
WARM_UP = 5 * CLIENTS  # payments created (and their deals waited for) before the live phase: see run()
LOG_WAIT_S = 30
WAIT_POLL_S = 0.1
RECORDED_POLL_S = 0.5
ALL_DEALS_TARGET_S = 4.0
P95_TARGET_MS = 3000.0
DEALS_PER_S_TARGET = 50.0
DEAL_CREATED = "DealCreated(uint256,bytes32,address,address,address,uint256,uint64)"
FAULT_RATE = 0.05  # of the RPC calls through the proxy, failed (connection closed, no answer)
FAULT_SEED = 11
KILL_AFTER_SENDS = 3  # raw transactions the proxy forwarded before the worker is killed
SENDS_WAIT_S = 60
RETRY_CHECK_S = 5.0  # the fault phase: how often send-failed payments are looked for (and retry-sent)
FAULT_DEADLINE_S = 900  # the fault phase: the killed batches' VisibilityTimeout (180 s), then the backoffs (599 s seen)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _target(name: str, value: float, unit: str, target: float, note: str, *, higher: bool = False) -> Result:
    """A figure with a target: PASS when value <= target (or >= with `higher`), as report.Result rates ratios."""
    if higher:  # the ratio target/value <= 1
        return Result("chain", name, value, unit, baseline=None, note=note, paired_ratio=target / value, target=1.0)
    return Result("chain", name, value, unit, baseline=target, target=1.0, note=note)


class _Run:
    def __init__(self, stack: LocalStackInfo, http: httpx.Client) -> None:
        import boto3

        self.stack, self.http = stack, http
        demo = stack.demo
        token = http.post("/api/v1/auth/token", json=demo["integrations"]["root"]).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
        self.base = {
            "node_id": demo["nodes"]["root"], "network_id": demo["network_id"], "currency_id": demo["currency_id"],
            "price": 10, "paid_price": 10, "payment_method": "web3", "payment_group": "product",
            "payment_address": demo["payer_address"], "expires_at": expires,
        }  # fmt: skip  # no wallet_id: the payment's signer is one of the network's platform signers
        self.retried = 0
        self.retry_sent = 0
        self.db = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="us-east-1")
        self.table = stack.environment["PAYMENTS_TABLE"]
        self.from_block = _block(stack)

    def create(self, tag: str, count: int) -> tuple[list[str], float, float]:
        """`count` payments by CLIENTS clients: their ids, the first create's start and the last one's answer."""

        def one(i: int) -> str:
            # A burst of one node's creates may be answered 503 `create_contended` ("try again"): tried again.
            for attempt in range(CREATE_ATTEMPTS):
                r = self.http.post(
                    "/api/v1/payments", json={**self.base, "external_id": f"{tag}-{i}"}, headers=self.headers
                )
                if r.status_code != 503 or r.json()["error"]["code"] != "create_contended":
                    break
                self.retried += 1
                time.sleep(0.5 * (attempt + 1))
            r.raise_for_status()
            return str(r.json()["id"])

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            ids = list(pool.map(one, range(count)))
        return ids, started, time.perf_counter()

    def wait_deals(
        self,
        ids: list[str],
        every: tuple[float, Callable[[set[str]], None]] | None = None,
        deadline_s: float = DEADLINE_S,
    ) -> dict[str, float]:
        """When each payment's deal was first seen on chain (perf_counter): its DealCreated event, from anvil's
        logs every WAIT_POLL_S (the moto server, whose CPU the workers need, is not polled meanwhile); then,
        untimed, until the worker has recorded every one of them in PaymentsTable (both within `deadline_s`).
        `every`: (seconds, check): the check is called that often with the ids still without a deal on chain,
        then with those whose deal is not recorded yet."""
        from payments_core.domain.payments import deal_ref

        ref_of = {deal_ref(pid): pid for pid in ids}
        seen: dict[str, float] = {}
        deadline = time.perf_counter() + deadline_s
        scanned = self.from_block
        checked = time.perf_counter()
        while len(seen) < len(ids) and time.perf_counter() < deadline:
            if every is not None and time.perf_counter() - checked >= every[0]:
                every[1]({pid for pid in ids if pid not in seen})
                checked = time.perf_counter()
            head = _block(self.stack)
            if head >= scanned:
                refs, _ = deals_on_chain(self.stack, scanned, head)
                now = time.perf_counter()
                for ref in refs:
                    if ref in ref_of:
                        seen.setdefault(ref_of[ref], now)
                scanned = head + 1
            if len(seen) < len(ids):
                time.sleep(WAIT_POLL_S)
        if len(seen) < len(ids):
            raise TimeoutError(f"{len(ids) - len(seen)} of {len(ids)} payments had no deal after {deadline_s:.0f} s")
        self._wait_recorded(ids, deadline, every)
        return seen

    def _wait_recorded(
        self, ids: list[str], deadline: float, every: tuple[float, Callable[[set[str]], None]] | None = None
    ) -> None:
        started = checked = time.perf_counter()
        recorded: set[str] = set()
        while len(recorded) < len(ids) and time.perf_counter() < deadline:
            if every is not None and time.perf_counter() - checked >= every[0]:
                every[1]({pid for pid in ids if pid not in recorded})  # e.g. send-failed with its deal on chain
                checked = time.perf_counter()
            pending = [pid for pid in ids if pid not in recorded]
            recorded.update(
                pid for pid, item in self.items(pending).items() if "NULL" not in item.get("deal_id", {"NULL": True})
            )
            if len(recorded) < len(ids):
                time.sleep(RECORDED_POLL_S)
        if len(recorded) < len(ids):
            waited = time.perf_counter() - started
            raise TimeoutError(
                f"{len(ids) - len(recorded)} of {len(ids)} deals on chain not recorded in {waited:.0f} s"
            )

    def items(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The payments' id, status and deal_id as stored (DynamoDB's attribute values), by id."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 100):
            keys = [{"id": {"S": pid}} for pid in ids[start : start + 100]]
            projection = {"ProjectionExpression": "id, deal_id, #s", "ExpressionAttributeNames": {"#s": "status"}}
            request: dict[str, Any] = {self.table: {"Keys": keys, **projection}}
            while request:
                resp = self.db.batch_get_item(RequestItems=request)
                found.update({item["id"]["S"]: item for item in resp["Responses"].get(self.table, [])})
                request = resp.get("UnprocessedKeys") or {}
        return found

    def statuses(self, ids: list[str]) -> Counter[str]:
        return Counter(item["status"]["S"] for item in self.items(ids).values())

    def retry_send_failed(self, ids: set[str]) -> None:
        """retry-send (as the integrator would) each of `ids` the worker gave up on (`send-failed`)."""
        for pid, item in self.items(sorted(ids)).items():
            if item["status"]["S"] == "send-failed":
                self.http.post(f"/api/v1/payments/{pid}/retry-send", headers=self.headers).raise_for_status()
                self.retry_sent += 1

    def create_to_deal_ms(self, ids: list[str]) -> list[float]:
        def one(pid: str) -> float:
            deadline = time.perf_counter() + LOG_WAIT_S  # the log writer (a stream poller) may be a moment behind
            while True:
                entries: list[dict[str, Any]] = self.http.get(
                    f"/api/v1/payments/{pid}/logs", params={"per_page": 100}, headers=self.headers
                ).json()["items"]
                by_type = {e["event_type"]: e["created_at"] for e in entries}
                if "deal_created" in by_type or time.perf_counter() > deadline:
                    return (_ts(by_type["deal_created"]) - _ts(by_type["created"])) * 1000
                time.sleep(0.5)

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            return list(pool.map(one, ids))


def deal_workers(stack: LocalStackInfo) -> PollerThreads:
    """DealQueue's pollers in this process, as the local stack runs them (concurrency from the template)."""
    import boto3

    from devstack import lambdas
    from devstack import template as tpl
    from devstack.pollers import PollerThreads, SqsPoller

    (source,) = [s for s in tpl.event_sources() if s.function == "DealWorkerFunction" and s.kind == "SQS"]
    url = stack.environment["DEAL_QUEUE_URL"]
    account, name = url.rstrip("/").split("/")[-2:]
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name="us-east-1")

    def call(event: dict[str, Any]) -> Any:
        return lambdas.invoke("DealWorkerFunction", event)

    poller = SqsPoller(source, sqs, url, f"arn:aws:sqs:us-east-1:{account}:{name}", call, wait_seconds=1)
    return PollerThreads([poller])


def _worker_process(stack: LocalStackInfo) -> None:
    """This process becomes the deal worker's container host: the stack's environment (fake credentials, moto),
    its log lines at WARNING (the bench's output stays a table), its EMF lines into the stack's metrics file."""
    from bench.stack import FAKE_AWS_ENV
    from devstack import runtime
    from payments_core import metrics

    runtime.apply_environment({**FAKE_AWS_ENV, **stack.environment, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    metrics.write_to(stack.data_dir / "bench-metrics.jsonl")


@dataclass
class FaultRun:
    """What the fault phase saw (see `faults`)."""

    seen: dict[str, float]  # each payment's deal first seen on chain (perf_counter)
    killed_at: float  # perf_counter
    killed_after_s: float  # the killed worker's life, from ready to SIGKILL
    sends_at_kill: int  # raw transactions the proxy had forwarded
    claimed_at_kill: int  # payments `sending` (claimed by a batch of the killed worker, their deals not recorded)
    recorded_at_kill: int  # payments `open` (their deals recorded by the killed worker)
    on_chain_at_kill: int  # deals of the phase on chain at the kill
    pollers: int
    calls: int  # RPC calls through the proxy (the workers', the watcher's once its cached URL is the proxy's)
    failed: int
    retry_sent: int  # send-failed payments retry-sent
    deliveries_failed: int  # the workers' "chain work failed" log lines (a message back with backoff)
    gave_up: int  # their "deal send failed" lines (send-failed: the worker's attempts exhausted)


def faults(stack: LocalStackInfo, bench: _Run, ids: list[str], log_dir: Path) -> FaultRun:
    """The payments `ids` (queued, nobody consuming) worked by a deal worker process through an RPC fault proxy,
    SIGKILLed mid-batch, then by a fresh one, until every payment has its deal. The demo network's RPC URL is the
    proxy's for the phase (Secrets Manager, as an operator's `network set-rpc-url` would; a fresh worker process
    reads it, the stack's watcher once its cached URL expires), anvil's again after it."""
    from bench.stack import FAKE_AWS_ENV
    from devstack import deal_worker
    from devstack import template as tpl
    from devstack.rpc_faults import RpcFaultProxy
    from payments_core import deps
    from payments_core.domain import catalog as admin

    assert stack.rpc_url is not None
    network_id = str(stack.demo["network_id"])
    env = {**FAKE_AWS_ENV, **stack.environment, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    seconds = float(FAULT_DEADLINE_S + 60)
    original = deps.rpc_urls().get(network_id)
    proxy = RpcFaultProxy(stack.rpc_url, fail_rate=FAULT_RATE, seed=FAULT_SEED)
    try:
        admin.set_rpc_url(deps.catalog(), deps.rpc_urls(), network_id=network_id, rpc_url=proxy.url)
        logs = [log_dir / "fault-worker-1.log", log_dir / "fault-worker-2.log"]
        first = deal_worker.start(env, logs[0], seconds)
        ready = time.perf_counter()
        try:
            if not proxy.wait_sends(KILL_AFTER_SENDS, SENDS_WAIT_S):
                raise TimeoutError(f"the deal worker sent {len(proxy.sends)} transactions in {SENDS_WAIT_S} s")
        finally:
            first.kill()
        killed_at = time.perf_counter()
        sends_at_kill = len(proxy.sends)
        at_kill_statuses = bench.statuses(ids)
        at_kill, _ = deals_on_chain(stack, bench.from_block)
        second = deal_worker.start(env, logs[1], seconds)
        try:
            seen = bench.wait_deals(ids, (RETRY_CHECK_S, bench.retry_send_failed), FAULT_DEADLINE_S)
        finally:
            second.stop()
    finally:
        admin.set_rpc_url(deps.catalog(), deps.rpc_urls(), network_id=network_id, rpc_url=original)
        proxy.stop()
    (source,) = [s for s in tpl.event_sources() if s.function == deal_worker.FUNCTION and s.kind == "SQS"]
    return FaultRun(
        seen=seen,
        killed_at=killed_at,
        killed_after_s=killed_at - ready,
        sends_at_kill=sends_at_kill,
        claimed_at_kill=at_kill_statuses["sending"],
        recorded_at_kill=at_kill_statuses["open"],
        on_chain_at_kill=len(set(at_kill) & {_ref(pid) for pid in ids}),
        pollers=source.maximum_concurrency,
        calls=proxy.calls,
        failed=proxy.failed,
        retry_sent=bench.retry_sent,
        deliveries_failed=_log_lines(logs, b"chain work failed"),
        gave_up=_log_lines(logs, b"deal send failed"),
    )


def _log_lines(paths: list[Path], text: bytes) -> int:
    count = 0
    for path in paths:
        with path.open("rb") as log:
            count += sum(1 for line in log if text in line)
    return count


def _ref(payment_id: str) -> str:
    from payments_core.domain.payments import deal_ref

    return deal_ref(payment_id)


def _visibility_timeout() -> int:
    """DealQueue's VisibilityTimeout in template.yaml: how long a killed worker's batch stays in flight."""
    from devstack import template as tpl

    return int(tpl.resources("AWS::SQS::Queue")["DealQueue"]["Properties"]["VisibilityTimeout"])


def deals_on_chain(
    stack: LocalStackInfo, from_block: int, to_block: int | None = None
) -> tuple[Counter[str], Counter[int]]:
    """DealCreated events from `from_block` (to `to_block`, else the head): how many per ref, and how many
    transactions carried how many deals."""
    from devstack import chain

    assert stack.rpc_url is not None
    w3 = chain.connect(stack.rpc_url)
    logs = w3.eth.get_logs(
        {
            "fromBlock": from_block,
            "toBlock": "latest" if to_block is None else to_block,
            "address": w3.to_checksum_address(stack.demo["diamond_address"]),
            "topics": ["0x" + w3.keccak(text=DEAL_CREATED).hex().removeprefix("0x")],
        }
    )
    refs = Counter("0x" + bytes(log["topics"][2]).hex() for log in logs)
    per_tx = Counter("0x" + bytes(log["transactionHash"]).hex() for log in logs)
    return refs, Counter(per_tx.values())


def strict_blocks(stack: LocalStackInfo) -> None:
    """A transaction waits for the next block, as on a chain: the local stack's anvil mines every transaction
    at once besides its block a second (--mixed-mining, so that the stack's own tests are quick); automine off
    leaves only the block a second."""
    from devstack import chain

    assert stack.rpc_url is not None
    chain.rpc(stack.rpc_url, "evm_setAutomine", [False])
    first = _block(stack)
    deadline = time.perf_counter() + 5
    while _block(stack) == first and time.perf_counter() < deadline:  # still mining on its own, once a second
        time.sleep(0.1)
    if _block(stack) == first:
        raise AssertionError("anvil mined no block in 5 s with automine off")


def _block(stack: LocalStackInfo) -> int:
    from devstack import chain

    assert stack.rpc_url is not None
    return int(chain.rpc(stack.rpc_url, "eth_blockNumber"), 16)


def _sizes(histogram: Counter[int]) -> str:
    return ", ".join(f"{n}x{size}" for size, n in sorted(histogram.items(), reverse=True))


def run(count: int = PAYMENTS, fault_count: int = PAYMENTS) -> list[Result]:
    """The chain section: live, backlog, then (unless `fault_count` is 0) the fault phase of `fault_count`."""
    from devstack.launch import local_stack
    from devstack.pollers import SCHEDULE_SECONDS_ENV

    with (
        # The chain watcher at the template's rate (once a minute), as deployed: the local default (every 2 s)
        # would have it compete, 30 times as often, for the CPU the stack shares with the deal worker here.
        patch.dict(os.environ, {SCHEDULE_SECONDS_ENV: "rate"}),
        TemporaryDirectory() as tmp,
        local_stack(Path(tmp), chain=True, workers=False, signing_pool=POOL) as stack,
        httpx.Client(base_url=stack.api_url, timeout=60) as http,
    ):
        _worker_process(stack)
        strict_blocks(stack)
        bench = _Run(stack, http)
        lanes = POOL + 1
        # Live: the workers consuming while the payments are created, once the stack is warm (every container
        # of the create endpoint and of the deal worker has served a request: the steady state a running
        # platform is in; cold starts are the cold section's).
        workers = deal_workers(stack)
        workers.start()
        try:
            bench.wait_deals(bench.create("warm-up", WARM_UP)[0])
            first_block = _block(stack) + 1  # the warm-up's deals are in the head block and before
            live, live_started, last_answer = bench.create("live", count)
            seen = bench.wait_deals(live)
        finally:
            workers.stop()
        latencies = bench.create_to_deal_ms(live)
        after_last_s = max(0.0, max(seen.values()) - last_answer)
        created_s = last_answer - live_started
        # Backlog: created with nobody consuming, then the workers started.
        backlog, _, _ = bench.create("backlog", count)
        workers = deal_workers(stack)
        started = time.perf_counter()
        workers.start()
        try:
            backlog_seen = bench.wait_deals(backlog)
        finally:
            workers.stop()
        backlog_s = max(backlog_seen.values()) - started
        fault_block = _block(stack) + 1
        refs, histogram = deals_on_chain(stack, first_block, fault_block - 1)
        concurrency = workers.pollers[0].source.maximum_concurrency
        from payments_core.domain.payments import deal_ref

        ours = [deal_ref(pid) for pid in (*live, *backlog)]  # (the stack's demo payments may have deals in the range)
        missing, twice = sum(1 for r in ours if r not in refs), sum(1 for r in ours if refs[r] > 1)
        if missing or twice:
            raise AssertionError(f"of {len(ours)} payments, {missing} have no deal on chain and {twice} have two")
        # Faults: queued, then a worker process through the fault proxy, killed mid-batch, and a fresh one.
        fault_rows: list[Result] = []
        if fault_count:
            queued, _, _ = bench.create("faults", fault_count)
            fault = faults(stack, bench, queued, stack.data_dir)
            fault_refs, _ = deals_on_chain(stack, fault_block)
            fault_rows = _fault_rows(fault_count, queued, fault, fault_refs)
    txs = sum(histogram.values())
    setup = (
        f"{count} payments naming no wallet, {lanes} lanes (platform wallet + a pool of {POOL}), {concurrency} pollers,"
        " anvil 1 s blocks (automine off), the watcher once a minute"
    )
    note = f"{setup}; created in {created_s:.1f} s by {CLIENTS} clients ({bench.retried} creates retried after 503)"
    return [
        _target("live: last create's answer -> every deal exists", after_last_s, "s", ALL_DEALS_TARGET_S, note),
        _target("live: create -> deal, p95", percentile(latencies, 95), "ms", P95_TARGET_MS, "each payment's log"),
        Result("chain", "live: create -> deal, p50", percentile(latencies, 50), "ms", note="each payment's log"),
        _target(
            "backlog: deals per second",
            count / backlog_s,
            "deals/s",
            DEALS_PER_S_TARGET,
            f"{count} queued with the workers stopped, then started: every deal in {backlog_s:.1f} s",
            higher=True,
        ),
        Result(
            "chain",
            "createDeals transactions",
            float(txs),
            "txs",
            note=f"{2 * count} deals in {txs} transactions (count x deals): {_sizes(histogram)}; each ref once",
        ),
        *fault_rows,
    ]


def _fault_rows(count: int, ids: list[str], fault: FaultRun, refs: Counter[str]) -> list[Result]:
    """The fault phase's rows; raises unless every payment has exactly one deal on chain and there is no other."""
    mine = {_ref(pid) for pid in ids}
    twice = sum(1 for ref in mine if refs[ref] > 1)
    missing = sum(1 for ref in mine if refs[ref] == 0)
    strangers = sum(1 for ref in refs if ref not in mine)
    if twice or missing or strangers:
        raise AssertionError(
            f"faults: {count - missing} of {count} payments have a deal, {twice} twice; {strangers} other refs"
        )
    deals = sum(refs[ref] for ref in mine)
    kill_s = max(fault.seen.values()) - fault.killed_at
    killed = (
        f"the worker process ({fault.pollers} pollers) SIGKILLed {fault.killed_after_s:.1f} s after it was ready,"
        f" once the proxy had forwarded {fault.sends_at_kill} of its transactions: {fault.on_chain_at_kill} of its"
        f" deals on chain, {fault.claimed_at_kill} payments left claimed (sending), {fault.recorded_at_kill}"
        " recorded; then a fresh process"
    )
    return [
        Result(
            "chain",
            "faults: deals created / payments",
            float(deals),
            "deals",
            baseline=float(count),
            target=1.0,
            note=f"{deals} / {count}, each ref once on chain; {killed}",
        ),
        Result(
            "chain",
            "faults: kill -> every deal exists",
            kill_s,
            "s",
            note=f"the killed batches come back after DealQueue's VisibilityTimeout ({_visibility_timeout()} s);"
            f" {fault.deliveries_failed} deliveries failed (each backs its lane off 5 s x 2^n), {fault.gave_up}"
            f" send-failed (attempts exhausted), {fault.retry_sent} retry-sent",
        ),
        Result(
            "chain",
            "faults: RPC calls failed",
            float(fault.failed),
            "calls",
            note=f"of {fault.calls} through the proxy ({FAULT_RATE:.0%} failing, seed {FAULT_SEED})",
        ),
    ]
