"""API functions never import web3; nothing happens at import time but imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack import template as tpl

# Every function that does not attach the chain layer: the API, the authorizers, the stream consumers.
API_FUNCTIONS = sorted(
    name
    for name, fn in tpl.resources("AWS::Serverless::Function").items()
    if {"Ref": "ChainLayer"} not in fn["Properties"].get("Layers", [])
)


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_api_function_imports_no_web3_and_touches_nothing(function: str) -> None:
    fn = tpl.functions()[function]
    code = f"""
import json, socket, sys
sys.path[:0] = [{str(tpl.ROOT / "layers/core")!r}, {str(tpl.ROOT / fn.code_uri)!r}]
def refuse(*a, **k):
    raise AssertionError("network at import time")
socket.socket.connect = refuse
import app
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("web3", "eth_account", "payments_chain"))))
"""
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert json.loads(out.stdout) == []
