"""payments_core.evm: the pure-Python Keccak-256 and EIP-55 checksums, against published vectors and the
libraries the chain layer uses (pycryptodome's Keccak, eth_utils' checksum)."""

from __future__ import annotations

import os

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from eth_utils.address import to_checksum_address

from payments_core import evm


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        (
            b"The quick brown fox jumps over the lazy dog",
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
        ),
        (b"transfer(address,uint256)", "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"),
    ],
)
def test_keccak256_matches_published_vectors(data: bytes, digest: str) -> None:
    assert evm.keccak256(data).hex() == digest


@pytest.mark.parametrize("length", [0, 1, 55, 135, 136, 137, 271, 272, 273, 1000])
def test_keccak256_matches_pycryptodome_at_every_block_boundary(length: int) -> None:
    data = os.urandom(length)
    assert evm.keccak256(data) == pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def test_checksum_address_matches_eth_utils() -> None:
    for _ in range(200):
        address = "0x" + os.urandom(20).hex()
        assert evm.checksum_address(address) == to_checksum_address(address)
        assert evm.address_problem(to_checksum_address(address)) is None
        assert evm.address_problem(address) is None  # all lower case: no checksum to check
        assert evm.address_problem("0x" + address[2:].upper()) is None


def test_a_mixed_case_address_with_one_letter_flipped_is_refused() -> None:
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's example
    flipped = good[:3] + good[3].swapcase() + good[4:]
    assert evm.address_problem(flipped) == (
        "address_checksum_mismatch",
        "the address's mixed case is not its EIP-55 checksum (a typo?)",
    )


def test_the_zero_address_and_malformed_ones_are_refused() -> None:
    assert evm.address_problem(evm.ZERO_ADDRESS) == ("zero_address", "must not be the zero address")
    for bad in ["0x" + "0" * 39, "0x" + "g" * 40, "0X" + "1" * 40, "1" * 42, "0x" + "1" * 41, "0x" + "\uff11" * 40]:
        problem = evm.address_problem(bad)
        assert problem is not None, bad
        assert problem[0] == "invalid_address", bad
