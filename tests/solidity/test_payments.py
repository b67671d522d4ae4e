"""PaymentsFacet through the diamond: create -> approve -> deposit -> cancel/refund, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from eth_typing import ChecksumAddress
from web3.contract import Contract
from web3.types import TxReceipt

from tests.solidity.evm import (
    ZERO_ADDRESS,
    Deal,
    DealStatus,
    System,
    deploy,
    event_args,
    ref,
    reverts_with,
    send,
)

AMOUNT = 25_000_000  # 25.000000 USDT (6 decimals)
TTL = 3600


def create_deal(
    system: System,
    deal_ref: bytes,
    *,
    amount: int = AMOUNT,
    token: Contract | None = None,
    expires_at: int | None = None,
    creator: ChecksumAddress | None = None,
) -> tuple[int, TxReceipt]:
    """createDeal from the platform wallet; returns the deal id (from the DealCreated event) and the receipt."""
    token_address = (token or system.usdt).address
    expiry = expires_at if expires_at is not None else system.now() + TTL
    receipt = send(
        system.w3,
        system.payments.functions.createDeal(deal_ref, system.payee, token_address, amount, expiry),
        creator or system.platform,
    )
    (event,) = event_args(system.payments, "DealCreated", receipt)
    return int(event["dealId"]), receipt


def fund(system: System, token: Contract, *, balance: int = AMOUNT, allowance: int = AMOUNT) -> None:
    """Mint `balance` to the payer and approve the diamond for `allowance`."""
    send(system.w3, token.functions.mint(system.payer, balance), system.owner)
    send(system.w3, token.functions.approve(system.payments.address, allowance), system.payer)


def deposit(system: System, deal_id: int) -> TxReceipt:
    return send(system.w3, system.payments.functions.deposit(deal_id), system.payer)


def get_deal(system: System, deal_id: int) -> Deal:
    return Deal.from_abi(system.payments.functions.getDeal(deal_id).call())


def balance(token: Contract, owner: ChecksumAddress) -> int:
    return int(token.functions.balanceOf(owner).call())


# --- happy path -------------------------------------------------------------------------------------------------------


def test_create_approve_deposit(system: System) -> None:
    deal_ref = ref("pay_happy")
    expires_at = system.now() + TTL
    deal_id, created = create_deal(system, deal_ref, expires_at=expires_at)

    assert deal_id == 1
    assert event_args(system.payments, "DealCreated", created) == [
        {
            "dealId": 1,
            "ref": deal_ref,
            "creator": system.platform,
            "payee": system.payee,
            "token": system.usdt.address,
            "amount": AMOUNT,
            "expiresAt": expires_at,
        }
    ]
    assert system.payments.functions.dealIdOf(deal_ref).call() == 1
    open_deal = Deal(
        ref=deal_ref,
        creator=system.platform,
        payee=system.payee,
        token=system.usdt.address,
        amount=AMOUNT,
        expires_at=expires_at,
        payer=ZERO_ADDRESS,
        status=DealStatus.OPEN,
    )
    assert get_deal(system, 1) == open_deal

    fund(system, system.usdt, balance=AMOUNT + 1)
    deposited = deposit(system, 1)

    assert event_args(system.payments, "Deposited", deposited) == [
        {"dealId": 1, "payer": system.payer, "amount": AMOUNT}
    ]
    assert event_args(system.usdt, "Transfer", deposited) == [
        {"from": system.payer, "to": system.payments.address, "value": AMOUNT}
    ]
    assert balance(system.usdt, system.payer) == 1
    assert balance(system.usdt, system.payments.address) == AMOUNT  # in escrow at the diamond
    assert balance(system.usdt, system.payee) == 0  # no payout yet
    assert system.usdt.functions.allowance(system.payer, system.payments.address).call() == 0
    assert get_deal(system, 1) == Deal(**{**open_deal.__dict__, "payer": system.payer, "status": DealStatus.PAID})


def test_deal_ids_increment_and_refs_map_to_them(system: System) -> None:
    ids = [create_deal(system, ref(f"pay_{n}"))[0] for n in range(3)]

    assert ids == [1, 2, 3]
    assert [system.payments.functions.dealIdOf(ref(f"pay_{n}")).call() for n in range(3)] == [1, 2, 3]
    assert system.payments.functions.dealIdOf(ref("pay_unknown")).call() == 0


def test_mock_usdt_has_six_decimals(system: System) -> None:
    assert system.usdt.functions.decimals().call() == 6
    assert system.usdt.functions.symbol().call() == "USDT"


# --- deposit refusals -------------------------------------------------------------------------------------------------


def test_second_deposit_reverts(system: System) -> None:
    deal_id, _ = create_deal(system, ref("pay_twice"))
    fund(system, system.usdt, balance=2 * AMOUNT, allowance=2 * AMOUNT)
    deposit(system, deal_id)

    with reverts_with(system.payments.abi, "DealNotOpen", deal_id, DealStatus.PAID):
        deposit(system, deal_id)

    assert balance(system.usdt, system.payer) == AMOUNT
    assert balance(system.usdt, system.payments.address) == AMOUNT


def test_insufficient_allowance_reverts_with_the_token_error(system: System) -> None:
    deal_id, _ = create_deal(system, ref("pay_allowance"))
    fund(system, system.usdt, balance=AMOUNT, allowance=AMOUNT - 1)

    # SafeERC20 bubbles the token's own revert data up through the diamond.
    with reverts_with(system.usdt.abi, "ERC20InsufficientAllowance", system.payments.address, AMOUNT - 1, AMOUNT):
        deposit(system, deal_id)

    assert get_deal(system, deal_id).status is DealStatus.OPEN
    assert get_deal(system, deal_id).payer == ZERO_ADDRESS
    assert balance(system.usdt, system.payer) == AMOUNT


def test_insufficient_balance_reverts_with_the_token_error(system: System) -> None:
    deal_id, _ = create_deal(system, ref("pay_balance"))
    fund(system, system.usdt, balance=AMOUNT - 5, allowance=AMOUNT)

    with reverts_with(system.usdt.abi, "ERC20InsufficientBalance", system.payer, AMOUNT - 5, AMOUNT):
        deposit(system, deal_id)

    assert get_deal(system, deal_id).status is DealStatus.OPEN


def test_deposit_after_expiry_reverts(system: System) -> None:
    expires_at = system.now() + TTL
    deal_id, _ = create_deal(system, ref("pay_late"), expires_at=expires_at)
    fund(system, system.usdt)

    system.tester.time_travel(expires_at)  # mines a block at exactly expiresAt: block.timestamp >= expiresAt

    with reverts_with(system.payments.abi, "DealExpired", deal_id, expires_at):
        deposit(system, deal_id)
    assert balance(system.usdt, system.payer) == AMOUNT
    assert get_deal(system, deal_id).status is DealStatus.OPEN


def test_deposit_just_before_expiry_succeeds(system: System) -> None:
    expires_at = system.now() + TTL
    deal_id, _ = create_deal(system, ref("pay_just_in_time"), expires_at=expires_at)
    fund(system, system.usdt)

    system.tester.time_travel(expires_at - 10)
    receipt = deposit(system, deal_id)

    assert system.w3.eth.get_block(receipt["blockNumber"])["timestamp"] < expires_at
    assert get_deal(system, deal_id).status is DealStatus.PAID


def test_fee_on_transfer_token_fails_deposit(system: System) -> None:
    fot = deploy(system.w3, "FeeOnTransferToken", system.owner)
    deal_id, _ = create_deal(system, ref("pay_fot"), token=fot)
    fund(system, fot)

    with reverts_with(system.payments.abi, "InexactTransfer", deal_id, AMOUNT, AMOUNT * 99 // 100):
        deposit(system, deal_id)

    assert balance(fot, system.payer) == AMOUNT
    assert balance(fot, system.payments.address) == 0
    assert get_deal(system, deal_id).status is DealStatus.OPEN


def test_deposit_to_unknown_deal_reverts(system: System) -> None:
    with reverts_with(system.payments.abi, "DealNotFound", 42):
        deposit(system, 42)
    with reverts_with(system.payments.abi, "DealNotFound", 0):
        system.payments.functions.getDeal(0).call()


# --- cancel -----------------------------------------------------------------------------------------------------------


def test_cancel_unpaid_voids_the_deal(system: System) -> None:
    deal_id, _ = create_deal(system, ref("pay_void"))

    receipt = send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    assert event_args(system.payments, "DealCancelled", receipt) == [{"dealId": deal_id, "refunded": False}]
    assert get_deal(system, deal_id).status is DealStatus.CANCELLED
    fund(system, system.usdt)
    with reverts_with(system.payments.abi, "DealNotOpen", deal_id, DealStatus.CANCELLED):
        deposit(system, deal_id)
    assert balance(system.usdt, system.payer) == AMOUNT


def test_cancel_paid_refunds_the_payer(system: System) -> None:
    deal_id, _ = create_deal(system, ref("pay_refund"))
    fund(system, system.usdt)
    deposit(system, deal_id)
    assert balance(system.usdt, system.payer) == 0

    receipt = send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    assert event_args(system.payments, "DealCancelled", receipt) == [{"dealId": deal_id, "refunded": True}]
    assert event_args(system.usdt, "Transfer", receipt) == [
        {"from": system.payments.address, "to": system.payer, "value": AMOUNT}
    ]
    assert balance(system.usdt, system.payer) == AMOUNT
    assert balance(system.usdt, system.payments.address) == 0
    deal = get_deal(system, deal_id)
    assert (deal.status, deal.payer) == (DealStatus.REFUNDED, system.payer)


def test_refund_after_expiry_still_works(system: System) -> None:
    expires_at = system.now() + TTL
    deal_id, _ = create_deal(system, ref("pay_refund_late"), expires_at=expires_at)
    fund(system, system.usdt)
    deposit(system, deal_id)
    system.tester.time_travel(expires_at + 86_400)

    send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    assert balance(system.usdt, system.payer) == AMOUNT
    assert get_deal(system, deal_id).status is DealStatus.REFUNDED


@pytest.mark.parametrize("who", ["stranger", "payer", "payee", "owner", "other_platform_wallet"])
def test_cancel_by_anyone_but_the_creator_reverts(system: System, who: str) -> None:
    other_platform = system.account(5)
    send(system.w3, system.payments.functions.setPlatformWallet(other_platform, True), system.owner)
    caller = other_platform if who == "other_platform_wallet" else getattr(system, who)
    deal_id, _ = create_deal(system, ref("pay_not_yours"))
    fund(system, system.usdt)
    deposit(system, deal_id)

    with reverts_with(system.payments.abi, "NotDealCreator", deal_id, caller):
        send(system.w3, system.payments.functions.cancelDeal(deal_id), caller)

    assert get_deal(system, deal_id).status is DealStatus.PAID
    assert balance(system.usdt, system.payments.address) == AMOUNT


@pytest.mark.parametrize("paid", [False, True], ids=["cancelled", "refunded"])
def test_closed_deal_cannot_be_cancelled_again(system: System, paid: bool) -> None:
    deal_id, _ = create_deal(system, ref("pay_closed"))
    if paid:
        fund(system, system.usdt)
        deposit(system, deal_id)
    send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)
    final = DealStatus.REFUNDED if paid else DealStatus.CANCELLED

    with reverts_with(system.payments.abi, "DealAlreadyClosed", deal_id, final):
        send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    assert balance(system.usdt, system.payer) == (AMOUNT if paid else 0)


def test_cancel_unknown_deal_reverts(system: System) -> None:
    with reverts_with(system.payments.abi, "DealNotFound", 7):
        send(system.w3, system.payments.functions.cancelDeal(7), system.platform)


# --- create refusals and platform wallets -----------------------------------------------------------------------------


def test_reused_ref_reverts_and_keeps_the_first_deal(system: System) -> None:
    deal_ref = ref("pay_once")
    first_id, _ = create_deal(system, deal_ref, amount=AMOUNT)

    with reverts_with(system.payments.abi, "RefAlreadyUsed", deal_ref, first_id):
        create_deal(system, deal_ref, amount=2 * AMOUNT)

    assert system.payments.functions.dealIdOf(deal_ref).call() == first_id == 1
    assert get_deal(system, first_id).amount == AMOUNT
    with reverts_with(system.payments.abi, "DealNotFound", 2):  # no second deal was stored
        system.payments.functions.getDeal(2).call()


def test_ref_stays_used_after_cancel(system: System) -> None:
    deal_ref = ref("pay_cancelled_ref")
    deal_id, _ = create_deal(system, deal_ref)
    send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    with reverts_with(system.payments.abi, "RefAlreadyUsed", deal_ref, deal_id):
        create_deal(system, deal_ref)


@pytest.mark.parametrize("who", ["stranger", "owner", "payer"])
def test_non_platform_wallet_cannot_create(system: System, who: str) -> None:
    caller: ChecksumAddress = getattr(system, who)

    with reverts_with(system.payments.abi, "NotPlatformWallet", caller):
        create_deal(system, ref("pay_intruder"), creator=caller)

    assert system.payments.functions.dealIdOf(ref("pay_intruder")).call() == 0


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("ref", "InvalidRef"),
        ("payee", "ZeroAddress"),
        ("token", "InvalidToken"),
        ("amount", "InvalidAmount"),
        ("expires_at", "InvalidExpiry"),
    ],
)
def test_create_validates_its_arguments(system: System, field: str, error: str) -> None:
    # The chain's clock an hour ahead of the wall clock: the pending block's timestamp is then its parent's + 1,
    # not the wall clock's second at the moment the transaction is built (which may differ from when it is asked).
    system.tester.time_travel(system.now() + 3600)
    now = system.now()
    args: dict[str, Any] = {
        "ref": ref("pay_invalid"),
        "payee": system.payee,
        "token": system.usdt.address,
        "amount": AMOUNT,
        "expires_at": now + TTL,
    }
    bad = {"ref": b"\x00" * 32, "payee": ZERO_ADDRESS, "token": system.stranger, "amount": 0, "expires_at": now}
    args[field] = bad[field]
    # The transaction runs in the pending block, whose timestamp is after `now`: an expiry of `now` is past.
    pending = int(system.w3.eth.get_block("pending")["timestamp"])
    assert pending == now + 1
    error_args: tuple[Any, ...] = {"InvalidToken": (system.stranger,), "InvalidExpiry": (now, pending)}.get(error, ())

    with reverts_with(system.payments.abi, error, *error_args):
        send(
            system.w3,
            system.payments.functions.createDeal(
                args["ref"], args["payee"], args["token"], args["amount"], args["expires_at"]
            ),
            system.platform,
        )


def test_set_platform_wallet_is_owner_only_and_revocable(system: System) -> None:
    wallet = system.account(6)
    assert system.payments.functions.isPlatformWallet(wallet).call() is False

    with reverts_with(system.payments.abi, "Ownable__NotOwner"):
        send(system.w3, system.payments.functions.setPlatformWallet(wallet, True), system.stranger)
    with reverts_with(system.payments.abi, "Ownable__NotOwner"):
        send(system.w3, system.payments.functions.setPlatformWallet(wallet, True), system.platform)
    with reverts_with(system.payments.abi, "ZeroAddress"):
        send(system.w3, system.payments.functions.setPlatformWallet(ZERO_ADDRESS, True), system.owner)

    added = send(system.w3, system.payments.functions.setPlatformWallet(wallet, True), system.owner)
    assert event_args(system.payments, "PlatformWalletSet", added) == [{"wallet": wallet, "allowed": True}]
    assert system.payments.functions.isPlatformWallet(wallet).call() is True
    deal_id, _ = create_deal(system, ref("pay_new_wallet"), creator=wallet)
    assert get_deal(system, deal_id).creator == wallet

    removed = send(system.w3, system.payments.functions.setPlatformWallet(wallet, False), system.owner)
    assert event_args(system.payments, "PlatformWalletSet", removed) == [{"wallet": wallet, "allowed": False}]
    assert system.payments.functions.isPlatformWallet(wallet).call() is False
    with reverts_with(system.payments.abi, "NotPlatformWallet", wallet):
        create_deal(system, ref("pay_revoked_wallet"), creator=wallet)


def test_revoked_creator_can_still_refund_its_deal(system: System) -> None:
    """Revoking a wallet stops new deals but never traps escrow: the creator can still refund the payer."""
    deal_id, _ = create_deal(system, ref("pay_revoked_refund"))
    fund(system, system.usdt)
    deposit(system, deal_id)
    send(system.w3, system.payments.functions.setPlatformWallet(system.platform, False), system.owner)

    send(system.w3, system.payments.functions.cancelDeal(deal_id), system.platform)

    assert balance(system.usdt, system.payer) == AMOUNT
    assert get_deal(system, deal_id).status is DealStatus.REFUNDED
