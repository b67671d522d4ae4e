"""The local Stripe: localstripe (PyPI, GPL-3.0: used as a tool, never copied) in this process, on 127.0.0.1,
its state in memory only.

    stripe = start()                      # a free port (or start(8420)); answers before it returns
    stripe.api_base                       # http://127.0.0.1:PORT: the SDK's `base_addresses={"api": ...}`
    stripe.register_webhook("local", "http://127.0.0.1:3000/api/v1/stripe/events", "whsec_...")
    stripe.reset()                        # DELETE /_config/data: every object gone
    stripe.stop()

Its stock command (`localstripe`) binds every interface (`::`) and pickles its whole state to a fixed file in
/tmp on every write (and reloads it on start): here its aiohttp app runs on an event loop in a daemon thread,
bound to 127.0.0.1, and `memory_only` turns that persistence off on its store. localstripe keeps one store
and one set of webhooks per process: every local Stripe started in a process shares them.

localstripe ignores Idempotency-Key: point the SDK at it with `max_network_retries=0`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from functools import cache
from typing import Any

HOST = "127.0.0.1"
_START_TIMEOUT_S = 10.0


def memory_only(store: Any) -> None:
    """localstripe's `Store` writes itself to /tmp/localstripe.pickle on every change (`dump_to_disk`, called
    by its `__setitem__`/`__delitem__` and by the server's save middleware) and `try_load_from_disk` reads it
    back: both become no-ops on this store instance (instance attributes shadow the class's methods)."""

    def _nothing() -> None:
        return None

    store.dump_to_disk = _nothing
    store.try_load_from_disk = _nothing


@cache
def _loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, running in a daemon thread: localstripe's aiohttp app is bound to the loop it
    first ran on, so a restarted local Stripe must run on the same one."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="localstripe", daemon=True).start()
    return loop


@dataclass
class LocalStripe:
    port: int
    _runner: Any = field(repr=False)

    @property
    def api_base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _config(self, method: str, path: str, form: dict[str, str] | None = None) -> None:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"{self.api_base}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def reset(self) -> None:
        """Every customer, payment method, intent, charge and refund gone (webhooks stay registered)."""
        self._config("DELETE", "/_config/data")

    def register_webhook(self, webhook_id: str, url: str, secret: str, events: list[str] | None = None) -> None:
        """localstripe signs each event it sends to `url` with `secret` (`Stripe-Signature: t=...,v1=...`)."""
        form = {"url": url, "secret": secret}
        if events is not None:
            form.update({f"events[{i}]": event for i, event in enumerate(events)})
        self._config("POST", f"/_config/webhooks/{urllib.parse.quote(webhook_id, safe='')}", form)

    def stop(self) -> None:
        async def _cleanup() -> None:
            await self._runner.cleanup()
            # webhooks localstripe still meant to send (it waits 1 s before each): dropped with the server
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_cleanup(), _loop()).result(_START_TIMEOUT_S)


def start(port: int = 0) -> LocalStripe:
    """localstripe on 127.0.0.1:`port` (0: a free one), empty, in memory; serving when this returns. Each one started
    in a process serves the same state (localstripe's store and webhooks are its module's globals), and starting
    one empties it."""
    from aiohttp import web
    from localstripe import resources, server  # type: ignore[import-untyped]

    memory_only(resources.store)
    resources.store.clear()
    runner = web.AppRunner(server.app, access_log=None)

    async def _serve() -> int:
        await runner.setup()
        await web.TCPSite(runner, HOST, port).start()
        return int(runner.addresses[0][1])

    try:
        bound = asyncio.run_coroutine_threadsafe(_serve(), _loop()).result(_START_TIMEOUT_S)
    except Exception as error:
        raise RuntimeError(f"localstripe did not start: {error}") from error
    return LocalStripe(port=bound, _runner=runner)


def main() -> None:  # pragma: no cover (a manual tool)
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="localstripe on 127.0.0.1, in memory")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    local = start(args.port)
    print(json.dumps({"stripe_api_base": local.api_base}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    local.stop()


if __name__ == "__main__":
    main()
