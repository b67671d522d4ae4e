"""JSON that keeps money exact: numbers are parsed into Decimal from their text and written back
from Decimal as the same digits (100.5 stays 100.5, 0.000001 stays 0.000001).

Reading needs only the standard library (`parse_float=Decimal` hands each number's text to Decimal).
Writing a Decimal as the number it is needs simplejson (the standard library writes numbers only from
int and float); it is imported the first time an answer holds one, so the functions whose answers never
carry money (the token, the JWKS, most errors) do not load it on a cold start.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    """The resolver turns a JSONDecodeError into a 422 `json_invalid`. NaN and Infinity are not JSON."""
    try:
        doc = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None

    def no_constant(name: str) -> Any:
        raise json.JSONDecodeError("Expecting value", doc, doc.find(name))  # where it first appears

    return json.loads(doc, parse_float=Decimal, parse_constant=no_constant)


class _HoldsDecimal(Exception):
    """The value holds a Decimal: the standard library cannot write it exactly."""


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        raise _HoldsDecimal
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON; anything not JSON (a UUID, a datetime) is written as its str()."""
    try:
        return json.dumps(value, separators=(",", ":"), default=_plain)
    except _HoldsDecimal:
        import simplejson

        text: str = simplejson.dumps(value, use_decimal=True, separators=(",", ":"), default=str)
        return text


__all__ = ["Decimal", "dumps", "loads"]
