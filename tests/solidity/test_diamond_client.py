"""payments_chain.client.DiamondClient.create_deals on eth-tester: one createDeals transaction, the receipt's
DealCreated / DealSkipped events mapped back to the requests, requests that cannot be encoded skipped locally."""

from __future__ import annotations

import re

import pytest

from payments_chain.client import SKIP_REASONS, DealRequest, DiamondClient, SkippedDeal
from payments_core.domain.chain_work import ChainError, CreatedDeal
from tests.solidity.evm import CONTRACTS_DIR, ZERO_ADDRESS, System

AMOUNT = 25_000_000
TTL = 3600


def client(system: System) -> DiamondClient:
    return DiamondClient(system.w3, system.payments.address)


def key(system: System, index: int = 1) -> str:
    """eth-tester's private key of account `index` (1 is the platform wallet)."""
    return str(system.tester.backend.account_keys[index].to_hex())


def ref(n: int) -> str:
    return f"0x{n:064x}"


def request(system: System, n: int, **overrides: object) -> DealRequest:
    values: dict[str, object] = {
        "ref": ref(n),
        "payee": system.payee,
        "token": system.usdt.address,
        "amount": AMOUNT,
        "expires_at": system.now() + TTL,
    }
    values.update(overrides)
    return DealRequest(**values)  # type: ignore[arg-type]


def nonce(system: System) -> int:
    return int(system.w3.eth.get_transaction_count(system.platform))


def test_create_deals_creates_each_deal_in_one_transaction(system: System) -> None:
    requests = [request(system, n, amount=AMOUNT + n) for n in (1, 2, 3)]
    before = nonce(system)

    created = client(system).create_deals(key(system), requests)

    assert nonce(system) == before + 1  # one transaction
    assert all(isinstance(c, CreatedDeal) for c in created)
    deals = [c for c in created if c is not None]
    assert [c.deal_id for c in deals] == [1, 2, 3]
    receipt = system.w3.eth.get_transaction_receipt(deals[0].transaction_hash)  # type: ignore[arg-type]
    assert {(c.transaction_hash, c.block_number) for c in deals} == {
        ("0x" + bytes(receipt["transactionHash"]).hex(), int(receipt["blockNumber"]))
    }
    for r, c in zip(requests, deals, strict=True):
        assert client(system).deal_id_of(r.ref) == c.deal_id
        deal = client(system).get_deal(c.deal_id)
        assert (deal.ref, deal.creator, deal.payee, deal.amount) == (r.ref, system.platform, system.payee, r.amount)
    # what the watcher scans sees every batched deal as an ordinary DealCreated (DealSkipped is not one of its events)
    scanned = client(system).events(int(receipt["blockNumber"]), int(receipt["blockNumber"]))
    assert [(e.name, e.deal_id) for e in scanned] == [("DealCreated", 1), ("DealCreated", 2), ("DealCreated", 3)]


def test_refused_requests_are_none_and_detailed_with_their_reason(system: System) -> None:
    system.tester.time_travel(system.now() + 3600)  # `now` is then past for the block the transaction runs in
    now = system.now()
    used = client(system).create_deal(
        key(system), ref=ref(9), payee=system.payee, token=system.usdt.address, amount=AMOUNT, expires_at=now + TTL
    )
    requests = [
        request(system, 9),  # ref already used
        request(system, 10, payee=ZERO_ADDRESS),
        request(system, 11, token=system.stranger),  # no code
        request(system, 12, amount=0),
        request(system, 13, expires_at=now),
        request(system, 0),  # the zero ref
        request(system, 14),
    ]

    detailed = client(system).create_deals_detailed(key(system), requests)

    assert detailed[:6] == [
        SkippedDeal(ref(9), "ref_already_used", used.deal_id),
        SkippedDeal(ref(10), "zero_payee"),
        SkippedDeal(ref(11), "invalid_token"),
        SkippedDeal(ref(12), "invalid_amount"),
        SkippedDeal(ref(13), "invalid_expiry"),
        SkippedDeal(ref(0), "invalid_ref"),
    ]
    assert isinstance(detailed[6], CreatedDeal)
    assert detailed[6].deal_id == used.deal_id + 1
    # the same batch through create_deals: None for every skipped request (its state is unchanged by the first run,
    # except that request 14 is now used too)
    plain = client(system).create_deals(key(system), [*requests[1:6], request(system, 15)])
    assert plain[:5] == [None] * 5
    assert isinstance(plain[5], CreatedDeal)
    assert plain[5].deal_id == used.deal_id + 2
    # recovery of the used ref reads its existing deal
    found = client(system).find_created(ref(9))
    assert found is not None
    assert (found.deal_id, found.transaction_hash) == (used.deal_id, used.transaction_hash)


def test_requests_that_cannot_be_encoded_are_skipped_without_stopping_the_others(system: System) -> None:
    requests = [
        request(system, 1, payee="0xnot-an-address"),
        request(system, 2, token="0x1234"),
        request(system, 3, ref="0x" + "ab" * 33),  # more than 32 bytes
        request(system, 4, ref="pay_not_hex"),
        request(system, 5, amount=-1),
        request(system, 6, amount=2**256),
        request(system, 7, expires_at=2**64),
        request(system, 8),
    ]
    before = nonce(system)

    detailed = client(system).create_deals_detailed(key(system), requests)

    reasons = ["unusable_payee", "unusable_token", "invalid_ref", "invalid_ref"]
    reasons += ["invalid_amount", "invalid_amount", "invalid_expiry"]
    assert detailed[:7] == [SkippedDeal(r.ref, reason) for r, reason in zip(requests, reasons, strict=False)]
    assert isinstance(detailed[7], CreatedDeal)
    assert detailed[7].deal_id == 1
    assert nonce(system) == before + 1


def test_nothing_to_send_sends_nothing(system: System) -> None:
    before = nonce(system)

    assert client(system).create_deals(key(system), []) == []
    assert client(system).create_deals(key(system), [request(system, 1, payee="nope")]) == [None]
    assert nonce(system) == before


def test_a_ref_twice_is_refused_before_anything_is_sent(system: System) -> None:
    before = nonce(system)

    with pytest.raises(ValueError, match="its own ref"):
        client(system).create_deals(key(system), [request(system, 1), request(system, 1, amount=1)])
    assert nonce(system) == before
    assert client(system).deal_id_of(ref(1)) == 0


def test_a_key_that_is_not_a_platform_wallet_reverts_the_batch(system: System) -> None:
    with pytest.raises(ChainError) as info:
        client(system).create_deals(key(system, 4), [request(system, 1)])  # the stranger

    assert info.value.reverted is True
    assert client(system).deal_id_of(ref(1)) == 0


def test_a_plain_tuple_is_a_request(system: System) -> None:
    """The Chain protocol types a request as a 5-tuple; DealRequest is one with names."""
    terms = (ref(1), str(system.payee), str(system.usdt.address), AMOUNT, system.now() + TTL)

    created = client(system).create_deals(key(system), [terms])

    assert [c.deal_id if c else None for c in created] == [1]


def test_skip_reason_codes_follow_the_contracts_enum() -> None:
    """SKIP_REASONS[i] is IPayments.SkipReason's member i (the ABI carries only the uint8), in snake case."""
    source = (CONTRACTS_DIR / "src" / "interfaces" / "IPayments.sol").read_text(encoding="utf-8")
    body = re.search(r"enum SkipReason \{(.*?)\}", source, re.DOTALL)
    assert body is not None
    members = [re.sub(r"//.*", "", line).strip().rstrip(",") for line in body.group(1).splitlines()]
    snake = [re.sub(r"(?<!^)(?=[A-Z])", "_", m).lower() for m in members if m]
    assert snake == list(SKIP_REASONS)
