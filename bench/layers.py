"""Which layers each function of template.yaml runs with (the runtime's /opt/python)."""

from __future__ import annotations

from pathlib import Path

from devstack import template as tpl


def layers_of(function: str) -> list[str]:
    """The logical ids of the function's layers, in the template's order (its own list, else Globals')."""
    t = tpl.load()
    props = t["Resources"][function]["Properties"]
    refs = props.get("Layers", t.get("Globals", {}).get("Function", {}).get("Layers", []))
    return [ref["Ref"] if isinstance(ref, dict) else str(ref) for ref in refs]


def all_layers() -> list[str]:
    return list(tpl.resources("AWS::Serverless::LayerVersion"))


def source_dir(layer: str) -> Path:
    return tpl.ROOT / str(tpl.load()["Resources"][layer]["Properties"]["ContentUri"])
