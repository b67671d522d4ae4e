"""EVM addresses at the edge: 20 bytes as 0x + 40 hex digits, with the EIP-55 checksum checked when the case is
mixed. API functions never import web3 or eth libraries (cold start), so Keccak-256 is implemented here.

Keccak-256 is Ethereum's hash: the Keccak submission's padding (0x01), not NIST SHA3-256's (0x06), so
`hashlib.sha3_256` gives other digests. This is the reference sponge (rate 1088 bits, Keccak-f[1600]), in
pure Python: no dependency and nothing loaded at import. pycryptodome's keccak would do it in C, but it
loads cffi and pycparser when cffi is installed (it is, in the core layer): about 100-140 ms on the first
use, against about 1 ms per address here (measured on the dev machine). Tested against published vectors
and against pycryptodome.
"""

from __future__ import annotations

import re

_MASK = (1 << 64) - 1
_RATE = 136  # bytes: 1600 - 2 * 256 bits of capacity

_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip

# Rotation offsets r[x][y], lanes indexed x + 5 * y.
_ROTATIONS = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def _keccak_f(lanes: list[int]) -> None:
    for constant in _ROUND_CONSTANTS:
        # theta
        columns = [lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20] for x in range(5)]
        for x in range(5):
            d = columns[(x - 1) % 5] ^ _rotl(columns[(x + 1) % 5], 1)
            for y in range(0, 25, 5):
                lanes[x + y] ^= d
        # rho and pi
        moved = [0] * 25
        for x in range(5):
            for y in range(5):
                moved[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(lanes[x + 5 * y], _ROTATIONS[x][y])
        # chi
        for y in range(0, 25, 5):
            row = moved[y : y + 5]
            for x in range(5):
                lanes[x + y] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5])
        # iota
        lanes[0] ^= constant


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 digest of `data`."""
    padded = bytearray(data)
    padded.append(0x01)
    padded.extend(b"\x00" * (-len(padded) % _RATE))
    padded[-1] |= 0x80
    lanes = [0] * 25
    for start in range(0, len(padded), _RATE):
        block = padded[start : start + _RATE]
        for i in range(_RATE // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _keccak_f(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes[:4])


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)

ZERO_ADDRESS = "0x" + "0" * 40


def checksum_address(address: str) -> str:
    """The EIP-55 spelling of a well-formed address (`0x` + 40 hex digits, any case)."""
    hex_digits = address[2:].lower()
    digest = keccak256(hex_digits.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(n, 16) >= 8 else c for c, n in zip(hex_digits, digest[:40], strict=True))


def address_problem(address: str) -> tuple[str, str] | None:
    """Why `address` is not an EVM address a payment can be paid to: (error code, message), or None.

    All lower or all upper case carries no checksum (EIP-55) and is taken as it is; mixed case must be
    the checksummed spelling. The zero address is refused (tokens sent there are burnt)."""
    if not _ADDRESS.fullmatch(address):
        return "invalid_address", "must be an EVM address: 0x and 40 hexadecimal digits"
    if int(address, 16) == 0:
        return "zero_address", "must not be the zero address"
    body = address[2:]
    if body != body.lower() and body != body.upper() and checksum_address(address) != address:
        return "address_checksum_mismatch", "the address's mixed case is not its EIP-55 checksum (a typo?)"
    return None
