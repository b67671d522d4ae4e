"""domain/params.py: a trigger's parameters against the values a price fixes and a payer gives, and the Solidity
type grammar it reads types with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments_core import solidity
from payments_core.domain import params
from payments_core.errors import ValidationFailed

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
FIELD = "body.trigger_data_input.params_data_input"


def spec(type_: str = "string", *, optional: bool = False, nullable: bool = False) -> dict[str, Any]:
    return {"type": type_, "optional": optional, "nullable": nullable}


def refused(params_data: dict[str, Any] | None, values: Any, *, partial: bool = False) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        params.validate_params(params_data, values, field=FIELD, partial=partial)
    assert caught.value.status_code == 422
    return [(d["field"], d["code"]) for d in caught.value.details]


def ok(type_: str, value: Any) -> Any:
    return params.validate_params({"p": spec(type_)}, {"p": value}, field=FIELD, partial=False)["p"]


def bad(type_: str, value: Any) -> str:
    ((field, code),) = refused({"p": spec(type_)}, {"p": value})
    assert field == f"{FIELD}.p"
    return code


# ------------------------------------------------------------------------------------------------ types
def test_strings() -> None:
    assert ok("string", "héllo") == "héllo"
    assert ok("string", "") == ""
    assert bad("string", 5) == "string_type"
    assert bad("string", "x" * (params.MAX_STRING + 1)) == "string_too_long"


def test_a_parameter_without_a_type_is_a_string() -> None:
    assert params.validate_params({"memo": {"name": "memo"}}, {"memo": "hi"}, field=FIELD, partial=False) == {
        "memo": "hi"
    }
    assert refused({"memo": {}}, {"memo": 1}) == [(f"{FIELD}.memo", "string_type")]


def test_bools_are_true_or_false_only() -> None:
    assert ok("bool", True) is True
    assert ok("bool", False) is False
    for value in (0, 1, "true", None):
        if value is None:
            continue
        assert bad("bool", value) == "bool_type"


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("uint256", 0, 0),
        ("uint256", Decimal(12), 12),
        ("uint256", "115792089237316195423570985008687907853269984665640564039457584007913129639935", 2**256 - 1),
        ("uint8", 255, 255),
        ("uint", 7, 7),
        ("int8", -128, -128),
        ("int256", "-5", -5),
        ("uint256", Decimal("1E+3"), 1000),
    ],
)
def test_integers_within_their_type(type_: str, value: Any, expected: int) -> None:
    result = ok(type_, value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("type_", "value", "code"),
    [
        ("uint256", -1, "int_out_of_range"),
        ("uint8", 256, "int_out_of_range"),
        ("int8", 128, "int_out_of_range"),
        ("uint256", str(2**256), "int_out_of_range"),
        ("uint256", Decimal("1.5"), "int_from_fraction"),
        ("uint256", Decimal("1e999999999"), "int_out_of_range"),
        ("uint256", "1.5", "int_parsing"),
        ("uint256", "1e3", "int_parsing"),
        ("uint256", "007", "int_parsing"),
        ("uint256", " 7", "int_parsing"),
        ("uint256", True, "int_type"),
        ("uint256", 1.0, "int_type"),
        ("uint256", [1], "int_type"),
    ],
)
def test_integers_refused(type_: str, value: Any, code: str) -> None:
    assert bad(type_, value) == code


def test_numbers_are_exact_decimals_never_floats() -> None:
    assert ok("number", "100.50") == Decimal("100.5")
    assert ok("number", Decimal("0.1")) == Decimal("0.1")
    assert ok("number", 3) == Decimal(3)
    assert isinstance(ok("number", 3), Decimal)
    assert bad("number", 0.1) == "decimal_type"
    assert bad("number", True) == "decimal_type"
    assert bad("number", "1e5") == "decimal_parsing"
    assert bad("number", Decimal("NaN")) == "finite_number"
    assert bad("number", Decimal("1e40")) == "amount_too_large"


def test_addresses_are_checked_and_canonical() -> None:
    assert ok("address", ADDRESS.lower()) == ADDRESS
    assert ok("address", ADDRESS) == ADDRESS
    assert bad("address", ADDRESS.replace("C8", "c8")) == "address_checksum_mismatch"
    assert bad("address", "0x" + "0" * 40) == "zero_address"
    assert bad("address", "0x1234") == "invalid_address"
    assert bad("address", 5) == "invalid_address"


def test_bytes() -> None:
    assert ok("bytes", "0x") == "0x"
    assert ok("bytes", "0xABcd") == "0xabcd"
    assert ok("bytes32", "0x" + "ab" * 32) == "0x" + "ab" * 32
    assert bad("bytes", "0xabc") == "bytes_type"
    assert bad("bytes", "abcd") == "bytes_type"
    assert bad("bytes32", "0x" + "ab" * 31) == "bytes_length"
    assert bad("bytes", "0x" + "00" * (params.MAX_BYTES + 1)) == "bytes_type"


def test_arrays_name_the_bad_element() -> None:
    assert ok("uint8[]", [1, "2", Decimal(3)]) == [1, 2, 3]
    assert ok("address[2]", [ADDRESS, ADDRESS.lower()]) == [ADDRESS, ADDRESS]
    assert ok("uint8[][]", [[1], []]) == [[1], []]
    assert bad("uint8[2]", [1]) == "array_length"
    assert bad("uint8[]", 1) == "array_type"
    assert bad("uint8[]", list(range(params.MAX_ARRAY + 1))) == "array_length"
    assert refused({"p": spec("uint8[]")}, {"p": [1, 300, -1]}) == [
        (f"{FIELD}.p.1", "int_out_of_range"),
        (f"{FIELD}.p.2", "int_out_of_range"),
    ]


# ------------------------------------------------------------------------------------------------ presence
def test_nullable_and_optional() -> None:
    declared = {
        "to": spec("address"),
        "memo": spec("string", optional=True),
        "note": spec("string", nullable=True),
    }
    assert params.validate_params(declared, {"to": ADDRESS, "note": None}, field=FIELD, partial=False) == {
        "to": ADDRESS,
        "note": None,
    }
    assert refused(declared, {"to": ADDRESS}) == [(f"{FIELD}.note", "missing")]
    assert refused(declared, {"to": None, "memo": None, "note": None}) == [
        (f"{FIELD}.to", "null_not_allowed"),
        (f"{FIELD}.memo", "null_not_allowed"),
    ]


def test_partial_accepts_any_subset_but_not_unknown_names() -> None:
    declared = {"to": spec("address"), "amount": spec("uint256")}
    assert params.validate_params(declared, {"amount": 5}, field=FIELD, partial=True) == {"amount": 5}
    assert params.validate_params(declared, {}, field=FIELD, partial=True) == {}
    assert refused(declared, {"amount": 5, "other": 1}, partial=True) == [(f"{FIELD}.other", "unknown_param")]
    assert refused(declared, {}) == [(f"{FIELD}.to", "missing"), (f"{FIELD}.amount", "missing")]


def test_a_trigger_without_parameters_takes_none() -> None:
    assert params.validate_params(None, {}, field=FIELD, partial=False) == {}
    assert refused(None, {"x": 1}) == [(f"{FIELD}.x", "unknown_param")]


def test_values_must_be_an_object() -> None:
    assert refused({"p": spec()}, ["p"]) == [(FIELD, "dict_type")]


# ------------------------------------------------------------------------------------------------ checkout
def test_checkout_the_price_wins_and_the_union_must_be_complete() -> None:
    declared = {"to": spec("address"), "seat": spec("uint256"), "memo": spec("string", optional=True)}
    fixed = {"to": ADDRESS}
    assert params.checkout_params(declared, fixed, {"seat": "7"}, field=FIELD) == {"to": ADDRESS, "seat": 7}
    # The same value in another spelling is the same value: accepted.
    assert params.checkout_params(declared, fixed, {"to": ADDRESS.lower(), "seat": 7}, field=FIELD)["to"] == ADDRESS
    with pytest.raises(ValidationFailed) as caught:
        params.checkout_params(declared, fixed, {"to": "0x" + "11" * 20, "seat": 7}, field=FIELD)
    assert [(d["field"], d["code"]) for d in caught.value.details] == [(f"{FIELD}.to", "param_fixed_by_price")]
    with pytest.raises(ValidationFailed) as caught:
        params.checkout_params(declared, fixed, None, field=FIELD)
    assert [(d["field"], d["code"]) for d in caught.value.details] == [(f"{FIELD}.seat", "missing")]


def test_checkout_of_a_price_fixing_everything_needs_no_payer_input() -> None:
    declared = {"to": spec("address"), "seat": spec("uint256")}
    # As read back from DynamoDB: integers are Decimals there.
    assert params.checkout_params(declared, {"to": ADDRESS, "seat": Decimal(3)}, {}, field=FIELD) == {
        "to": ADDRESS,
        "seat": 3,
    }


def test_storable_keeps_integers_beyond_dynamodb_as_text_that_reads_back_the_same() -> None:
    big = 2**255
    stored = params.storable({"n": big, "small": 5, "list": [big, 1], "flag": True})
    assert stored == {"n": str(big), "small": 5, "list": [str(big), 1], "flag": True}
    declared = {"n": spec("uint256"), "small": spec("uint8"), "list": spec("uint256[]"), "flag": spec("bool")}
    assert params.validate_params(declared, stored, field=FIELD, partial=False) == {
        "n": big,
        "small": 5,
        "list": [big, 1],
        "flag": True,
    }


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_every_uint256_round_trips_through_storage(n: int) -> None:
    stored = params.storable({"n": n})["n"]
    assert params.validate_params({"n": spec("uint256")}, {"n": stored}, field=FIELD, partial=False) == {"n": n}


# ------------------------------------------------------------------------------------------------ json objects
def test_json_objects_are_bounded() -> None:
    assert params.json_object_problem({"a": [1, "x", {"b": Decimal("1.5")}]}, 100) is None
    assert params.json_object_problem([1], 100) == ("dict_type", "must be a JSON object")
    assert params.json_object_problem({"a": "x" * 200}, 100) is not None
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(params.MAX_DEPTH + 1):
        node["a"] = {}
        node = node["a"]
    assert params.json_object_problem(deep, 10_000) == ("too_deep", f"must nest at most {params.MAX_DEPTH} levels")
    assert params.json_object_problem({"a": 0.5}, 100) == (
        "float_not_allowed",
        "numbers must be exact (no binary floats)",
    )
    problem = params.json_object_problem({"a": Decimal("1e999")}, 100)
    assert problem is not None
    assert problem[0] == "amount_too_large"


# ------------------------------------------------------------------------------------------------ grammar
@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("uint", "uint256"),
        ("int", "int256"),
        ("uint8", "uint8"),
        ("bytes", "bytes"),
        ("bytes1", "bytes1"),
        ("bytes32", "bytes32"),
        ("address", "address"),
        ("bool", "bool"),
        ("string", "string"),
        ("uint[]", "uint256[]"),
        ("int[2][]", "int256[2][]"),
        ("address[3]", "address[3]"),
    ],
)
def test_solidity_types_are_read_and_spelled_canonically(text: str, canonical: str) -> None:
    assert solidity.canonical(text) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "uint7",
        "uint264",
        "uint0",
        "uint08",
        "int512",
        "bytes0",
        "bytes33",
        "address20",
        "bool8",
        "string1",
        "tuple",
        "(uint256,address)",
        "fixed128x18",
        "Uint256",
        "uint256[0]",
        "uint256[01]",
        "uint256[1025]",
        "uint256[][][][][]",
        "uint256 ",
        "",
        "function",
    ],
)
def test_solidity_types_refused(text: str) -> None:
    with pytest.raises(solidity.TypeProblem):
        solidity.parse(text)
    assert params.type_problem(text) is not None


def test_parameter_types_are_solidity_types_or_number() -> None:
    assert params.type_problem("number") is None
    assert params.type_problem("uint256[]") is None
    assert params.type_problem(5) == "must be a string"
    assert params.canonical_type("uint") == "uint256"


def test_the_grammar_does_not_import_web3_or_eth_abi() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import payments_core.domain.params, payments_core.models.triggers, payments_core.models.prices; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('web3', 'eth_abi', 'eth_utils')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
