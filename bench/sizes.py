"""(d) What each function deploys, unzipped: its own build directory and its layers' (sam build output)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.report import Result
from devstack import template as tpl

BUILD = tpl.ROOT / ".aws-sam" / "build"
MB = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT_MB = 250  # a function and all its layers, unzipped


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def _skip(name: str, why: str) -> Result:
    return Result(section="size", name=name, value=None, unit="MB", note=why, status_override="SKIP")


def run() -> list[Result]:
    if not BUILD.is_dir():
        return [_skip("built functions", f"{BUILD.relative_to(tpl.ROOT)} is missing: run `make build` (skipped)")]
    results: list[Result] = []
    layer_mb: dict[str, float] = {}
    for layer in tpl.resources("AWS::Serverless::LayerVersion"):
        if (BUILD / layer).is_dir():
            layer_mb[layer] = tree_bytes(BUILD / layer) / MB
            results.append(Result("size", f"{layer} (layer, unzipped)", layer_mb[layer], "MB"))
        else:
            results.append(_skip(f"{layer} (layer)", "not built (skipped)"))
    for function in tpl.functions():
        fn_dir = BUILD / function
        if not fn_dir.is_dir():
            results.append(_skip(function, "not built (skipped)"))
            continue
        own = tree_bytes(fn_dir) / MB
        its_layers = tpl.layers_of(function)
        missing = [name for name in its_layers if name not in layer_mb]
        total = own + sum(layer_mb.get(name, 0.0) for name in its_layers)
        note = f"with {' + '.join(its_layers) or 'no layers'}: {total:.2f} of {LAMBDA_UNZIPPED_LIMIT_MB} MB" + (
            f" (not built: {', '.join(missing)})" if missing else ""
        )
        results.append(
            Result(
                section="size",
                name=function,
                value=own,
                unit="MB",
                note=note,
                extra={"with_layers_mb": total, "layers": its_layers},
            )
        )
    return results
