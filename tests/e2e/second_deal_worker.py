"""A second stream of deal worker invocations on the local stack's DealQueue, in a process of its own, for a bounded
time: Lambda runs several invocations of a function at once (one per message group with messages in flight, up to
its concurrency), the local stack one at a time; with this one beside it two batches run at once, as on AWS.

    python -m tests.e2e.second_deal_worker SECONDS STOP_FILE   # the functions' environment in os.environ

It touches STOP_FILE with the suffix .ready once warm (handler loaded, web3 imported) and stops after SECONDS, or
after the batch it is in once STOP_FILE exists.

Each batch is what the stack's poller makes of the queue (devstack.pollers.SqsPoller: a FIFO queue gives a message
group to one consumer at a time), given to DealWorkerFunction's handler loaded as the stack loads it. Its log lines
go to this process's stdout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import boto3

from devstack import lambdas, pollers
from devstack import template as tpl

FUNCTION = "DealWorkerFunction"


def main(argv: list[str]) -> int:
    seconds, stop = float(argv[0]), Path(argv[1])
    (source,) = [s for s in tpl.event_sources() if s.function == FUNCTION and s.kind == "SQS"]
    timeout = tpl.functions()[FUNCTION].timeout
    handler = lambdas.handler_of(FUNCTION, container=1)
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
    url = os.environ["DEAL_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = pollers.SqsPoller(
        source,
        sqs,
        queue_url=url,
        queue_arn=arn,
        call=lambda event: handler(event, context()),
        region=os.environ["AWS_REGION"],
    )

    def context() -> lambdas.LambdaContext:
        return lambdas.LambdaContext(function_name=FUNCTION, timeout_seconds=timeout)

    import web3  # noqa: F401 - loaded before the first batch, as in a warm container

    stop.with_suffix(".ready").touch()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.exists():
        poller.poll_once()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
