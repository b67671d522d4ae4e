"""JSON that keeps money exact: numbers are parsed into Decimal from their text and written back
from Decimal as the same digits (100.5 stays 100.5, 0.000001 stays 0.000001)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import simplejson


def loads(text: str | bytes) -> Any:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return simplejson.loads(text, use_decimal=True, allow_nan=False)
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None
    except simplejson.JSONDecodeError as exc:
        # The stdlib error is what the resolver turns into a 422 `json_invalid`.
        raise json.JSONDecodeError(exc.msg, exc.doc, exc.pos) from None


def dumps(value: Any) -> str:
    text: str = simplejson.dumps(value, use_decimal=True, separators=(",", ":"), default=str)
    return text


__all__ = ["Decimal", "dumps", "loads"]
