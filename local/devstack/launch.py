"""Start the local stack as a subprocess, for tests, contract checks and benchmarks.

    with local_stack(tmp_path) as stack:
        httpx.post(f"{stack.api_url}/api/v1/auth/token", json=stack.demo["integrations"]["root"])

Free ports are picked for the API, moto and anvil; `python -m devstack` runs in its own process group
with its output in <data_dir>/devstack.log (anvil's in <data_dir>/anvil.log); it stops anvil (its own
process group) when it stops. `local_stack(..., chain=False)` runs it with --no-chain,
`local_stack(..., workers=False)` with --no-workers (nothing consumes the SQS queues: tests read them),
`local_stack(..., signing_pool=N)` with --signing-pool N.
Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import template as tpl

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
_START_ATTEMPTS = 3  # a free port can be taken by someone else before the child binds it


class LocalStackError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalStackInfo:
    api_url: str
    moto_url: str
    demo: dict[str, Any]  # demo.json
    environment: dict[str, str]  # the functions' environment (stack.json), AWS_ENDPOINT_URL = moto_url
    data_dir: Path
    log_file: Path
    pid: int
    rpc_url: str | None = None  # anvil (stack.json), None with chain=False
    workers: bool = True  # the SQS event sources (chain workers) are polled; False with workers=False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_health", timeout=1.0) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the child's process group, then SIGKILL if it does not stop in time."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _start(
    data_dir: Path,
    log_file: Path,
    timeout: float,
    *,
    chain: bool = True,
    workers: bool = True,
    parameters: dict[str, str] | None = None,
    signing_pool: int = 0,
) -> tuple[subprocess.Popen[bytes], str]:
    api_port, moto_port, anvil_port = _free_ports(3)
    api_url = f"http://127.0.0.1:{api_port}"
    cmd = [
        sys.executable,
        "-m",
        "devstack",
        "--host",
        "127.0.0.1",
        "--port",
        str(api_port),
        "--moto-port",
        str(moto_port),
        "--data-dir",
        str(data_dir),
        *(["--anvil-port", str(anvil_port)] if chain else ["--no-chain"]),
        *([] if workers else ["--no-workers"]),
        *(["--signing-pool", str(signing_pool)] if signing_pool else []),
        *(f"--parameter={name}={value}" for name, value in (parameters or {}).items()),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=tpl.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc, api_url
        if _healthy(api_url):
            return proc, api_url
        time.sleep(0.2)
    _stop(proc)
    raise LocalStackError(f"the local stack was not healthy after {timeout:.0f}s:\n{_tail(log_file)}")


@contextmanager
def local_stack(
    data_dir: Path | str,
    *,
    timeout: float = STARTUP_TIMEOUT,
    chain: bool = True,
    workers: bool = True,
    parameters: dict[str, str] | None = None,
    signing_pool: int = 0,
) -> Iterator[LocalStackInfo]:
    """Run `python -m devstack` on free ports until the block ends; yields where it is and its demo.
    `chain=False`: without anvil (--no-chain), for tests that need no chain;
    `workers=False`: the SQS queues are not consumed (--no-workers), for tests that read them;
    `parameters`: template parameters (--parameter NAME=VALUE), e.g. shorter caches for quick tests;
    `signing_pool`: N more platform wallets for the demo network (--signing-pool N, demo["signing_pool"])."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.json", "stack.json", "env.json"):
        (data_dir / stale).unlink(missing_ok=True)
    log_file = data_dir / "devstack.log"
    for attempt in range(_START_ATTEMPTS):
        proc, api_url = _start(
            data_dir, log_file, timeout, chain=chain, workers=workers, parameters=parameters, signing_pool=signing_pool
        )
        if proc.poll() is None:
            break
        if attempt == _START_ATTEMPTS - 1:
            raise LocalStackError(f"the local stack exited with {proc.returncode}:\n{_tail(log_file)}")
    try:
        demo = json.loads((data_dir / "demo.json").read_text())
        stack = json.loads((data_dir / "stack.json").read_text())
        yield LocalStackInfo(
            api_url=api_url,
            moto_url=stack["moto_url"],
            demo=demo,
            environment=stack["environment"],
            data_dir=data_dir,
            log_file=log_file,
            pid=proc.pid,
            rpc_url=stack.get("rpc_url"),
            workers=workers,
        )
    finally:
        _stop(proc)
