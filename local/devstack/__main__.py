"""The local stack without Docker: `python -m devstack` (what `make dev` runs).

    python -m devstack [--host 127.0.0.1] [--port 3000] [--moto-port 5000] [--moto-host 127.0.0.1]
                       [--data-dir .dev] [--anvil-port 8545] [--block-time 1] [--no-chain] [--no-workers]
                       [--signing-pool N] [--verbose]

1. moto in server mode on <moto-host>:<moto-port> (127.0.0.1 by default; 0.0.0.0 for `sam local`'s
   containers); this process talks to it through AWS_ENDPOINT_URL, with fake credentials;
2. every table, queue, secret and parameter of template.yaml, and the functions' environment as
   CloudFormation would resolve it;
3. anvil (npm @foundry-rs/anvil, local/package.json) on 127.0.0.1:<anvil-port>, chain id 31337, with
   MockUSDT and the diamond (PaymentsFacet cut in) deployed, anvil account 0 authorised as platform
   wallet and account 1 (the demo payer) holding 1,000,000 USDT (devstack.chain); not with --no-chain;
4. a first signing key, the demo catalog (root ── child, other; the anvil network with the diamond,
   USDT on it, the platform wallet) and the wallet's signing key in Secrets Manager as
   `<stack>-wallet-<wallet id>`, all written to <data-dir>/demo.json (with the chain's rpc_url,
   addresses and the payer's dev key); with --signing-pool N, N more platform wallets (anvil accounts 2..,
   authorised on the diamond, keys stored the same way) as the network's signing pool (demo.json
   `signing_pool`: their wallet ids), so payments naming no wallet are spread over N + 1 lanes;
5. <data-dir>/stack.json (for `paymentsctl --local`) and <data-dir>/env.json (`sam local start-api
   --env-vars`, with moto reached from Docker at host.docker.internal); the functions' EMF metric lines
   go to <data-dir>/metrics.jsonl (emptied at each start) instead of stdout;
6. the event sources of template.yaml (SQS, DynamoDB streams, schedules) polled in background threads:
   the chain workers and the watcher run as on AWS (schedules every DEVSTACK_SCHEDULE_SECONDS, 2 s;
   with --no-chain at the template's rate unless that variable is set); an SQS source with `ScalingConfig:
   MaximumConcurrency` N by N threads (the deal worker: N lanes at once); with --no-workers the SQS event
   sources (the deal worker on DealQueue) are not polled, so their messages stay
   in the queues for whoever reads them (tests), while streams and schedules still are;
7. the API on http://<host>:<port> (threaded werkzeug): routes and authorizers of template.yaml,
   Swagger UI at /docs, the contract at /openapi.json, /_health; CORS for its own docs page on both
   names (127.0.0.1 and localhost, that port only).

The console keeps the banner readable: warnings and errors only. Every log line (each request, each
watcher run, the functions' JSON logs) goes to <data-dir>/stack.log; `--verbose` prints them here too.

Pay a payment as the demo payer: `.venv/bin/python -m devstack.pay <payment id> [--data-dir .dev]`.

Ctrl-C (or SIGTERM) stops it all.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import boto3

from devstack import chain
from devstack import template as tpl
from devstack.gateway import Gateway
from devstack.pollers import SCHEDULE_SECONDS_ENV, PollerThreads, build_pollers
from devstack.provision import Stack, provision
from devstack.seed import seed_demo
from devstack.server import ApiApp, FunctionInvoker, MotoServer, local_origins, serve

REGION = "us-east-1"
LOCAL_PARAMETERS = {"CheckoutLimitPerAddress": "100000"}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's fake ones
DOCKER_HOST = "host.docker.internal"
DEPLOY_TIMEOUT = 60.0
METRICS_FILE = "metrics.jsonl"  # in the data dir

log = logging.getLogger("devstack")

LOG_FILE_NAME = "stack.log"
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def aws_environment(moto_url: str) -> dict[str, str]:
    """What a process needs to talk to the local moto: endpoint, fake credentials, region."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # botocore's account-id endpoints would bypass AWS_ENDPOINT_URL for some services.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def _point_process_at(moto_url: str) -> None:
    # A profile or session token of the caller's shell must not leak into the fake credentials.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(aws_environment(moto_url))


def sam_env_vars(environments: dict[str, dict[str, str]], moto_url: str, moto_port: int) -> dict[str, Any]:
    """`sam local start-api --env-vars` file: per function, the same variables, moto seen from Docker."""
    docker_url = f"http://{DOCKER_HOST}:{moto_port}"
    # sam local only overrides variables the template declares: LOCAL_ENDPOINT_URL is declared for this.
    local = {"LOCAL_ENDPOINT_URL": docker_url, "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}
    return {
        name: {**{k: v.replace(moto_url, docker_url) for k, v in env.items()}, **local}
        for name, env in environments.items()
    }


def curl_example(demo: dict[str, Any]) -> str:
    api = demo["api_url"]
    creds = json.dumps(demo["integrations"]["root"], separators=(",", ":"))
    expires = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payment = {
        "external_id": "EXTERNAL_ID",
        "node_id": demo["nodes"]["root"],
        "network_id": demo["network_id"],
        "currency_id": demo["currency_id"],
        "wallet_id": demo["wallet_id"],
        "price": 100.5,
        "paid_price": 100.5,
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "expires_at": expires,
    }
    body = json.dumps(payment, separators=(",", ":")).replace("EXTERNAL_ID", "order-'\"$(date +%s)\"'")
    return (
        f"TOKEN=$(curl -s -X POST {api}/api/v1/auth/token -H 'Content-Type: application/json' \\\n"
        f"  -d '{creds}' | jq -r .access_token)\n"
        f'curl -s -X POST {api}/api/v1/payments -H "Authorization: Bearer $TOKEN" '
        f"-H 'Content-Type: application/json' \\\n"
        f"  -d '{body}' | jq"
    )


def configure_logging(log_file: Path, *, verbose: bool) -> None:
    """Every log line to `log_file`; on the console warnings and errors only, unless `verbose`.

    Two kinds of lines: the local stack's own (devstack, the HTTP server's requests) through the root
    logger, and the functions' JSON lines through the platform's powertools Logger, which has its own
    handler on stdout: it is pointed at the file, and a console handler with the same formatter added."""
    console_level = logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(LOG_FORMAT))
    to_console = logging.StreamHandler(sys.stderr)
    to_console.setLevel(console_level)
    to_console.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(to_file)
    root.addHandler(to_console)

    from payments_core.observability import logger as functions_logger

    powertools = functions_logger.registered_handler
    functions = logging.getLogger(functions_logger.service)
    if isinstance(powertools, logging.StreamHandler) and not isinstance(powertools, logging.FileHandler):
        powertools.setStream(open(log_file, "a", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
        echo = logging.StreamHandler(sys.stdout)
        echo.setLevel(console_level)
        echo.setFormatter(functions_logger.registered_formatter)
        functions.addHandler(echo)


def shell_path(path: Path, cwd: Path) -> str:
    """How a plain shell in `cwd` names `path`: relative below cwd (`.venv/bin/python`), else absolute."""
    path = path.absolute()
    try:
        relative = path.relative_to(cwd)
    except ValueError:
        return shlex.quote(str(path))
    text = str(relative)
    return shlex.quote(text if "/" in text else f"./{text}")


def commands(data_dir: Path, cwd: Path, python: Path) -> dict[str, str]:
    """The banner's commands, in forms a plain shell in `cwd` runs (nothing of the virtualenv on PATH):
    "cli" (paymentsctl on this stack) and "pay" (devstack.pay), each to be followed by its arguments.
    `paymentsctl --local` reads ./.dev/stack.json, so it runs where the data directory is `.dev`."""
    python, data_dir = python.absolute(), data_dir.absolute()
    ctl = python.parent / "paymentsctl"

    def cli_in(where: Path) -> str:
        return shell_path(ctl, where) if ctl.exists() else f"{shell_path(python, where)} -m payments_core.cli"

    if data_dir == cwd / ".dev":
        cli = f"{cli_in(cwd)} --local"
    elif data_dir.name == ".dev":
        cli = f"cd {shlex.quote(str(data_dir.parent))} && {cli_in(data_dir.parent)} --local"
    else:
        cli = f"{cli_in(cwd)} --local  # where .dev/stack.json is this stack's {data_dir / 'stack.json'}"
    pay = f"{shell_path(python, cwd)} -m devstack.pay"
    if data_dir != cwd / ".dev":
        pay = f"{pay} --data-dir {shell_path(data_dir, cwd)}"
    return {"cli": cli, "pay": pay}


def banner(
    *,
    api_url: str,
    moto_url: str,
    data_dir: Path,
    cwd: Path,
    python: Path,
    chain_lines: list[str],
    pollers: int,
    no_workers: bool,
    demo: dict[str, Any],
    metrics_file: Path,
) -> str:
    """What `make dev` prints once the stack is up; every command in it works in a plain shell."""
    run = commands(data_dir, cwd, python)
    lines = [
        "",
        f"Payments API   {api_url}   (Swagger UI {api_url}/docs)",
        f"moto           {moto_url}",
        *chain_lines,
        f"demo catalog   {shell_path(data_dir / 'demo.json', cwd)}",
        f"metrics        {shell_path(metrics_file, cwd)}   (EMF lines: docs/local-stack.md#metrics)",
        f"operator CLI   {run['cli']} node list",
        f"event sources  {pollers} poller(s){' (--no-workers: no SQS)' if no_workers else ''}",
        f"logs           {shell_path(data_dir / LOG_FILE_NAME, cwd)}   (this console: warnings and errors; "
        "--verbose: everything)",
    ]
    if "payer_private_key" in demo:  # a chain and its funded payer: payments can be paid
        lines.append(f"pay            {run['pay']} <payment id> --wait 30")
    return "\n".join([*lines, "", "Try it:", "", curl_example(demo), "", "Ctrl-C to stop.", ""])


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)


class _Stop(Exception):
    pass


def _deploy_into(rpc_url: str, result: Future[chain.Deployment]) -> None:
    try:
        result.set_result(chain.deploy(chain.connect(rpc_url)))
    except Exception as exc:
        result.set_exception(exc if isinstance(exc, chain.ChainError) else chain.ChainError(repr(exc)))


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m devstack", description="Run the payments API locally (no Docker).")
    p.add_argument("--host", default="127.0.0.1", help="API bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    p.add_argument("--moto-port", type=int, default=5000, help="moto server port (default 5000)")
    p.add_argument(
        "--moto-host",
        default="127.0.0.1",
        help="moto bind address (default 127.0.0.1; 0.0.0.0 lets `sam local` containers reach it)",
    )
    p.add_argument("--data-dir", type=Path, default=Path(".dev"), help="where demo.json, stack.json, env.json go")
    p.add_argument("--anvil-port", type=int, default=8545, help="anvil (local chain) port (default 8545)")
    p.add_argument(
        "--block-time",
        type=float,
        default=1.0,
        help="anvil also mines a block every N seconds, so confirmations grow (default 1; 0: automine only)",
    )
    p.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter (e.g. IntegrationStatusCacheSeconds=2); repeatable",
    )
    p.add_argument("--no-chain", action="store_true", help="no anvil, no contracts (the catalog keeps its addresses)")
    p.add_argument(
        "--no-workers",
        action="store_true",
        help="do not poll the SQS event sources (the chain workers): their messages stay in the queues; "
        "DynamoDB streams and schedules are still polled",
    )
    p.add_argument(
        "--signing-pool",
        type=int,
        default=0,
        metavar="N",
        help=f"N more platform wallets sign the demo network's deals (anvil accounts 2.., at most "
        f"{len(chain.POOL_KEYS)}; payments naming no wallet are spread over them, a lane each; default 0)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every log line on the console too (each request, each watcher run, the functions' logs); "
        f"they always go to <data-dir>/{LOG_FILE_NAME}",
    )
    args = p.parse_args(argv)
    if not 0 <= args.signing_pool <= len(chain.POOL_KEYS):
        p.error(f"--signing-pool: 0..{len(chain.POOL_KEYS)} (anvil's development accounts 2..9)")
    if args.signing_pool and args.no_chain:
        p.error("--signing-pool needs the chain (not with --no-chain)")
    return args


def wallet_secret_name(stack_name: str, wallet_id: str) -> str:
    """Where a platform wallet's signing key lives (Secrets Manager; never in DynamoDB or the environment)."""
    return f"{stack_name}-wallet-{wallet_id}"


def signing_pool(stack: Stack, demo: dict[str, Any], rpc_url: str, diamond: str, keys: tuple[str, ...]) -> list[str]:
    """The demo network's signing pool (decision 0045): a wallet per key, authorised on the diamond, its key stored
    as the demo platform wallet's is; returns the wallet ids."""
    from payments_core import deps
    from payments_core.domain import catalog as admin

    addresses = chain.authorise_signers(chain.connect(rpc_url), diamond, list(keys))
    secrets = stack.client("secretsmanager")
    wallet_ids = []
    for n, (address, key) in enumerate(zip(addresses, keys, strict=True), start=1):
        wallet = admin.create_wallet(
            deps.catalog(),
            node_id=demo["nodes"]["root"],
            network_id=demo["network_id"],
            address=address,
            name=f"Signing pool {n}",
        )
        secrets.create_secret(
            Name=wallet_secret_name(stack.name, wallet.id),
            Description=f"Signing key of signing pool wallet {n} (an anvil development account, a public dev key)",
            SecretString=key,
        )
        wallet_ids.append(wallet.id)
    admin.set_signing_pool(deps.catalog(), network_id=demo["network_id"], wallet_ids=wallet_ids)
    return wallet_ids


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Explicit handlers: SIGINT is ignored in a background job of a non-interactive shell otherwise.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(data_dir / LOG_FILE_NAME, verbose=args.verbose)
    api_url = f"http://{args.host}:{args.port}"

    moto = MotoServer(port=args.moto_port, host=args.moto_host)
    try:
        moto.start()
    except OSError as exc:
        print(f"devstack: cannot start moto on {args.moto_host}:{args.moto_port}: {exc}", file=sys.stderr)
        return 1
    moto_url = moto.url
    pollers: PollerThreads | None = None
    httpd: Any = None
    anvil: chain.Anvil | None = None
    deploying: Future[chain.Deployment] | None = None
    try:
        _point_process_at(moto_url)
        rpc_url: str | None = None
        if not args.no_chain:
            try:
                anvil = chain.start_anvil(
                    args.anvil_port,
                    block_time=args.block_time if args.block_time > 0 else None,
                    log_file=data_dir / "anvil.log",
                )
            except chain.ChainError as exc:
                print(f"devstack: {exc}\n(another port: --anvil-port N; no chain: --no-chain)", file=sys.stderr)
                return 1
            rpc_url = anvil.url
            # Deployed while moto is provisioned (most of it is importing web3).
            deploying = Future()
            threading.Thread(target=_deploy_into, args=(rpc_url, deploying), name="deploy", daemon=True).start()
        # Every local client is 127.0.0.1: a per-address checkout limit would throttle the tests against each
        # other, so the local stack lifts it (the per-price limit stays the template's; --parameter overrides).
        parameters = {**LOCAL_PARAMETERS, **dict(item.split("=", 1) for item in args.parameter)}
        unknown = set(parameters) - set(tpl.parameter_defaults())
        if unknown:
            print(f"devstack: template.yaml has no parameter {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        stack = provision(boto3.session.Session(), region=REGION, endpoint_url=moto_url, parameters=parameters)
        aws = aws_environment(moto_url)
        environments = {name: {**stack.environment(name), **aws} for name in tpl.functions()}
        merged = {**stack.operator_environment(), **aws}

        from devstack import runtime

        runtime.apply_environment(merged)  # for the set-up below; the invoker takes over after
        from payments_core import deps
        from payments_core.domain import keys

        keys.ensure_signing_key(deps.signing_key_store())
        deployment: chain.Deployment | None = None
        if deploying is not None:
            try:
                deployment = deploying.result(timeout=DEPLOY_TIMEOUT)
            except (chain.ChainError, TimeoutError) as exc:
                print(f"devstack: cannot deploy the contracts on {rpc_url}: {exc!r}", file=sys.stderr)
                return 1
        if deployment is not None and rpc_url is not None:
            demo = seed_demo(
                deps.catalog(),
                api_url=api_url,
                rpc_url=rpc_url,
                diamond_address=deployment.diamond_address,
                token_address=deployment.token_address,
            )
            demo.update(
                rpc_url=rpc_url,
                evm_chain_id=deployment.chain_id,
                diamond_address=deployment.diamond_address,
                token_address=deployment.token_address,
                payer_address=deployment.payer_address,
                payer_private_key=chain.PAYER_KEY,  # anvil's public dev key of account 1
            )
        else:
            demo = seed_demo(deps.catalog(), api_url=api_url)
        stack.client("secretsmanager").create_secret(
            Name=wallet_secret_name(stack.name, demo["wallet_id"]),
            Description="Signing key of the demo platform wallet (anvil account 0, a public dev key)",
            SecretString=chain.PLATFORM_WALLET_KEY,
        )
        if args.signing_pool and deployment is not None and rpc_url is not None:
            demo["signing_pool"] = signing_pool(
                stack, demo, rpc_url, deployment.diamond_address, chain.POOL_KEYS[: args.signing_pool]
            )

        _write_json(data_dir / "demo.json", demo)
        _write_json(data_dir / "stack.json", {"moto_url": moto_url, "rpc_url": rpc_url, "environment": merged})
        _write_json(data_dir / "env.json", sam_env_vars(environments, moto_url, args.moto_port))

        from payments_core import metrics

        # The functions' EMF lines (CloudWatch's metrics on AWS), one JSON document a line, from this run on.
        metrics_file = data_dir / METRICS_FILE
        metrics_file.unlink(missing_ok=True)
        metrics.write_to(metrics_file)
        invoker = FunctionInvoker(environments)
        invoker.activate()
        ready = threading.Event()
        app = ApiApp(Gateway(invoker=invoker), ready=ready, origins=local_origins(args.port))
        try:
            httpd = serve(app, args.host, args.port)
        except OSError as exc:
            print(f"devstack: cannot serve the API on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        # Without a chain, the chain watcher's schedule keeps the template's rate (it can only fail) unless asked.
        chainless_rate = args.no_chain and not os.environ.get(SCHEDULE_SECONDS_ENV)
        sources = tpl.event_sources()
        if args.no_workers:
            sources = [source for source in sources if source.kind != "SQS"]
        pollers = PollerThreads(
            build_pollers(stack, invoker, sources, schedule_seconds=None if chainless_rate else "env")
        )
        pollers.start()
        ready.set()
        if deployment is not None:
            chain_lines = [
                f"chain          {rpc_url}   (anvil, chain id {deployment.chain_id}; log "
                f"{shell_path(data_dir / 'anvil.log', Path.cwd())})",
                f"               diamond {deployment.diamond_address}, USDT {deployment.token_address}",
                f"               payer {deployment.payer_address} (1,000,000 USDT)",
            ]
        else:
            chain_lines = ["chain          none (--no-chain)"]
        text = banner(
            api_url=api_url,
            moto_url=moto_url,
            data_dir=data_dir,
            cwd=Path.cwd(),
            python=Path(sys.executable),
            chain_lines=chain_lines,
            pollers=len(pollers.pollers),
            no_workers=args.no_workers,
            demo=demo,
            metrics_file=metrics_file,
        )
        print(text, flush=True)
        httpd.serve_forever()
    except (KeyboardInterrupt, _Stop):
        print("\ndevstack: stopping", file=sys.stderr)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)  # a second Ctrl-C during the shutdown ends it at once
        if httpd is not None:
            httpd.server_close()
        if pollers is not None:
            pollers.stop()
        if anvil is not None:
            anvil.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped: flush and leave without the interpreter's teardown of moto's in-memory
    # state, which takes seconds and would only delay every restart and test session.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
