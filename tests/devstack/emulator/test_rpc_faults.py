"""The RPC fault proxy (devstack.rpc_faults) in front of a fake JSON-RPC node on 127.0.0.1: what it forwards, fails,
refuses, cuts and counts."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devstack.rpc_faults import RpcFaultProxy

RAW_TX = "0x02f86c"


class FakeNode:
    """Answers every JSON-RPC call with its method and params as the result; counts what it received."""

    def __init__(self) -> None:
        self.received: list[str] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.received.append(request["method"])
                result = f"0x{len(node.received):064x}" if request["method"] == "eth_sendRawTransaction" else "ok"
                body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)


@pytest.fixture
def node() -> Iterator[FakeNode]:
    fake = FakeNode()
    yield fake
    fake.stop()


def call(url: str, method: str, *params: Any) -> Any:
    """The call's result, or None when the connection was closed without an answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5.0) as resp:
            return json.loads(resp.read())["result"]
    except OSError:
        return None


def test_without_faults_every_call_is_forwarded_and_answered(node: FakeNode) -> None:
    proxy = RpcFaultProxy(node.url)
    try:
        assert call(proxy.url, "eth_blockNumber") == "ok"
        assert call(proxy.url, "eth_sendRawTransaction", RAW_TX) == f"0x{2:064x}"
    finally:
        proxy.stop()
    assert node.received == ["eth_blockNumber", "eth_sendRawTransaction"]
    assert (proxy.calls, proxy.failed, proxy.refused) == (2, 0, 0)
    assert proxy.sends == [(bytes.fromhex(RAW_TX[2:]), {"jsonrpc": "2.0", "id": 1, "result": f"0x{2:064x}"})]


def test_a_fail_rate_fails_that_share_of_calls_before_the_node_and_the_same_ones_for_a_seed(node: FakeNode) -> None:
    outcomes = []
    for _ in range(2):
        proxy = RpcFaultProxy(node.url, fail_rate=0.25, seed=7)
        try:
            outcomes.append([call(proxy.url, "eth_chainId") is None for _ in range(200)])
        finally:
            proxy.stop()
        assert proxy.calls == 200
        assert proxy.failed == sum(outcomes[-1])
    assert outcomes[0] == outcomes[1]
    assert 25 <= sum(outcomes[0]) <= 75  # a quarter of 200, give or take
    assert len(node.received) == 2 * 200 - 2 * sum(outcomes[0])  # a failed call never reached the node


def test_refusing_fails_every_call_and_counts_it_apart(node: FakeNode) -> None:
    proxy = RpcFaultProxy(node.url)
    try:
        proxy.refusing = True
        assert [call(proxy.url, "eth_chainId") for _ in range(3)] == [None, None, None]
        proxy.refusing = False
        assert call(proxy.url, "eth_chainId") == "ok"
    finally:
        proxy.stop()
    assert (proxy.calls, proxy.refused, proxy.failed, node.received) == (4, 3, 0, ["eth_chainId"])


def test_a_cut_send_reaches_the_node_and_is_never_answered(node: FakeNode) -> None:
    proxy = RpcFaultProxy(node.url)
    try:
        proxy.cut_send(2)
        first = call(proxy.url, "eth_sendRawTransaction", RAW_TX)
        assert call(proxy.url, "eth_getTransactionCount", "0x0", "latest") == "ok"  # not a send: not counted
        cut = call(proxy.url, "eth_sendRawTransaction", RAW_TX)
        third = call(proxy.url, "eth_sendRawTransaction", RAW_TX)
        assert proxy.wait_sends(3, timeout=1.0)
        assert not proxy.wait_sends(4, timeout=0.2)
        assert proxy.cut == [f"0x{3:064x}"]  # the hash the node answered for the cut one
        proxy.cut_send(1)  # forgets the earlier cut
        assert proxy.cut == []
    finally:
        proxy.stop()
    assert (first, cut, third) == (f"0x{1:064x}", None, f"0x{4:064x}")
    assert node.received.count("eth_sendRawTransaction") == 3
    assert [answer["result"] for _, answer in proxy.sends] == [f"0x{n:064x}" for n in (1, 3, 4)]


def test_a_held_gate_delays_calls_until_it_opens(node: FakeNode) -> None:
    proxy = RpcFaultProxy(node.url)
    results: list[Any] = []
    try:
        proxy.gate.clear()
        caller = threading.Thread(target=lambda: results.append(call(proxy.url, "eth_chainId")))
        caller.start()
        caller.join(timeout=0.5)
        assert caller.is_alive()
        assert node.received == []
        proxy.gate.set()
        caller.join(timeout=5.0)
    finally:
        proxy.stop()
    assert results == ["ok"]
    assert node.received == ["eth_chainId"]
