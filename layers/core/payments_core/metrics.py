"""Business metrics: CloudWatch Embedded Metric Format lines written by powertools' EMF provider, one batch
per invocation, flushed when the handler returns (`log_metrics`).

    metrics.count("PaymentsCreated", method="web3", metadata={"payment_id": payment_id})
    metrics.gauge("WatcherLagBlocks", 3, network="sepolia", rollup=True)

Every line has the namespace `RudiqPay` and the `service` dimension (POWERTOOLS_SERVICE_NAME). Dimensions
are a closed set of low-cardinality names (`DIMENSIONS`); ids go in `metadata` (searchable in the log line,
never a dimension, never a metric series of their own); secrets, tokens and payers' addresses go nowhere.
`rollup=True` adds a `service`-only dimension set to the same line, so one alarm covers every network.

Cost: `import aws_lambda_powertools` (any of its utilities) already loads the metrics package; the EMF
provider is built at the flush, only for an invocation that recorded something. A metric recorded outside
an invocation (a script, a test without `invocation()`) is dropped. The batch lives in a ContextVar: the
local stack runs concurrent invocations in threads of one process, and each keeps its own.

Where the lines go: stdout (Lambda sends it to CloudWatch Logs, which extracts the metrics); the local
stack writes them to a file instead (`write_to`). A failure to write metrics never fails the invocation.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any

NAMESPACE = "RudiqPay"
DEFAULT_SERVICE = "payments"

DIMENSIONS = frozenset({"method", "error_code", "operation", "network", "worker", "function_name"})
"""The only dimension names a metric may have: each takes a handful of values (no ids, no addresses)."""

COUNT = "Count"
NONE = "None"

_Dims = tuple[tuple[str, str], ...]
_Key = tuple[_Dims, bool, tuple[tuple[str, str], ...]]  # dimensions, rollup, metadata


# Plain classes, not dataclasses: defining a dataclass costs ~1 ms of every cold start (decision 0021).
class _Line:
    """Metrics sharing dimensions and metadata: one EMF line. Counts are summed, gauges keep each value."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], list[float]] = {}  # (name, unit) -> values


class Batch:
    """What one invocation recorded, by line."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: dict[_Key, _Line] = {}

    def add(
        self,
        name: str,
        unit: str,
        value: float,
        *,
        dims: dict[str, str],
        rollup: bool,
        meta: dict[str, Any],
        sum_: bool,
    ) -> None:
        bad = set(dims) - DIMENSIONS
        if bad:
            raise ValueError(f"metric {name}: {sorted(bad)} may not be dimensions (ids go in metadata)")
        key: _Key = (
            tuple(sorted((k, str(v)) for k, v in dims.items())),
            rollup,
            tuple(sorted((k, str(v)) for k, v in meta.items())),
        )
        line = self.lines.setdefault(key, _Line())
        values = line.values.setdefault((name, unit), [])
        if sum_ and values:
            values[0] += float(value)
            return
        values.append(float(value))

    def emf(self, service: str) -> list[dict[str, Any]]:
        """The batch as EMF documents, serialised by powertools' provider (one per line)."""
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        out = []
        for (dims, rollup, meta), line in self.lines.items():
            provider = AmazonCloudWatchEMFProvider(
                namespace=NAMESPACE, service=service, metric_set={}, dimension_set={}, metadata_set=dict(meta)
            )
            provider.add_dimension(name="service", value=service)
            for k, v in dims:
                provider.add_dimension(name=k, value=v)
            if rollup and dims:
                provider.add_dimensions(service=service)
            for (name, unit), values in line.values.items():
                for value in values:
                    provider.add_metric(name=name, unit=unit, value=value)
            out.append(dict(provider.serialize_metric_set()))
        return out


_current: ContextVar[Batch | None] = ContextVar("payments_metrics", default=None)


# ---------------------------------------------------------------------------------------------- recording
def count(
    name: str, value: float = 1, *, rollup: bool = False, metadata: dict[str, Any] | None = None, **dims: str
) -> None:
    """Add `value` to a counter of this invocation (summed per dimensions and metadata)."""
    batch = _current.get()
    if batch is not None:
        batch.add(name, COUNT, value, dims=dims, rollup=rollup, meta=metadata or {}, sum_=True)


def gauge(
    name: str,
    value: float,
    *,
    unit: str = NONE,
    rollup: bool = False,
    metadata: dict[str, Any] | None = None,
    **dims: str,
) -> None:
    """Record one observation (every value is kept: CloudWatch computes Minimum, Maximum, Average)."""
    batch = _current.get()
    if batch is not None:
        batch.add(name, unit, value, dims=dims, rollup=rollup, meta=metadata or {}, sum_=False)


def current() -> Batch | None:
    return _current.get()


# ---------------------------------------------------------------------------------------------- output
_sink_lock = threading.Lock()
_sink: dict[str, Callable[[str], None]] = {}


def _stdout(line: str) -> None:
    print(line, flush=True)  # EMF is read from the function's stdout


def set_writer(write: Callable[[str], None] | None) -> None:
    """Where the EMF lines go (one JSON document a call); None: stdout again."""
    if write is None:
        _sink.pop("write", None)
    else:
        _sink["write"] = write


def write_to(path: Path) -> None:
    """Append the EMF lines to `path` instead of stdout (the local stack: .dev/metrics.jsonl)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def append(line: str) -> None:
        with _sink_lock, path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    set_writer(append)


def _disabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")


def flush(batch: Batch) -> int:
    """Write the batch's lines; returns how many. Never raises: metrics must not fail an invocation."""
    if not batch.lines or _disabled():
        return 0
    try:
        documents = batch.emf(os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
        write = _sink.get("write", _stdout)
        for doc in documents:
            write(json.dumps(doc, separators=(",", ":")))
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        from payments_core.observability import logger

        logger.warning("metrics not written", extra={"error_type": type(exc).__name__})
        return 0
    finally:
        batch.lines.clear()
    return len(documents)


@contextmanager
def invocation() -> Iterator[Batch]:
    """A batch for the code inside, flushed at the end (what `log_metrics` does around a handler)."""
    batch = Batch()
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)
        flush(batch)


def log_metrics[F: Callable[..., Any]](handler: F) -> F:
    """Around a Lambda handler: the invocation's metrics flushed when it returns or raises, a `ColdStart`
    count (by function name) on the first invocation of this handler, and the correlation id it sets
    scoped to it (observability.correlation_scope)."""
    from payments_core.observability import correlation_scope

    cold = [True]

    @wraps(handler)
    def wrapped(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        with correlation_scope(), invocation():
            if cold:
                cold.clear()
                count("ColdStart", function_name=str(getattr(context, "function_name", "") or "unknown"))
            return handler(event, context, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
