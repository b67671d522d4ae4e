"""The chain layer's Web3 tries again a call whose connection was reset (payments_chain.client.web3_for), against
a JSON-RPC node on 127.0.0.1 that drops the first connection of each call it is told to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from payments_chain import client


class DroppingNode:
    """Answers eth_chainId and eth_sendRawTransaction; the first `drops` requests get their connection closed."""

    def __init__(self, drops: int) -> None:
        self.drops, self.requests = drops, 0
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.requests += 1
                if node.drops > 0:
                    node.drops -= 1
                    self.close_connection = True
                    self.connection.close()  # no answer: the client sees a reset connection
                    return
                result: Any = {"eth_chainId": "0x7a69", "eth_sendRawTransaction": "0x" + "ab" * 32}[body["method"]]
                answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def node() -> Iterator[DroppingNode]:
    node = DroppingNode(drops=2)
    yield node
    node.stop()
    client.web3_for.cache_clear()


def test_a_read_whose_connection_was_reset_is_tried_again(node: DroppingNode) -> None:
    assert client.web3_for(node.url).eth.chain_id == 31337
    assert node.requests == 3  # two dropped, the third answered


def test_a_raw_transaction_whose_connection_was_reset_is_handed_over_again(node: DroppingNode) -> None:
    sent = client.web3_for(node.url).eth.send_raw_transaction(b"\x02signed")
    assert sent.hex().removeprefix("0x") == "ab" * 32
    assert node.requests == 3


def test_a_node_that_stays_unreachable_fails_after_the_retries() -> None:
    node = DroppingNode(drops=client.RPC_RETRIES)
    try:
        with pytest.raises(requests.ConnectionError):
            client.web3_for(node.url).eth.chain_id  # noqa: B018 - the call is the test
        assert node.requests == client.RPC_RETRIES
    finally:
        node.stop()
        client.web3_for.cache_clear()
