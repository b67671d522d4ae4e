"""Results, statistics and the printed table."""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One row of the table: a measurement next to its baseline, or a plain figure (no target)."""

    section: str
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    target: float | None = None  # the highest acceptable ratio value/baseline
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    status_override: str | None = None
    # The ratio when it is measured otherwise than value / baseline (cold starts: the median of paired runs' ratios)
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.value is None or self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    @property
    def status(self) -> str:
        if self.status_override:
            return self.status_override
        ratio = self.ratio
        if self.target is None or ratio is None:
            return "INFO"
        return "PASS" if ratio <= self.target else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("status_override")
        out.update(ratio=self.ratio, status=self.status)
        return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": median(ms),
        "p90_ms": percentile(ms, 90),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "MB":
        return f"{value:.2f} MB" if value >= 1 else f"{value:.3f} MB"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 1000 else f"{value:.0f} ms"
    if unit == "gas":
        return f"{value:,.0f} gas"
    if unit == "items":
        return f"{value:.0f} items"
    return f"{value:.3g} {unit}".strip()


def table(results: list[Result]) -> str:
    headers = ("section", "measurement", "value", "baseline", "ratio", "target", "result", "note")
    rows = [
        (
            r.section,
            r.name,
            _fmt(r.value, r.unit),
            _fmt(r.baseline, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            "-" if r.target is None else f"<= {r.target:.2f}",
            r.status,
            r.note,
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    right = {2, 3, 4, 5}

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def write_json(path: Path, results: list[Result], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **meta,
        "results": [r.as_dict() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
