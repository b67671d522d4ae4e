"""A trigger's parameters (`params_data`) and the values given for them: the one validation of both, used when
a price fixes some (`trigger_data.params_data`, partial) and at checkout (the price's values and the payer's
`trigger_data_input.params_data_input`, complete).

A trigger declares its parameters as `{name: {"name": name, "type": type, "optional": bool, "nullable": bool}}`
(NoRamp's `params_data`; `type` defaults to `string`, NoRamp's documents name none). A type is a Solidity ABI
type (payments_core.solidity: `address`, `bool`, `string`, `bytes`, `bytesN`, `uintM`, `intM`, arrays `T[]` and
`T[k]`) or `number` (an exact decimal, for data that is no EVM argument). A value must be, per type:

- `string`: a JSON string of at most MAX_STRING characters;
- `bool`: true or false (not 0/1, not "true");
- `uintM` / `intM`: a JSON integer, or a string of decimal digits (for values beyond what a client's number holds:
  wei), within the type's range; never a fraction or a binary float. The canonical value is an `int`;
- `number`: a JSON number or a plain decimal string, finite, within money.py's bounds; a `Decimal`;
- `address`: an EVM address (payments_core.evm: 0x + 40 hex digits, a mixed case must be its EIP-55 checksum,
  not the zero address); the canonical value is its EIP-55 spelling (so two spellings of one address are equal);
- `bytes` / `bytesN`: `0x` and an even number of hex digits (at most MAX_BYTES bytes; exactly N for bytesN),
  kept lowercase;
- arrays: a JSON array of such values (exactly k for `T[k]`, at most MAX_ARRAY for `T[]`).

`null` is accepted only for a `nullable` parameter; an `optional` one may be left out at checkout. Every problem is
one `details` entry of a single 422 `validation_error`, its `field` the parameter's path (`<field>.<name>`, and
`.<index>` inside an array).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from payments_core import evm, money, solidity
from payments_core.errors import ValidationFailed, field_error

MAX_PARAMS = 32
"""Parameters a trigger declares, at most."""
MAX_STRING = 4096
MAX_BYTES = 4096
MAX_ARRAY = 256
MAX_INTEGER_TEXT = 80  # digits (and sign) of an integer given as text: uint256's largest has 78
NUMBER = "number"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
"""A parameter's name (also its key in `params_data`, and a field name in error details)."""

_INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)", re.ASCII)
_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", re.ASCII)
_HEX = re.compile(r"0x([0-9a-fA-F]{2})*", re.ASCII)


class ParamSpec(NamedTuple):
    name: str
    type: str  # canonical: `number` or a Solidity type as the ABI spells it
    optional: bool = False
    nullable: bool = False


def type_problem(type_: object) -> str | None:
    """Why `type_` is no parameter type (a message), or None."""
    if type_ == NUMBER:
        return None
    if not isinstance(type_, str):
        return "must be a string"
    try:
        solidity.parse(type_)
    except solidity.TypeProblem as exc:
        return f"{exc} (or `number`)"
    return None


def canonical_type(type_: str) -> str:
    return NUMBER if type_ == NUMBER else solidity.canonical(type_)


def specs(params_data: Mapping[str, Any] | None) -> dict[str, ParamSpec]:
    """A trigger's stored `params_data` as specs (stored ones were validated by the trigger's model)."""
    out: dict[str, ParamSpec] = {}
    for key, stored in (params_data or {}).items():
        raw = stored or {}
        out[key] = ParamSpec(
            name=key,
            type=canonical_type(str(raw.get("type") or "string")),
            optional=bool(raw.get("optional")),
            nullable=bool(raw.get("nullable")),
        )
    return out


class _Problems:
    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.details.append(field_error(field, code, message))


def _integer(value: Any, t: solidity.AbiType, field: str, problems: _Problems) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        problems.add(field, "int_type", f"must be an integer ({t}): a JSON integer or a string of digits")
        return None
    if isinstance(value, str):
        if len(value) > MAX_INTEGER_TEXT or not _INTEGER_TEXT.fullmatch(value):
            problems.add(field, "int_parsing", f"must be an integer ({t}) in decimal digits, no fraction or exponent")
            return None
        number = int(value)
    elif isinstance(value, Decimal):
        if value.is_finite() and value.adjusted() > MAX_INTEGER_TEXT:
            problems.add(field, "int_out_of_range", f"must be within the range of {t}")
            return None
        if not value.is_finite() or value != value.to_integral_value():
            problems.add(field, "int_from_fraction", f"must be an integer ({t}), without a fraction")
            return None
        number = int(value)
    else:
        number = value
    if t.base == "uint":
        low, high = 0, 2**t.size - 1
    else:
        low, high = -(2 ** (t.size - 1)), 2 ** (t.size - 1) - 1
    if not low <= number <= high:
        problems.add(field, "int_out_of_range", f"must be within the range of {t} ({low} to {high})")
        return None
    return number


def _number(value: Any, field: str, problems: _Problems) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        problems.add(field, "decimal_type", 'must be a JSON number or a decimal string such as "100.50"')
        return None
    if isinstance(value, str):
        if len(value) > 200 or not _DECIMAL_TEXT.fullmatch(value):
            problems.add(field, "decimal_parsing", 'must be a decimal string such as "100.50" (no exponent)')
            return None
        try:
            value = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
            problems.add(field, "decimal_parsing", "must be a decimal number")
            return None
    number = Decimal(value)
    if not number.is_finite():
        problems.add(field, "finite_number", "must be a finite number")
        return None
    bounds = money.out_of_bounds(number)
    if bounds is not None:
        problems.add(field, *bounds)
        return None
    return money.canonical(number)


def _bytes(value: Any, t: solidity.AbiType, field: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or len(value) > 2 + 2 * MAX_BYTES or not _HEX.fullmatch(value):
        problems.add(field, "bytes_type", f"must be {t} as 0x and an even number of hexadecimal digits")
        return None
    length = (len(value) - 2) // 2
    if t.size and length != t.size:
        problems.add(field, "bytes_length", f"must be exactly {t.size} bytes ({2 * t.size} hex digits)")
        return None
    if length > MAX_BYTES:  # pragma: no cover - bounded by the text's length above
        problems.add(field, "bytes_length", f"must be at most {MAX_BYTES} bytes")
        return None
    return value.lower()


def _value(value: Any, t: solidity.AbiType | None, field: str, problems: _Problems) -> Any:
    """The canonical form of one value of type `t` (None: `number`), or None after adding its problem."""
    if t is None:
        return _number(value, field, problems)
    if t.dims:
        length = t.dims[-1]
        if not isinstance(value, list):
            problems.add(field, "array_type", f"must be an array ({t})")
            return None
        if length is not None and len(value) != length:
            problems.add(field, "array_length", f"must have exactly {length} elements")
            return None
        if len(value) > MAX_ARRAY:
            problems.add(field, "array_length", f"must have at most {MAX_ARRAY} elements")
            return None
        before = len(problems.details)
        out = [_value(item, t.element, f"{field}.{i}", problems) for i, item in enumerate(value)]
        return out if len(problems.details) == before else None
    if t.base in ("uint", "int"):
        return _integer(value, t, field, problems)
    if t.base == "bool":
        if not isinstance(value, bool):
            problems.add(field, "bool_type", "must be true or false")
            return None
        return value
    if t.base == "string":
        if not isinstance(value, str):
            problems.add(field, "string_type", "must be a string")
            return None
        if len(value) > MAX_STRING:
            problems.add(field, "string_too_long", f"must have at most {MAX_STRING} characters")
            return None
        return value
    if t.base == "address":
        if not isinstance(value, str):
            problems.add(field, "invalid_address", "must be an EVM address: 0x and 40 hexadecimal digits")
            return None
        problem = evm.address_problem(value)
        if problem is not None:
            problems.add(field, *problem)
            return None
        return evm.checksum_address(value)
    return _bytes(value, t, field, problems)  # bytes, bytesN


def _check(
    declared: Mapping[str, ParamSpec], values: Any, field: str, partial: bool, problems: _Problems
) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        problems.add(field, "dict_type", "must be an object of parameter names to values")
        return {}
    out: dict[str, Any] = {}
    for name, value in values.items():
        where = f"{field}.{name}"
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(declared)) or "none"
            problems.add(where, "unknown_param", f"the trigger has no parameter {name!r} (it has: {known})")
            continue
        if value is None:
            if spec.nullable:
                out[name] = None
            else:
                problems.add(where, "null_not_allowed", "must not be null (the parameter is not nullable)")
            continue
        t = None if spec.type == NUMBER else solidity.parse(spec.type)
        before = len(problems.details)
        checked = _value(value, t, where, problems)
        if len(problems.details) == before:
            out[name] = checked
    if not partial:
        for name, spec in declared.items():
            if name not in values and not spec.optional:
                problems.add(f"{field}.{name}", "missing", f"the trigger's parameter {name!r} is required")
    return out


def validate_params(params_data: Mapping[str, Any] | None, values: Any, *, field: str, partial: bool) -> dict[str, Any]:
    """`values` checked against the trigger's `params_data`: their canonical form (integers as `int`, numbers as
    `Decimal`, bytes lowercase), or ValidationFailed (422) naming each bad parameter `<field>.<name>`.

    `partial=True` (a price fixing some parameters): any subset may be given. `partial=False` (checkout): every
    parameter that is not `optional` must be given. A name the trigger does not declare is refused either way.
    """
    problems = _Problems()
    out = _check(specs(params_data), values, field, partial, problems)
    if problems.details:
        raise ValidationFailed("The trigger's parameters are not valid", details=problems.details)
    return out


def validate_value(type_: str, value: Any, *, field: str) -> Any:
    """One value of a parameter type (`number` or a Solidity type), canonical; ValidationFailed naming `field`
    (a trigger's literal EVM argument is checked with this)."""
    problems = _Problems()
    t = None if type_ == NUMBER else solidity.parse(type_)
    checked = _value(value, t, field, problems) if value is not None else None
    if value is None:
        problems.add(field, "null_not_allowed", "must not be null")
    if problems.details:
        raise ValidationFailed("The value is not valid", details=problems.details)
    return checked


def checkout_params(
    params_data: Mapping[str, Any] | None,
    fixed: Mapping[str, Any] | None,
    given: Any,
    *,
    field: str,
) -> dict[str, Any]:
    """The complete parameters of a checkout: the price's fixed values (`trigger_data.params_data`) and the payer's
    (`given`, reported under `field`). The price wins: a parameter the price fixes keeps the price's value, and a
    payer's value for it that differs is refused (422 `param_fixed_by_price`; an equal one is accepted), so a payer
    can never redirect what the seller fixed (a recipient, an amount). The union must then cover every required
    parameter (`missing` is reported under `field`, where the payer would give it)."""
    declared = specs(params_data)
    problems = _Problems()
    payer = _check(declared, given if given is not None else {}, field, True, problems)
    price = _check(declared, fixed or {}, "price.trigger_data.params_data", True, problems)
    for name, value in payer.items():
        if name in price and price[name] != value:
            problems.add(f"{field}.{name}", "param_fixed_by_price", "the price fixes this parameter to another value")
    merged = {**payer, **price}
    for name, spec in declared.items():
        if name not in merged and not spec.optional:
            problems.add(f"{field}.{name}", "missing", f"the trigger's parameter {name!r} is required")
    if problems.details:
        raise ValidationFailed("The trigger's parameters are not valid", details=problems.details)
    return merged


def storable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical values as DynamoDB keeps them exactly: an integer beyond its 38 digits (a uint256) as its decimal
    text, which `validate_params` reads back as the same integer."""

    def one(value: Any) -> Any:
        if isinstance(value, list):
            return [one(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**money.MAX_DIGITS:
            return str(value)
        return value

    return {name: one(value) for name, value in values.items()}


MAX_DEPTH = 8


def json_object_problem(value: Any, max_text: int) -> tuple[str, str] | None:
    """Why `value` is no JSON object a catalog entry can keep (metadata, a chain's call data): (code, message), or
    None. At most `max_text` characters as JSON, MAX_DEPTH levels deep, its numbers finite and within money.py's
    bounds (what a DynamoDB number holds)."""
    if not isinstance(value, Mapping):
        return "dict_type", "must be a JSON object"
    import json

    def walk(node: Any, depth: int) -> tuple[str, str] | None:
        if depth > MAX_DEPTH:
            return "too_deep", f"must nest at most {MAX_DEPTH} levels"
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            if isinstance(node, float):
                return "float_not_allowed", "numbers must be exact (no binary floats)"
            if isinstance(node, Decimal | int) and not isinstance(node, bool):
                number = Decimal(node)
                if not number.is_finite():
                    return "finite_number", "numbers must be finite"
                return money.out_of_bounds(number)
            return None
        for child in children:
            problem = walk(child, depth + 1)
            if problem is not None:
                return problem
        return None

    problem = walk(value, 1)
    if problem is not None:
        return problem
    if len(json.dumps(value, default=str)) > max_text:
        return "too_long", f"must be at most {max_text} characters as JSON"
    return None
