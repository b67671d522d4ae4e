"""(d) What each function deploys, unzipped: its own build directory and the shared layer's."""

from __future__ import annotations

import os
from pathlib import Path

from bench.report import Result
from devstack import template as tpl

BUILD = tpl.ROOT / ".aws-sam" / "build"
LAYER = "CoreLayer"


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def run() -> list[Result]:
    if not BUILD.is_dir():
        return [
            Result(
                section="size",
                name="built functions",
                value=None,
                unit="MB",
                note=f"{BUILD.relative_to(tpl.ROOT)} is missing: run `make build` (skipped)",
                status_override="SKIP",
            )
        ]
    mb = 1024 * 1024
    layer_dir = BUILD / LAYER
    layer = tree_bytes(layer_dir) / mb if layer_dir.is_dir() else None
    results = [
        Result(
            section="size",
            name=f"{LAYER} (layer, unzipped)",
            value=layer,
            unit="MB",
            note="shared by every function" if layer is not None else "not built (skipped)",
            status_override=None if layer is not None else "SKIP",
        )
    ]
    for function in tpl.functions():
        fn_dir = BUILD / function
        if not fn_dir.is_dir():
            results.append(Result("size", function, None, "MB", note="not built (skipped)", status_override="SKIP"))
            continue
        own = tree_bytes(fn_dir) / mb
        results.append(
            Result(
                section="size",
                name=function,
                value=own,
                unit="MB",
                note="" if layer is None else f"with the layer: {own + layer:.2f} MB",
                extra={"with_layer_mb": None if layer is None else own + layer},
            )
        )
    return results
