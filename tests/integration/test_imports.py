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


@pytest.mark.parametrize("function", sorted(tpl.functions()))
def test_handler_loads_with_the_collector_paused_and_freezes_what_it_built(function: str) -> None:
    """payments_core.lambda_init, through payments_core.handlers: it is the handler module's first import, no
    collection runs while the rest loads, and once the module has built its handler the collector is on again
    and the loaded objects are frozen."""
    fn = tpl.functions()[function]
    code = f"""
import gc, json, sys
sys.path[:0] = [*{[str(tpl.layer_source(name)) for name in tpl.layers_of(function)]!r}, {str(tpl.ROOT / fn.code_uri)!r}]
order, during, loading = [], [], [True]
class Watch:
    def find_spec(self, name, path=None, target=None):
        order.append(name)
sys.meta_path.insert(0, Watch())
def watch(phase, info):
    paused = hasattr(sys.modules.get("payments_core.lambda_init"), "done")  # its gc.disable() has run
    if phase == "start" and paused and loading[0]:
        during.append(info["generation"])
gc.callbacks.append(watch)
import app
loading[0] = False
heavy = [m for m in order if m.split(".")[0] in ("boto3", "pydantic", "aws_lambda_powertools", "jwt", "web3")]
init = order.index("payments_core.lambda_init") if "payments_core.lambda_init" in order else len(order)
entry = order.index("payments_core.handlers") if "payments_core.handlers" in order else len(order)
print(json.dumps({{"first": entry < init < order.index(heavy[0]), "during": during,
                  "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}))
"""
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    state = json.loads(out.stdout)
    assert state["first"] is True  # handlers, then lambda_init, before boto3, pydantic, powertools, jwt and web3
    assert state["during"] == []  # no collection from then until the handler module is loaded
    assert state["enabled"] is True
    assert state["frozen"] > 50_000  # boto3, pydantic and powertools alone are well over this


@pytest.mark.parametrize("function", sorted(tpl.functions()))
def test_handler_module_keeps_the_one_convention(function: str) -> None:
    """The first-import and done() ceremony lives in payments_core.handlers only: a handler module imports it
    first and builds its handler there (`handlers.api(app)` or `@handlers.function`), never lambda_init."""
    source = (tpl.ROOT / tpl.functions()[function].code_uri / "app.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports[0].startswith("from payments_core import handlers")
    assert "lambda_init" not in source
    assert "handler = handlers.api(app)" in source or "@handlers.function\ndef handler(" in source


def test_the_token_endpoint_never_loads_the_payment_models() -> None:
    """POST /auth/token reads a catalog entry but answers no payment: neither its import nor the modules its
    first request loads (the catalog store, its codec and the entities, the hasher, the key store) may load
    models.payments, ~7 ms of pydantic model definitions at each cold start (decision 0044)."""
    fn = tpl.functions()["IssueTokenFunction"]
    first_request = [
        "payments_core.store.catalog",
        "payments_core.store.codec",
        "payments_core.domain.entities",
        "payments_core.store.integration_secrets",
        "payments_core.store.keys",
        "payments_core.domain.keys",
        "payments_core.security.passwords",
    ]
    code = f"""
import importlib, json, sys
sys.path[:0] = [{str(tpl.ROOT / "layers/core")!r}, {str(tpl.ROOT / fn.code_uri)!r}]
import app
for name in {first_request!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("payments_core.models."))))
"""
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    loaded = json.loads(out.stdout)
    assert "payments_core.models.enums" in loaded  # the entities' enums, without pydantic
    assert "payments_core.models.payments" not in loaded
