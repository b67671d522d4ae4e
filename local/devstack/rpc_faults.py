"""A JSON-RPC fault proxy in front of a node (anvil), on 127.0.0.1, for the e2e fault tests and the bench's fault
phase: a network whose RPC URL is the proxy's `url` sees the faults switched on here.

    proxy = RpcFaultProxy(anvil_url, fail_rate=0.05, seed=11)   # 5 % of calls fail, the same ones for a seed
    proxy.cut_send(2)          # the 2nd eth_sendRawTransaction from now reaches the node and is never answered
    proxy.wait_sends(3, 30.0)  # until three raw transactions were forwarded (bounded)
    proxy.stop()

The faults:
- `fail_rate`: that share of the calls (seeded random, one draw per call) is failed before it is forwarded: the
  connection is closed without an answer (the RPC down for that call; the node never sees it);
- `refusing`: every call is failed so (the RPC down);
- `gate`: while cleared, calls wait (at most GATE_WAIT_SECONDS) before they are forwarded (a slow RPC);
- `cut_send(n)`: the n-th eth_sendRawTransaction from now is forwarded and its answer dropped (the connection
  closed): the transaction is at the node, the sender never hears of it (a worker killed right after sending).

It counts every call (`calls`), the failed ones (`failed`: by `fail_rate`; `refused`: while `refusing`) and
records every raw transaction forwarded with the node's answer (`sends`). A node that does not answer (gone) is
passed on as no answer either; a client gone mid-request is not reported. Every wait is bounded; `stop()` ends
the faults and the server.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GATE_WAIT_SECONDS = 5.0
UPSTREAM_TIMEOUT = 30.0
SEND = "eth_sendRawTransaction"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-request (a worker killed, a connection web3 dropped) is no error of the proxy's."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class RpcFaultProxy:
    """A JSON-RPC over HTTP proxy to `upstream` on 127.0.0.1 (a port of its own), whose faults are switched on
    by its attributes (see the module's docstring)."""

    def __init__(self, upstream: str, *, fail_rate: float = 0.0, seed: int = 11) -> None:
        self.upstream = upstream
        self.fail_rate = fail_rate
        self.refusing = False
        self.gate = threading.Event()  # cleared: calls wait (bounded) before they are forwarded
        self.gate.set()
        self._random = random.Random(seed)  # noqa: S311 - which calls fail, reproducibly; nothing secret
        self._lock = threading.Lock()
        self._sent = threading.Condition(self._lock)
        self.calls = 0  # every request received
        self.failed = 0  # failed by fail_rate
        self.refused = 0  # failed while refusing
        self.sends: list[tuple[bytes, dict[str, Any]]] = []  # every raw transaction forwarded, the node's answer
        self._cut_at: int | None = None  # len(sends) at which the answer is dropped
        self.cut: list[str] = []  # the hashes (as the node answered) of the sends cut since cut_send()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="rpc-fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if proxy._fail_now():
                    self.close_connection = True  # no answer: the RPC down for this call
                    return
                proxy.gate.wait(timeout=GATE_WAIT_SECONDS)
                request = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=UPSTREAM_TIMEOUT) as resp:
                        answer = resp.read()
                except OSError:  # the node gone: no answer either
                    self.close_connection = True
                    return
                if proxy._forwarded(body, answer):
                    self.close_connection = True  # sent to the node, never answered
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler

    def _fail_now(self) -> bool:
        with self._lock:
            self.calls += 1
            if self.refusing:
                self.refused += 1
                return True
            # One draw per call while failing, none otherwise: a seed gives the same calls failed.
            failing = self.fail_rate > 0 and self._random.random() < self.fail_rate
            self.failed += int(failing)
            return failing

    def _forwarded(self, body: bytes, answer: bytes) -> bool:
        """Records an eth_sendRawTransaction the node answered; True when it is the one to cut."""
        try:
            request = json.loads(body)
            reply = json.loads(answer)
        except ValueError:
            return False
        if not isinstance(request, dict) or request.get("method") != SEND:
            return False
        with self._sent:
            self.sends.append((bytes.fromhex(str(request["params"][0]).removeprefix("0x")), reply))
            self._sent.notify_all()
            if self._cut_at is not None and len(self.sends) == self._cut_at:
                self._cut_at = None
                self.cut.append(str(reply.get("result")))
                return True
        return False

    def cut_send(self, number: int) -> None:
        """Cut the `number`-th eth_sendRawTransaction from now (1 = the next one): forwarded, never answered.
        Forgets what an earlier cut_send cut (`cut` lists this one's)."""
        with self._lock:
            self._cut_at, self.cut = len(self.sends) + number, []

    def wait_sends(self, count: int, timeout: float) -> bool:
        """Until `count` raw transactions in all were forwarded (at most `timeout` seconds); whether they were."""
        deadline = time.monotonic() + timeout
        with self._sent:
            while len(self.sends) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sent.wait(left)
            return True

    def sent_by(self, address: str) -> list[tuple[int, str, dict[str, Any]]]:
        """(nonce, hash, answer) of every raw transaction `address` signed, in the order sent (EIP-1559 ones)."""
        import rlp  # type: ignore[import-untyped]
        from eth_account import Account
        from eth_utils.crypto import keccak

        with self._lock:
            sends = list(self.sends)
        found = []
        for raw, answer in sends:
            if Account.recover_transaction(raw).lower() != address.lower():
                continue
            if raw[0] != 2:
                raise ValueError(f"not an EIP-1559 transaction: type {raw[0]}")
            nonce = int.from_bytes(rlp.decode(raw[1:])[1], "big")
            found.append((nonce, "0x" + keccak(raw).hex(), answer))
        return found

    def stop(self) -> None:
        """No more faults (a call in flight is answered), then the server stops (bounded)."""
        with self._lock:
            self.fail_rate, self.refusing = 0.0, False
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
