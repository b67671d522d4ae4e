"""(a) Cold start: a fresh interpreter that imports a function's handler module the way the Lambda
runtime does and answers its first event, next to a fresh interpreter that does only the unavoidable
part (import boto3 and build the same clients, import pydantic, the powertools resolver, Logger and EMF
metrics provider, and jwt).

Both sides: the same interpreter (sys.executable), `-X frozen_modules=on`, bytecode written (the
.pyc files are warmed by one unmeasured run of each side first), the same environment (the
function's, pointed at the bench's moto server), the same event file read, wall time of the whole
process from spawn to exit, runs interleaved (ABBA). The function's warm-up run reports which boto3
clients its first invocation built; the floor builds exactly those. The ratio is the median of the
runs' paired ratios (function run i / floor run i, started one after the other): this shared machine's
speed drifts by tens of percent over the seconds a function's runs take, and a pair sees the same
machine where the two sides' medians may not. Both medians, their ratio and the children's CPU time
are reported beside it.

The functions' handler modules load with the cyclic garbage collector paused and freeze what they loaded
(payments_core/lambda_init.py): that is how they are built and deployed, so it is part of what is measured.
The floor runs with Python's default collector settings.

Both children leave with `os._exit` once they have answered: a Lambda sandbox is frozen or killed
after its invocation, its interpreter is never finalized, so finalization is no part of a cold start.
Counting it was not neutral either: CPython's finalization runs full collections while it takes the
modules apart, and powertools keeps the invocation's context (`BaseRouter.lambda_context`, here an
instance of the `Context` class this harness defines in the child's `__main__`) after the request.
With that reference the collection that frees most of the heap at finalization frees almost nothing
and the next one goes over all of it again: 40-90 ms on the function's side only (gc DEBUG_STATS).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import events
from bench.report import Result, median, summary_ms
from bench.stack import BenchStack
from devstack import lambdas
from devstack import template as tpl
from payments_core.security.passwords import hash_secret
from payments_core.security.tokens import generate_signing_key

TARGET = 1.15
CHILD_TIMEOUT_S = 60

# The Lambda runtime: the function's code directory (/var/task) first, then the layer (/opt/python),
# `import app`, then `app.handler(event, context)`.
FUNCTION_CHILD = """\
import os
import sys
code_dir, layer_dirs, module_name, handler_name, event_path, function_name = sys.argv[1:7]
sys.path[:0] = [code_dir, *layer_dirs.split(os.pathsep)]
import json
with open(event_path) as f:
    event = json.load(f)
import importlib
handler = getattr(importlib.import_module(module_name), handler_name)
class Context:
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_stream_name = "bench"
    def __init__(self, name):
        self.function_name = name
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
        self.log_group_name = "/aws/lambda/" + name
    def get_remaining_time_in_millis(self):
        return 120000  # the chain workers' timeout (template.yaml): a batch plans by it (decision 0041)
result = handler(event, Context(function_name))
if "statusCode" in result:
    print(f"status={result['statusCode']}")
elif "batchItemFailures" in result:
    print(f"status=batch:{len(result['batchItemFailures'])}failed")
elif "networks" in result:
    print(f"status=networks:{len(result['networks'])}")
else:
    print(f"status={result['policyDocument']['Statement'][0]['Effect']}")
aws = sys.modules.get("payments_core.store.aws")
made = [s for s in ("dynamodb", "sqs", "secretsmanager", "ssm") if aws and getattr(aws, s).cache_info().currsize]
print("clients=" + ",".join(made))
sys.stdout.flush()
os._exit(0)  # answered: no interpreter finalization (see the module's docstring)
"""

FLOOR_CHILD = """\
import sys
services, event_path, floor_extra = sys.argv[1:4]
import json
with open(event_path) as f:
    event = json.load(f)
import os
import boto3
from botocore.config import Config
config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5, tcp_keepalive=True)
session = boto3.session.Session()
region, endpoint = os.environ["AWS_REGION"], os.environ["AWS_ENDPOINT_URL"]
for service in filter(None, services.split(",")):
    session.client(service, region_name=region, endpoint_url=endpoint, config=config)
import pydantic
from pydantic import BaseModel  # `import pydantic` alone is lazy (loads almost nothing); a model needs this
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools import Logger  # every function logs through it and writes EMF metrics (below)
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
import jwt
if floor_extra:
    exec(floor_extra)
print("status=ok")
sys.stdout.flush()
os._exit(0)  # as the function's side
"""

# The chain functions' dependencies beyond the API floor: web3 (with eth_account) and powertools' batch.
CHAIN_FLOOR = """
import web3
from web3 import Web3
from eth_account import Account
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
"""


def token_floor() -> str:
    """The token endpoint's unavoidable work beyond the API floor (decision 0044): what no implementation of
    POST /auth/token can skip and the plain floor does not do: `import argon2` and one Argon2id check of a
    client secret at the platform's parameters (security/passwords.py, 0007), and one ES256 signature of a
    JWK key (pyjwt with its `cryptography` backend). Made here, in the parent: the hash and the key are
    literals of the child's code, so the floor pays the check and the signature, not their making."""
    return f"""
from argon2 import PasswordHasher
PasswordHasher().verify({hash_secret("floor-secret")!r}, "floor-secret")
from jwt import PyJWK
jwk = {generate_signing_key()!r}
jwt.encode({{"sub": "floor"}}, PyJWK.from_dict(jwk, algorithm="ES256").key, algorithm="ES256")
"""


@dataclass
class Case:
    function: str
    expected: str  # what the child reports: a status code, or "Allow"
    events: Callable[[int], dict[str, Any]]  # run index -> the event of that run
    services: tuple[str, ...] = ()
    floor_extra: str = ""  # more imports on the floor's side (the chain functions': web3)


def _child_env(bench: BenchStack, function: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "POWERTOOLS_", "AWS_"))}
    env.update(bench.function_env(function))
    return env


@dataclass
class Run:
    wall: float  # seconds, spawn to exit
    cpu: float  # seconds of user + system CPU of the child (less sensitive to a busy machine)
    output: dict[str, str]  # the child's key=value lines (status, clients)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], env: dict[str, str], cwd: str) -> Run:
    cpu_before = _cpu_of_children()
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - start
    cpu = _cpu_of_children() - cpu_before
    # The function's own log lines go to stdout too; the child's answers are its key=value lines.
    output = dict(line.split("=", 1) for line in proc.stdout.splitlines() if line.startswith(("status=", "clients=")))
    if proc.returncode != 0 or "status" not in output:
        raise RuntimeError(f"{argv[-2:]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return Run(elapsed, cpu, output)


def _new_payments(bench: BenchStack, count: int, tag: str) -> list[dict[str, Any]]:
    bench.use_in_process("CreatePaymentFunction")
    created = []
    for i in range(count):
        answer = lambdas.invoke("CreatePaymentFunction", events.create_payment(bench.demo, f"cold-{tag}-{i}"))
        if answer["statusCode"] != 201:
            raise RuntimeError(f"seeding a payment failed: {answer['body']}")
        created.append(json.loads(answer["body"]))
    return created


def _write_log(bench: BenchStack, payment_id: str) -> None:
    """The payment's "created" log entry, through the real log writer (the bench runs no stream poller)."""
    bench.use_in_process("LogWriterFunction")
    db = bench.stack.client("dynamodb")
    item = db.get_item(TableName=bench.stack.physical["PaymentsTable"], Key={"id": {"S": payment_id}})["Item"]
    answer = lambdas.invoke("LogWriterFunction", events.stream_insert(item))
    if answer != {"batchItemFailures": []}:
        raise RuntimeError(f"the log writer failed: {answer}")


def cases(bench: BenchStack, runs: int) -> list[Case]:
    """One case per API function (and authorizer) this bench knows how to feed; see `unknown`."""
    demo = bench.demo
    bench.use_in_process("IssueTokenFunction")
    token_answer = lambdas.invoke("IssueTokenFunction", events.issue_token(demo))
    token = json.loads(token_answer["body"])["access_token"]
    tag = uuid.uuid4().hex[:8]
    (payment,) = _new_payments(bench, 1, f"{tag}-seed")
    payment_id, access_token = payment["id"], payment["access_token"]
    _write_log(bench, payment_id)
    # Cancel and retry-send change the payment: each run gets a payment of its own, in the same state.
    # Runs are numbered from -2 (the unmeasured warm-up run) to runs - 1.
    to_cancel = [p["id"] for p in _new_payments(bench, runs + 2, f"{tag}-cancel")]
    to_retry = [p["id"] for p in _new_payments(bench, runs + 2, f"{tag}-retry")]
    root, client = demo["nodes"]["root"], demo["integrations"]["root"]["client_id"]
    return [
        Case("IntegratorAuthorizerFunction", "Allow", lambda i: events.authorizer(token)),
        # The floor also checks one Argon2id hash and signs one ES256 token: the endpoint's own work (0044).
        Case("IssueTokenFunction", "200", lambda i: events.issue_token(demo), floor_extra=token_floor()),
        Case("JwksFunction", "200", lambda i: events.jwks()),
        Case("CreatePaymentFunction", "201", lambda i: events.create_payment(demo, f"cold-{tag}-{i}")),
        Case("ListPaymentsFunction", "200", lambda i: events.list_payments(client, root, root)),
        Case("GetPaymentFunction", "200", lambda i: events.on_payment("GetPaymentFunction", demo, payment_id)),
        Case(
            "CancelPaymentFunction",
            "202",
            lambda i: events.on_payment("CancelPaymentFunction", demo, to_cancel[i + 2]),
        ),
        Case("RetrySendFunction", "200", lambda i: events.on_payment("RetrySendFunction", demo, to_retry[i + 2])),
        Case(
            "ListPaymentLogsFunction",
            "200",
            lambda i: events.on_payment("ListPaymentLogsFunction", demo, payment_id),
        ),
        Case(
            "WidgetAuthorizerFunction",
            "Allow",
            lambda i: events.widget("WidgetAuthorizerFunction", payment_id, access_token),
        ),
        # No deal yet (the bench runs no chain worker): the widget answers 202, poll later.
        Case(
            "WidgetPaymentFunction",
            "202",
            lambda i: events.widget("WidgetPaymentFunction", payment_id, access_token),
        ),
        # The chain workers' first invocation: a message of a payment that no longer needs work
        # (it reads the payment, finds nothing to do; no RPC). The floor adds web3 and the batch utility.
        Case(
            "DealWorkerFunction",
            "batch:0failed",
            lambda i: events.sqs_message("DealWorkerFunction", to_cancel[0]),
            floor_extra=CHAIN_FLOOR,
        ),
        # The watcher's first run reads the demo network's chain: a real anvil with the diamond (see run()).
        Case(
            "ChainWatcherFunction",
            "",  # whatever the run reports, as long as it answers; the report is checked in _measure's warm-up
            lambda i: events.load("ChainWatcherFunction"),
            floor_extra=CHAIN_FLOOR,
        ),
    ]


def api_functions() -> list[str]:
    """Every function behind the API (the routes' functions and the authorizers'), and the chain workers."""
    names = [r.function for r in tpl.routes()]
    names += ["DealWorkerFunction", "ChainWatcherFunction"]
    for spec in tpl.authorizers().values():
        arn = spec.get("FunctionArn", {})
        if isinstance(arn, dict) and "Fn::GetAtt" in arn:
            att = arn["Fn::GetAtt"]
            names.append(att[0] if isinstance(att, list) else str(att).split(".")[0])
    return sorted(set(names))


def layer_dirs(function: str, core_override: Path | None = None) -> list[str]:
    """The function's layers' source directories (CoreLayer replaced by `core_override` if given)."""
    return [
        str(core_override if name == "CoreLayer" and core_override is not None else tpl.layer_source(name))
        for name in tpl.layers_of(function)
    ]


@dataclass
class Sides:
    """How to start either side of one case: the function's fresh process and the floor's."""

    case: Case
    code_dir: str
    layer_path: str  # os.pathsep-joined layer directories
    module: str
    handler: str
    tmp: Path

    def event_file(self, i: int) -> str:
        path = self.tmp / f"{self.case.function}-{i}.json"
        path.write_text(json.dumps(self.case.events(i)))
        return str(path)

    def function_argv(self, i: int) -> list[str]:
        args = [self.code_dir, self.layer_path, self.module, self.handler, self.event_file(i), self.case.function]
        return [sys.executable, "-X", "frozen_modules=on", "-c", FUNCTION_CHILD, *args]

    def floor_argv(self, i: int) -> list[str]:
        args = [",".join(self.case.services), self.event_file(i), self.case.floor_extra]
        return [sys.executable, "-X", "frozen_modules=on", "-c", FLOOR_CHILD, *args]


def _measure(sides: Sides, env: dict[str, str], runs: int) -> tuple[list[Run], list[Run]]:
    cwd = str(sides.tmp)
    # One unmeasured run of each side: writes the .pyc files, warms the OS page cache. The function's
    # says which boto3 clients its first invocation built: the floor builds the same ones.
    warmup = _run(sides.function_argv(-2), env, cwd)
    sides.case.services = tuple(filter(None, warmup.output.get("clients", "").split(",")))
    _run(sides.floor_argv(-2), env, cwd)
    fn_runs: list[Run] = []
    floor_runs: list[Run] = []
    for i in range(runs):
        for side in ("fn", "floor") if i % 2 == 0 else ("floor", "fn"):
            if side == "fn":
                done = _run(sides.function_argv(i), env, cwd)
                if sides.case.expected and done.output["status"] != sides.case.expected:
                    raise RuntimeError(f"{sides.case.function} answered {done.output}, not {sides.case.expected}")
                fn_runs.append(done)
            else:
                floor_runs.append(_run(sides.floor_argv(i), env, cwd))
    return fn_runs, floor_runs


def _chain_for_the_watcher(bench: BenchStack) -> Any:
    """An anvil with the diamond deployed, behind the bench's demo network (the watcher reads it)."""
    from web3 import Web3

    from devstack import chain
    from payments_core import deps
    from payments_core.domain.entities import Network

    anvil = chain.start_anvil(chain_port())
    deployment = chain.deploy(Web3(Web3.HTTPProvider(anvil.url)))
    bench.use_in_process("ChainWatcherFunction")
    catalog = deps.catalog()
    network = catalog.get(Network, bench.demo["network_id"])
    assert network is not None, "the demo network"
    catalog.put(network._replace(diamond_address=deployment.diamond_address))
    deps.rpc_urls().put(bench.demo["network_id"], anvil.url)
    return anvil


def chain_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(bench: BenchStack, runs: int, layer: Path | None = None, only: set[str] | None = None) -> list[Result]:
    """`layer`: another copy of layers/core to measure (to try a change out); the repo's by default.
    `only`: the functions to measure (every one by default)."""
    if only and "ChainWatcherFunction" not in only:
        return _run_cases(bench, runs, layer, only)
    anvil = _chain_for_the_watcher(bench)
    try:
        return _run_cases(bench, runs, layer, only or None)
    finally:
        anvil.stop()


def _run_cases(bench: BenchStack, runs: int, layer: Path | None, only: set[str] | None) -> list[Result]:
    results: list[Result] = []
    functions = tpl.functions()
    known = cases(bench, runs)
    if only:
        unknown = only - {c.function for c in known}
        if unknown:
            raise ValueError(f"no cold-start case for {', '.join(sorted(unknown))}")
        known = [c for c in known if c.function in only]
    # A function with no case is listed as skipped (unless the run asked for some functions only).
    for function in [] if only else sorted(set(api_functions()) - {c.function for c in known}):
        results.append(
            Result(
                section="cold start",
                name=function,
                value=None,
                unit="ms",
                note="no bench case for this function yet (bench/cold.py: cases)",
                status_override="SKIP",
            )
        )
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        for case in known:
            dirs = layer_dirs(case.function, layer)
            fn = functions[case.function]
            module, handler = fn.handler.rsplit(".", 1)
            sides = Sides(case, str(tpl.ROOT / fn.code_uri), os.pathsep.join(dirs), module, handler, Path(tmp))
            fn_runs, floor_runs = _measure(sides, _child_env(bench, case.function), runs)
            fn_ms = median([r.wall for r in fn_runs]) * 1000
            floor_ms = median([r.wall for r in floor_runs]) * 1000
            fn_cpu = median([r.cpu for r in fn_runs]) * 1000
            floor_cpu = median([r.cpu for r in floor_runs]) * 1000
            # Run i of each side ran next to each other (ABBA): their ratio cancels the machine's drift
            # over the seconds a case takes, which the ratio of the two medians does not.
            pair_ratios = [f.wall / b.wall for f, b in zip(fn_runs, floor_runs, strict=True)]
            clients = ",".join(case.services) or "none"
            results.append(
                Result(
                    section="cold start",
                    name=case.function,
                    value=fn_ms,
                    baseline=floor_ms,
                    unit="ms",
                    target=TARGET,
                    paired_ratio=median(pair_ratios),
                    note=f"ratio: p50 of {runs} paired runs (p50s' ratio {fn_ms / floor_ms:.2f}); CPU p50 "
                    f"{fn_cpu:.0f} vs {floor_cpu:.0f} ms ({fn_cpu / floor_cpu:.2f}); floor clients: {clients}",
                    extra={
                        "function_wall": summary_ms([r.wall for r in fn_runs]),
                        "floor_wall": summary_ms([r.wall for r in floor_runs]),
                        "function_cpu": summary_ms([r.cpu for r in fn_runs]),
                        "floor_cpu": summary_ms([r.cpu for r in floor_runs]),
                        "paired_wall_ratios": pair_ratios,
                        "clients": list(case.services),
                        "layers": dirs,
                    },
                )
            )
            print(f"  cold start {case.function}: {fn_ms:.0f} ms vs floor {floor_ms:.0f} ms", file=sys.stderr)
    return results
