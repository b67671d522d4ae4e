"""Make moto's DynamoDB as atomic as DynamoDB under concurrent requests.

moto 5 implements TransactWriteItems by deep-copying every table it touches and restoring the copy
when a condition fails. Two requests at once (the threaded moto server, or threads in a test) can
then lose each other's writes: a failed transaction restores a snapshot taken before a concurrent
successful write. DynamoDB itself is atomic, so the emulator serialises moto's DynamoDB writes.
This changes nothing in what is emulated, only the interleaving moto allows.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("transact_write_items", "put_item", "update_item", "delete_item", "batch_write_item")
_applied = False


def apply() -> None:
    global _applied  # noqa: PLW0603 - patch once per process
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _applied = True
