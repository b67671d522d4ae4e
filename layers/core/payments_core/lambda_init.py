"""The Lambda init phase: the cyclic garbage collector is paused while a handler module loads.

Every handler module imports it first, through payments_core.handlers (the one handler convention), and
`done()` runs when the module builds its handler there, as its last statement:

    from payments_core import handlers  # isort: skip - first: ...
    ...
    handler = handlers.api(app)

Loading boto3, pydantic, powertools (and web3 in the chain functions) builds a few hundred thousand objects
that live as long as the container, and almost no garbage. With the collector running, every 2,000
allocations start a collection that walks the objects just built, and the older generations are walked
again and again as they fill: 25-35 ms of each cold start here, a tenth of it (measured with `gc.callbacks`;
`make bench` shows the cold starts). `done()` then freezes what the import built (`gc.freeze`: moved to a
generation no collection walks, which also keeps the warm invocations' collections short) and turns the
collector back on. This is the sequence the Python documentation gives for long-lived preloaded state.
The price: cyclic garbage made while the modules load (a few hundred objects) is never freed.

Only the first import pauses the collector, and `done()` acts only after that pause: a process that loads
several handlers (the tests, the local stack) pauses and freezes once, for the first.
"""

from __future__ import annotations

import gc

_pause = {"paused_here": gc.isenabled()}  # a collector someone else turned off stays off
gc.disable()


def done() -> None:
    """The handler module is loaded: freeze what it built and turn the collector back on."""
    if _pause.pop("paused_here", False):
        gc.freeze()
        gc.enable()
