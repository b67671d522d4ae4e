"""In-process runtime helpers for tests and the local stack."""

from __future__ import annotations

import os
from typing import Any


def reset_process_caches() -> None:
    """Forget every cached setting, client and key, as a new Lambda container would."""
    from payments_core import deps, settings
    from payments_core.store import aws

    settings.get_settings.cache_clear()
    for module in (deps, aws):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == module.__name__:
                clear()


def apply_environment(env: dict[str, Any]) -> None:
    os.environ.update({k: str(v) for k, v in env.items()})
    reset_process_caches()
