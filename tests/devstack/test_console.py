"""What `make dev` prints and where its logs go: the banner's commands run in a plain shell (nothing of the
virtualenv on PATH), the console keeps warnings and errors only, every line goes to <data-dir>/stack.log."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import template as tpl
from devstack.__main__ import LOG_FILE_NAME, banner, commands
from devstack.launch import LocalStackInfo

PYTHON = Path(sys.executable)
PLAIN_PATH = "/usr/bin:/bin"


def plain_shell(command: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`command` in bash as a fresh terminal would run it: PATH without the virtualenv, nothing inherited."""
    return subprocess.run(
        ["/bin/bash", "-c", command],
        cwd=cwd,
        env={"PATH": PLAIN_PATH, "HOME": str(home), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_devs_banner_names_the_virtualenv_forms(tmp_path: Path) -> None:
    run = commands(tpl.ROOT / ".dev", tpl.ROOT, PYTHON)
    venv_bin = PYTHON.absolute().parent.relative_to(tpl.ROOT)  # .venv/bin when the tests run from .venv
    assert run == {"cli": f"{venv_bin}/paymentsctl --local", "pay": f"{venv_bin}/python -m devstack.pay"}
    text = banner(
        api_url="http://127.0.0.1:3000",
        moto_url="http://127.0.0.1:5000",
        data_dir=tpl.ROOT / ".dev",
        cwd=tpl.ROOT,
        python=PYTHON,
        chain_lines=["chain          http://127.0.0.1:8545"],
        pollers=4,
        no_workers=False,
        demo={
            "api_url": "http://127.0.0.1:3000",
            "integrations": {"root": {"client_id": "ci", "client_secret": "cs"}},
            "nodes": {"root": "n"},
            "network_id": "w",
            "currency_id": "c",
            "wallet_id": "x",
            "payer_private_key": "0x00",
        },
        metrics_file=tpl.ROOT / ".dev" / "metrics.jsonl",
    )
    assert f"{run['cli']} node list" in text
    assert f"{run['pay']} <payment id>" in text
    assert f".dev/{LOG_FILE_NAME}" in text
    assert ".dev/metrics.jsonl" in text
    assert "--verbose" in text


def test_the_banners_commands_run_in_a_plain_shell_and_the_bare_names_do_not(tmp_path: Path) -> None:
    run = commands(tpl.ROOT / ".dev", tpl.ROOT, PYTHON)
    for command in (f"{run['cli'].removesuffix(' --local')} --help", f"{run['pay']} --help"):
        out = plain_shell(command, tpl.ROOT, tmp_path)
        assert out.returncode == 0, (command, out.stderr)
        assert "usage:" in out.stdout
    for bare in ("paymentsctl --help", "python -m devstack.pay --help"):
        assert plain_shell(bare, tpl.ROOT, tmp_path).returncode != 0, bare  # what the banner said before


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
def test_the_banners_operator_cli_reaches_the_running_stack(stack: LocalStackInfo, tmp_path: Path) -> None:
    """Run where a `.dev/stack.json` is (make dev's own directory), as printed, in a plain shell."""
    (tmp_path / ".dev").mkdir()
    shutil.copy(stack.data_dir / "stack.json", tmp_path / ".dev" / "stack.json")
    run = commands(tmp_path / ".dev", tmp_path, PYTHON)
    out = plain_shell(f"{run['cli']} node list", tmp_path, tmp_path)
    assert out.returncode == 0, out.stderr
    assert stack.demo["nodes"]["root"] in {node["id"] for node in json.loads(out.stdout)}


LOGGING = """
import logging, sys
from pathlib import Path
from devstack.__main__ import configure_logging
configure_logging(Path(sys.argv[1]), verbose=sys.argv[2] == "verbose")
logging.getLogger("devstack.http").info("GET /api/v1/payments 200")
logging.getLogger("devstack.pollers").warning("poller-warning")
from payments_core.observability import logger
logger.info("chain watched")
logger.warning("chain work failed")
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_the_console_keeps_warnings_unless_verbose_and_the_file_gets_everything(tmp_path: Path, verbose: bool) -> None:
    log_file = tmp_path / LOG_FILE_NAME
    out = subprocess.run(
        [sys.executable, "-c", LOGGING, str(log_file), "verbose" if verbose else "quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": PLAIN_PATH, "POWERTOOLS_LOG_LEVEL": "INFO"},
    )
    console = out.stdout + out.stderr
    written = log_file.read_text()
    for line in ("GET /api/v1/payments 200", "poller-warning", "chain watched", "chain work failed"):
        assert line in written, line
    assert "poller-warning" in console
    assert "chain work failed" in console
    assert ("GET /api/v1/payments 200" in console) is verbose
    assert ("chain watched" in console) is verbose
    functions = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert [(f["level"], f["message"]) for f in functions] == [
        ("INFO", "chain watched"),
        ("WARNING", "chain work failed"),
    ]
