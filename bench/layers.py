"""Which layers each function of template.yaml runs with (the runtime's /opt/python)."""

from __future__ import annotations

from pathlib import Path

from devstack import template as tpl


def layers_of(function: str) -> list[str]:
    """The logical ids of the function's layers: SAM adds a function's own list to Globals' (lists in
    Globals are additive), so the chain workers run with CoreLayer + ChainLayer."""
    t = tpl.load()
    own = t["Resources"][function]["Properties"].get("Layers", [])
    refs = [*t.get("Globals", {}).get("Function", {}).get("Layers", []), *own]
    names = [ref["Ref"] if isinstance(ref, dict) else str(ref) for ref in refs]
    return list(dict.fromkeys(names))


def all_layers() -> list[str]:
    return list(tpl.resources("AWS::Serverless::LayerVersion"))


def source_dir(layer: str) -> Path:
    return tpl.ROOT / str(tpl.load()["Resources"][layer]["Properties"]["ContentUri"])
