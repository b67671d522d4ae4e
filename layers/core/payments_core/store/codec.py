"""DynamoDB attribute values <-> Python values. Numbers come back as Decimal, never float."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def update_expression(changes: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> str:
    """`SET`/`REMOVE` clauses for `changes` (a None value removes the attribute); adds their placeholders
    to `names` and `values`."""
    sets, removes = [], []
    for i, (name, value) in enumerate(changes.items()):
        names[f"#f{i}"] = name
        if value is None:
            removes.append(f"#f{i}")
        else:
            sets.append(f"#f{i} = :v{i}")
            values[f":v{i}"] = value
    clauses = (["SET " + ", ".join(sets)] if sets else []) + (["REMOVE " + ", ".join(removes)] if removes else [])
    return " ".join(clauses)
