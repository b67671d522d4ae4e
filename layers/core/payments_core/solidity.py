"""Solidity ABI types, checked by a grammar (API functions never import web3 or eth_abi: cold start).

The types a trigger's ABI fragment and its parameters may name (the ABI specification's elementary types and
arrays of them; tuples are not supported):

    type       := elementary ( "[" [ length ] "]" )*       at most 4 array dimensions, a fixed length 1..1024
    elementary := "address" | "bool" | "string" | "bytes"
                | "uint" M | "int" M                       M in 8, 16, ..., 256 ("uint" alone is uint256)
                | "bytes" N                                N in 1..32

`canonical` spells a type as the ABI signature does (`uint` -> `uint256`, `int[2]` -> `int256[2]`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_DIMENSIONS = 4
MAX_FIXED_LENGTH = 1024

_TYPE = re.compile(r"(?P<base>[a-z]+)(?P<size>[0-9]*)(?P<dims>(\[[0-9]*\])*)", re.ASCII)
_DIM = re.compile(r"\[([0-9]*)\]", re.ASCII)


class AbiType(NamedTuple):
    """A parsed type: its elementary base (`uint`, `int`, `bytes`, `address`, `bool`, `string`), its size in bits
    (uint/int) or bytes (bytesN; 0 for dynamic `bytes`), and its array dimensions, innermost first (None for a
    dynamic array, `T[]`)."""

    base: str
    size: int
    dims: tuple[int | None, ...] = ()

    @property
    def element(self) -> AbiType:
        """The type of one element of an array type (the outermost dimension removed)."""
        return AbiType(self.base, self.size, self.dims[:-1])

    def __str__(self) -> str:
        if self.base in ("uint", "int") or (self.base == "bytes" and self.size):
            head = f"{self.base}{self.size}"
        else:
            head = self.base
        return head + "".join(f"[{'' if d is None else d}]" for d in self.dims)


class TypeProblem(ValueError):
    """A text that is not a supported Solidity type (its message says why)."""


def parse(text: str) -> AbiType:
    """The type `text` names; TypeProblem when it is none the grammar accepts."""
    m = _TYPE.fullmatch(text) if isinstance(text, str) and len(text) <= 64 else None
    if m is None:
        raise TypeProblem("must be a Solidity type such as uint256, address, bool, string, bytes32 or uint256[]")
    base, size_text, dims_text = m["base"], m["size"], m["dims"]
    if size_text.startswith("0"):
        raise TypeProblem("a type's size has no leading zero")
    size = int(size_text) if size_text else 0
    if base in ("uint", "int"):
        size = size or 256
        if size % 8 or not 8 <= size <= 256:
            raise TypeProblem(f"{base}M needs M a multiple of 8 from 8 to 256")
    elif base == "bytes":
        if size_text and not 1 <= size <= 32:
            raise TypeProblem("bytesN needs N from 1 to 32")
    elif base in ("address", "bool", "string"):
        if size_text:
            raise TypeProblem(f"{base} takes no size")
    else:
        raise TypeProblem(f"unknown Solidity type {base!r} (tuples and fixed-point types are not supported)")
    dims: list[int | None] = []
    for length in _DIM.findall(dims_text):
        if length == "":
            dims.append(None)
            continue
        if length.startswith("0") or not 1 <= int(length) <= MAX_FIXED_LENGTH:
            raise TypeProblem(f"a fixed array length is from 1 to {MAX_FIXED_LENGTH}, without leading zeros")
        dims.append(int(length))
    if len(dims) > MAX_DIMENSIONS:
        raise TypeProblem(f"at most {MAX_DIMENSIONS} array dimensions")
    return AbiType(base, size, tuple(dims))


def canonical(text: str) -> str:
    """`text` as the ABI signature spells it; TypeProblem if it is no supported type."""
    return str(parse(text))


def is_identifier(text: object) -> bool:
    """A Solidity identifier (a function's or an input's name)."""
    return isinstance(text, str) and re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}", text, re.ASCII) is not None
