"""The seed's Get Payment (NoRamp, seeds/004) is the contract of `GET /payments/{app_id}/{payment_id}`: the
committed OpenAPI schema of that route has every key, nesting and enum of the seed's example answer, and
requires nothing the example lacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "docs" / "seeds" / "004_af29f1cb335c66ee.txt"  # a copy of the product's seed (docs/seeds/README.md)
SHARED_SEED = ROOT.parent / "shared" / "seeds" / SEED.name
SPEC = ROOT / "openapi.json"

# The seed's "Available options" lists, in the order the page gives them, and the keys they belong to.
ENUMS = {
    ("status",): ["pending", "hold", "paid", "failed", "failed-captured", "failed-transfers", "refunded", "cancelled"],
    ("payment_provider",): ["card", "us_bank_account"],
    ("price_item", "app_type"): ["individual", "marketplace"],
    ("app", "type"): ["individual", "marketplace"],
    ("app", "status"): ["draft", "submitted", "active", "disabled", "deleted"],
    ("app", "theme", "visibility"): ["public", "private"],
    ("price", "type"): ["static", "dynamic"],
    ("price", "network_type"): ["mainnet", "testnet"],
    ("price", "category"): ["payment", "bid", "auction"],
}


def _seed_example() -> dict[str, Any]:
    text = SEED.read_text()
    start = text.index('{\n"id"')  # the example answer (the path before it has braces too)
    example, _ = json.JSONDecoder().raw_decode(text[start:])
    assert isinstance(example, dict)
    return example


def _seed_enums() -> list[list[str]]:
    """The seed's enumerations as the page prints them (each `Available options:` block)."""
    text = SEED.read_text()
    blocks = text.split("Available options:")[1:]
    out = []
    for block in blocks:
        body = block.split("{", 1)[0].split("Available options", 1)[0]
        out.append([v.strip().strip(",").strip() for v in body.replace("\n", " ").split(",") if v.strip()])
    return out


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC.read_text())
    return spec


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a $ref, or the non-null branch of an anyOf (a nullable field)."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = spec["components"]["schemas"][name]
        elif "anyOf" in schema:
            branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
            assert len(branches) == 1, schema
            schema = branches[0]
        else:
            return schema


def _route_schema(spec: dict[str, Any]) -> dict[str, Any]:
    op = spec["paths"]["/payments/{app_id}/{payment_id}"]["get"]
    return _resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])


def _walk(spec: dict[str, Any], example: Any, schema: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    schema = _resolve(spec, schema)
    if not isinstance(example, dict) or not example:  # `{}` in the seed: an open object
        return problems
    props = schema.get("properties", {})
    for key, value in example.items():
        if key not in props:
            problems.append(f"{'.'.join((*path, key))}: missing from the schema")
            continue
        problems += _walk(spec, value, props[key], (*path, key))
    for key in schema.get("required", []):
        if key not in example:
            problems.append(f"{'.'.join((*path, key))}: required, but the seed's answer lacks it")
    return problems


def _at(spec: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        schema = _resolve(spec, schema)["properties"][key]
    return _resolve(spec, schema)


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="the team's shared folder is not beside this checkout (CI)")
def test_the_committed_seed_is_the_teams() -> None:
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_the_seed_lists_the_enums_this_test_checks() -> None:
    assert _seed_enums()[: len(ENUMS)] == list(ENUMS.values())


def test_the_schema_has_every_key_and_nesting_of_the_seed_and_requires_nothing_it_lacks() -> None:
    spec = _spec()
    assert _walk(spec, _seed_example(), _route_schema(spec), ()) == []


@pytest.mark.parametrize("path", list(ENUMS), ids=".".join)
def test_each_enum_is_the_seeds(path: tuple[str, ...]) -> None:
    spec = _spec()
    assert _at(spec, _route_schema(spec), path).get("enum") == ENUMS[path]


def test_the_seeds_numbers_are_numbers_and_its_strings_strings() -> None:
    spec = _spec()

    def check(example: Any, schema: dict[str, Any], path: tuple[str, ...]) -> list[str]:
        schema = _resolve(spec, schema)
        if isinstance(example, dict):
            props = schema.get("properties", {})
            return [p for k, v in example.items() if k in props for p in check(v, props[k], (*path, k))]
        expected = {bool: "boolean", int: "number", str: "string"}[type(example)]
        kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
        ok = bool(kinds & {"number", "integer"}) if expected == "number" else expected in kinds
        return [] if ok else [f"{'.'.join(path)}: {sorted(k for k in kinds if k)} is not {expected}"]

    assert check(_seed_example(), _route_schema(spec), ()) == []
