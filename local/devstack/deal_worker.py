"""The deal worker on a local stack's DealQueue, in a process of its own, for a bounded time: what a Lambda container
host is to DealWorkerFunction, one that can be killed (SIGKILL) in the middle of a batch, or run beside the stack's
own pollers (the e2e tests: two streams of invocations at once, in two processes, as Lambda runs them).

    python -m devstack.deal_worker SECONDS STOP_FILE [--pollers N]   # the functions' environment in os.environ

It runs N pollers at once (default: the template's `ScalingConfig: MaximumConcurrency` of the function's SQS
event, as the local stack does: devstack.pollers.PollerThreads), each batch given to DealWorkerFunction's handler in
a container of its own (devstack.lambdas.invoke). It touches STOP_FILE with the suffix .ready once warm (handler
loaded, web3 imported) and stops after SECONDS, or once STOP_FILE exists, after the batches it is in (at most the
function's timeout). Its log lines go to this process's stdout.

os.environ: the stack's functions' environment (stack.json's `environment`: AWS_ENDPOINT_URL is moto's,
DEAL_QUEUE_URL, the tables, the secrets' prefixes) and fake AWS credentials. `start(...)` runs it as a child
process (ready when it returns) that can be stopped (`stop`) or killed (`kill`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FUNCTION = "DealWorkerFunction"
STOP_POLL_SECONDS = 0.1
READY_TIMEOUT = 60.0
KILL_WAIT_SECONDS = 10.0


class DealWorkerError(RuntimeError):
    pass


@dataclass
class DealWorkerProcess:
    """A `python -m devstack.deal_worker` child (see `start`)."""

    proc: subprocess.Popen[bytes]
    stop_file: Path
    log_file: Path
    seconds: float

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, in the middle of whatever it does (the batches in flight stay in flight until the queue's
        visibility timeout ends), and reaped."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=KILL_WAIT_SECONDS)

    def stop(self) -> None:
        """Asked to stop after the batches it is in (bounded: killed if it has not within SECONDS + 30 s)."""
        self.stop_file.touch()
        try:
            self.proc.wait(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            self.kill()


def start(
    environment: Mapping[str, str],
    log_file: Path,
    seconds: float,
    *,
    pollers: int | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> DealWorkerProcess:
    """`python -m devstack.deal_worker` as a child with `environment` added to this process's, its output appended
    to `log_file` (the stop file beside it, `<log_file>.stop`); returns once it is warm (its .ready file), or
    raises DealWorkerError (the child stopped) with its log's tail."""
    from devstack import template as tpl

    stop = log_file.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    stop.with_suffix(".ready").unlink(missing_ok=True)
    env = {**os.environ, **environment, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "devstack.deal_worker", str(seconds), str(stop)]
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            [*cmd, *([] if pollers is None else ["--pollers", str(pollers)])],
            cwd=tpl.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = DealWorkerProcess(proc, stop, log_file, seconds)
    ready, deadline = stop.with_suffix(".ready"), time.monotonic() + ready_timeout
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            tail = log_file.read_text(errors="replace")[-3000:]
            raise DealWorkerError(f"the deal worker (pid {proc.pid}) not ready after {ready_timeout:.0f}s:\n{tail}")
        time.sleep(STOP_POLL_SECONDS)
    return worker


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m devstack.deal_worker", description=__doc__.split("\n\n")[0])
    p.add_argument("seconds", type=float, help="stop after this long")
    p.add_argument("stop_file", type=Path, help="stop once it exists; <stop_file>.ready is touched once warm")
    p.add_argument(
        "--pollers", type=int, default=None, help="batches at once (default: the template's MaximumConcurrency)"
    )
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _args(argv)
    import boto3

    from devstack import lambdas, pollers
    from devstack import template as tpl

    (source,) = [s for s in tpl.event_sources() if s.function == FUNCTION and s.kind == "SQS"]
    if args.pollers is not None:
        scaling = {"MaximumConcurrency": args.pollers}
        source = dataclasses.replace(source, properties={**source.properties, "ScalingConfig": scaling})
    timeout = tpl.functions()[FUNCTION].timeout
    region = os.environ.get("AWS_REGION", "us-east-1")
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region)
    url = os.environ["DEAL_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = pollers.SqsPoller(
        source, sqs, queue_url=url, queue_arn=arn, call=lambda event: lambdas.invoke(FUNCTION, event), region=region
    )
    lambdas.handler_of(FUNCTION)  # the first container's module loaded, as in a warm container
    import web3  # noqa: F401 - loaded before the first batch, as in a warm container

    threads = pollers.PollerThreads([poller])
    threads.start()
    args.stop_file.with_suffix(".ready").touch()
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline and not args.stop_file.exists():
            time.sleep(STOP_POLL_SECONDS)
    finally:
        threads.stop(timeout=float(timeout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
