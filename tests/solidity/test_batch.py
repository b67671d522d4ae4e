"""PaymentsFacet.createDeals: several deals in one transaction, all or nothing per ref (a refused entry is skipped
with DealSkipped, never reverting the others), only platform wallets, and its gas per deal against createDeal's."""

from __future__ import annotations

from typing import Any

import pytest
from eth_typing import ChecksumAddress
from web3.types import TxReceipt

from tests.solidity.evm import (
    ZERO_ADDRESS,
    Deal,
    DealStatus,
    SkipReason,
    System,
    deploy,
    event_args,
    ref,
    reverts_with,
    send,
)

AMOUNT = 25_000_000  # 25.000000 USDT (6 decimals)
TTL = 3600

Terms = tuple[bytes, ChecksumAddress, ChecksumAddress, int, int]


def terms(system: System, text: str, **overrides: Any) -> Terms:
    """One DealTerms entry (ref, payee, token, amount, expiresAt), valid unless overridden."""
    values: dict[str, Any] = {
        "ref": ref(text),
        "payee": system.payee,
        "token": system.usdt.address,
        "amount": AMOUNT,
        "expires_at": system.now() + TTL,
    }
    values.update(overrides)
    return (values["ref"], values["payee"], values["token"], values["amount"], values["expires_at"])


def create_deals(
    system: System, batch: list[Terms], sender: ChecksumAddress | None = None
) -> tuple[list[int], TxReceipt]:
    """The dealIds createDeals answers (simulated first, in the same state) and the mined receipt."""
    caller = sender or system.platform
    call = system.payments.functions.createDeals(batch)
    answered = [int(i) for i in call.call({"from": caller})]
    return answered, send(system.w3, call, caller)


def skipped(system: System, receipt: TxReceipt) -> list[tuple[bytes, SkipReason, int]]:
    events = event_args(system.payments, "DealSkipped", receipt)
    return [(e["ref"], SkipReason(e["reason"]), e["dealId"]) for e in events]


def created_ids(system: System, receipt: TxReceipt) -> list[tuple[int, bytes]]:
    return [(e["dealId"], e["ref"]) for e in event_args(system.payments, "DealCreated", receipt)]


def next_deal_id(system: System) -> int:
    """The id the next createDeal gets (lastDealId + 1), by creating it."""
    receipt = send(
        system.w3,
        system.payments.functions.createDeal(
            ref(f"probe-{system.now()}"), system.payee, system.usdt.address, 1, system.now() + TTL
        ),
        system.platform,
    )
    return int(event_args(system.payments, "DealCreated", receipt)[0]["dealId"])


def test_a_batch_creates_every_deal_in_order(system: System) -> None:
    batch = [terms(system, f"pay_batch_{n}", amount=AMOUNT + n) for n in range(3)]

    answered, receipt = create_deals(system, batch)

    assert answered == [1, 2, 3]
    events = event_args(system.payments, "DealCreated", receipt)
    assert events == [
        {
            "dealId": n + 1,
            "ref": batch[n][0],
            "creator": system.platform,
            "payee": system.payee,
            "token": system.usdt.address,
            "amount": AMOUNT + n,
            "expiresAt": batch[n][4],
        }
        for n in range(3)
    ]
    assert skipped(system, receipt) == []
    for n in range(3):
        assert system.payments.functions.dealIdOf(batch[n][0]).call() == n + 1
        assert Deal.from_abi(system.payments.functions.getDeal(n + 1).call()) == Deal(
            ref=batch[n][0],
            creator=system.platform,
            payee=system.payee,
            token=system.usdt.address,
            amount=AMOUNT + n,
            expires_at=batch[n][4],
            payer=ZERO_ADDRESS,
            status=DealStatus.OPEN,
        )
    assert next_deal_id(system) == 4  # lastDealId was written once, at the batch's last id


def test_a_batched_deal_is_an_ordinary_deal(system: System) -> None:
    """Deposit and cancel work on a deal created in a batch exactly as on one from createDeal."""
    answered, _ = create_deals(system, [terms(system, "pay_batched_pay"), terms(system, "pay_batched_cancel")])
    send(system.w3, system.usdt.functions.mint(system.payer, AMOUNT), system.owner)
    send(system.w3, system.usdt.functions.approve(system.payments.address, AMOUNT), system.payer)

    send(system.w3, system.payments.functions.deposit(answered[0]), system.payer)
    send(system.w3, system.payments.functions.cancelDeal(answered[1]), system.platform)

    assert Deal.from_abi(system.payments.functions.getDeal(answered[0]).call()).status is DealStatus.PAID
    assert Deal.from_abi(system.payments.functions.getDeal(answered[1]).call()).status is DealStatus.CANCELLED


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("ref", SkipReason.INVALID_REF),
        ("payee", SkipReason.ZERO_PAYEE),
        ("token", SkipReason.INVALID_TOKEN),
        ("amount", SkipReason.INVALID_AMOUNT),
        ("expires_at", SkipReason.INVALID_EXPIRY),
    ],
)
def test_an_entry_createdeal_would_refuse_is_skipped_and_the_others_are_created(
    system: System, field: str, reason: SkipReason
) -> None:
    # The chain's clock an hour ahead of the wall clock (as in test_payments): `now` is then in the past for the
    # block the transaction runs in, whatever second it is built at.
    system.tester.time_travel(system.now() + 3600)
    now = system.now()
    bad_values = {"ref": b"\x00" * 32, "payee": ZERO_ADDRESS, "token": system.stranger, "amount": 0, "expires_at": now}
    bad = terms(system, "pay_bad", **{field: bad_values[field]})
    batch = [terms(system, "pay_good_1"), bad, terms(system, "pay_good_2")]

    answered, receipt = create_deals(system, batch)

    assert answered == [1, 0, 2]
    assert created_ids(system, receipt) == [(1, batch[0][0]), (2, batch[2][0])]
    assert skipped(system, receipt) == [(bad[0], reason, 0)]
    if field != "ref":
        assert system.payments.functions.dealIdOf(bad[0]).call() == 0  # the skipped ref is still free
    # createDeal refuses exactly the same entry (the one check both share)
    error = {
        SkipReason.INVALID_REF: ("InvalidRef",),
        SkipReason.ZERO_PAYEE: ("ZeroAddress",),
        SkipReason.INVALID_TOKEN: ("InvalidToken", system.stranger),
        SkipReason.INVALID_AMOUNT: ("InvalidAmount",),
    }.get(reason)
    if error is not None:
        with reverts_with(system.payments.abi, *error):
            send(system.w3, system.payments.functions.createDeal(*bad), system.platform)


def test_a_used_ref_is_skipped_with_its_existing_deal(system: System) -> None:
    first, _ = create_deals(system, [terms(system, "pay_used")])
    send(system.w3, system.payments.functions.cancelDeal(first[0]), system.platform)  # stays used after a cancel

    answered, receipt = create_deals(system, [terms(system, "pay_used", amount=1), terms(system, "pay_fresh")])

    assert answered == [0, 2]  # a non-zero slot always means "created by this call"
    assert skipped(system, receipt) == [(ref("pay_used"), SkipReason.REF_ALREADY_USED, first[0])]
    assert created_ids(system, receipt) == [(2, ref("pay_fresh"))]
    deal = Deal.from_abi(system.payments.functions.getDeal(first[0]).call())
    assert (deal.amount, deal.status) == (AMOUNT, DealStatus.CANCELLED)  # the first deal is untouched


def test_a_ref_twice_in_one_batch_creates_one_deal(system: System) -> None:
    batch = [terms(system, "pay_twice"), terms(system, "pay_twice", amount=1)]

    answered, receipt = create_deals(system, batch)

    assert answered == [1, 0]
    assert skipped(system, receipt) == [(ref("pay_twice"), SkipReason.REF_ALREADY_USED, 1)]
    assert Deal.from_abi(system.payments.functions.getDeal(1).call()).amount == AMOUNT
    assert next_deal_id(system) == 2


def test_a_mixed_batch_reports_every_entry(system: System) -> None:
    system.tester.time_travel(system.now() + 3600)
    now = system.now()
    create_deals(system, [terms(system, "pay_mixed_old")])  # deal 1
    batch = [
        terms(system, "pay_mixed_a"),
        terms(system, "pay_mixed_old"),
        terms(system, "pay_mixed_zero_payee", payee=ZERO_ADDRESS),
        terms(system, "pay_mixed_b"),
        terms(system, "pay_mixed_eoa_token", token=system.stranger),
        terms(system, "pay_mixed_zero", amount=0),
        terms(system, "pay_mixed_past", expires_at=now),
        terms(system, "pay_mixed_zero_ref", ref=b"\x00" * 32),
        terms(system, "pay_mixed_c"),
    ]

    answered, receipt = create_deals(system, batch)

    assert answered == [2, 0, 0, 3, 0, 0, 0, 0, 4]
    assert created_ids(system, receipt) == [(2, batch[0][0]), (3, batch[3][0]), (4, batch[8][0])]
    assert skipped(system, receipt) == [
        (ref("pay_mixed_old"), SkipReason.REF_ALREADY_USED, 1),
        (ref("pay_mixed_zero_payee"), SkipReason.ZERO_PAYEE, 0),
        (ref("pay_mixed_eoa_token"), SkipReason.INVALID_TOKEN, 0),
        (ref("pay_mixed_zero"), SkipReason.INVALID_AMOUNT, 0),
        (ref("pay_mixed_past"), SkipReason.INVALID_EXPIRY, 0),
        (b"\x00" * 32, SkipReason.INVALID_REF, 0),
    ]
    # the logs interleave as the entries do
    topics: dict[str, str] = {
        system.payments.events.DealCreated().topic: "created",
        system.payments.events.DealSkipped().topic: "skipped",
    }
    order = [topics["0x" + bytes(log["topics"][0]).hex()] for log in receipt["logs"]]
    assert order == ["created" if i else "skipped" for i in answered]


def test_a_batch_where_everything_is_refused_creates_nothing(system: System) -> None:
    answered, receipt = create_deals(system, [terms(system, "pay_nothing", amount=0)])

    assert answered == [0]
    assert created_ids(system, receipt) == []
    assert skipped(system, receipt) == [(ref("pay_nothing"), SkipReason.INVALID_AMOUNT, 0)]
    assert next_deal_id(system) == 1


def test_an_empty_batch_does_nothing(system: System) -> None:
    answered, receipt = create_deals(system, [])

    assert answered == []
    assert receipt["logs"] == []


@pytest.mark.parametrize("who", ["stranger", "owner", "payer"])
def test_only_platform_wallets_can_create_a_batch(system: System, who: str) -> None:
    caller: ChecksumAddress = getattr(system, who)

    with reverts_with(system.payments.abi, "NotPlatformWallet", caller):
        create_deals(system, [terms(system, "pay_intruder")], sender=caller)

    assert system.payments.functions.dealIdOf(ref("pay_intruder")).call() == 0


def test_a_revoked_platform_wallet_cannot_create_a_batch(system: System) -> None:
    send(system.w3, system.payments.functions.setPlatformWallet(system.platform, False), system.owner)

    with reverts_with(system.payments.abi, "NotPlatformWallet", system.platform):
        create_deals(system, [terms(system, "pay_revoked")])


def test_create_deals_cannot_be_reentered_from_a_deposit(system: System) -> None:
    """A token that calls createDeals from inside the deposit's transferFrom (and is even a platform wallet, so
    only the guard stands in its way) makes the deposit revert with the guard's error; nothing is created."""
    token = deploy(system.w3, "ReentrantToken", system.owner)
    send(system.w3, system.payments.functions.setPlatformWallet(token.address, True), system.owner)
    (deal_id,), _ = create_deals(system, [terms(system, "pay_reentrant", token=token.address)])
    send(system.w3, token.functions.mint(system.payer, AMOUNT), system.owner)
    send(system.w3, token.functions.approve(system.payments.address, AMOUNT), system.payer)
    send(system.w3, token.functions.arm(ref("pay_reentry")), system.owner)

    with reverts_with(system.payments.abi, "ReentrancyGuardReentrantCall"):
        send(system.w3, system.payments.functions.deposit(deal_id), system.payer)

    assert system.payments.functions.dealIdOf(ref("pay_reentry")).call() == 0
    assert Deal.from_abi(system.payments.functions.getDeal(deal_id).call()).status is DealStatus.OPEN
    assert next_deal_id(system) == deal_id + 1


def test_batching_cuts_the_gas_per_deal(system: System) -> None:
    """A deal in a batch of 10 costs visibly less than one from createDeal (the transaction's base cost, the
    wallet check and the lastDealId write are paid once), and a batch of 1 costs about what createDeal does."""
    create = system.payments.functions.createDeal
    send(system.w3, create(*terms(system, "pay_warm")), system.platform)  # lastDealId is non-zero from here on
    single = int(send(system.w3, create(*terms(system, "pay_single")), system.platform)["gasUsed"])
    _, one = create_deals(system, [terms(system, "pay_one")])
    _, ten = create_deals(system, [terms(system, f"pay_ten_{n}") for n in range(10)])

    per_deal_of_ten = int(ten["gasUsed"]) / 10
    assert per_deal_of_ten < 0.9 * single, (single, per_deal_of_ten)
    assert abs(int(one["gasUsed"]) - single) < 0.03 * single, (single, one["gasUsed"])
