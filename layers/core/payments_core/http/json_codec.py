"""JSON that keeps money exact: numbers are parsed into Decimal from their text and written back
from Decimal as the same digits (100.5 stays 100.5, 0.000001 stays 0.000001)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import simplejson


def loads(text: str | bytes) -> Any:
    return simplejson.loads(text, use_decimal=True)


def dumps(value: Any) -> str:
    return simplejson.dumps(value, use_decimal=True, separators=(",", ":"), default=str)


__all__ = ["Decimal", "dumps", "loads"]
