"""JSON that keeps money exact: numbers are parsed into Decimal from their text and written back
from Decimal as the same digits (100.5 stays 100.5, 0.000001 stays 0.000001).

Reading needs only the standard library (`parse_float=Decimal` hands each number's text to Decimal).
Writing a Decimal as the number it is needs simplejson (the standard library writes numbers only from
int and float); it is imported the first time an answer holds one, so the functions whose answers never
carry money (the token, the JWKS, most errors) do not load it on a cold start.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32
"""How deeply a body's arrays and objects may nest (the body itself is level 1); deeper is 422 `json_invalid`.
The API's deepest body is 3 levels (a create's items)."""

MAX_INT_DIGITS = 1000
"""An integer literal longer than this is read as a Decimal: Python refuses to make an int from more than
4,300 digits (ValueError), and no field takes a number that long; the field refuses it by its bound."""

_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")  # an escaped UTF-16 surrogate (maybe unpaired)


def _int(text: str) -> int | Decimal:
    return int(text) if len(text) <= MAX_INT_DIGITS else Decimal(text)


def _depth(value: Any) -> int:
    """How deeply `value` nests (a scalar is 0), iteratively: no recursion limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str | bytes) -> Any:
    """The resolver turns a JSONDecodeError into a 422 `json_invalid`. NaN and Infinity are not JSON; nor,
    here, is a body nested deeper than MAX_DEPTH or a string with an unpaired surrogate escape (`"\\ud800"`:
    no UTF-8 can store it). Numbers of any notation and length are read exactly (Decimal, or int)."""
    try:
        doc = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None

    def no_constant(name: str) -> Any:
        raise json.JSONDecodeError("Expecting value", doc, doc.find(name))  # where it first appears

    too_deep = f"nested deeper than {MAX_DEPTH} levels"
    try:
        value = json.loads(doc, parse_float=Decimal, parse_int=_int, parse_constant=no_constant)
    except RecursionError:
        raise json.JSONDecodeError(too_deep, doc, 0) from None
    # Only a body with more than MAX_DEPTH brackets can nest that deep: the walk is skipped for nearly all.
    if doc.count("[") + doc.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise json.JSONDecodeError(too_deep, doc, 0)
    if _LONE_SURROGATE.search(doc):
        try:
            json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError("a string holds an unpaired UTF-16 surrogate", doc, 0) from None
    return value


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
