"""Gas of the diamond's payment transactions, measured on eth-tester (py-evm, in-process; the committed artifacts
deployed by devstack.chain.deploy, as on the local stack): createDeal, the payer's approve + deposit, cancelDeal
(void and refund), createDeals per deal for batches of 1, 10 and 50, and the platform's gas per paid payment.

Every figure is a receipt's gasUsed in the steady state (deal ids, the diamond's token balance and the payer's
balance already non-zero, so no first-write surcharge is counted). `python -m bench --sections gas` runs only this."""

from __future__ import annotations

import hashlib
import statistics
from typing import TYPE_CHECKING, Any

from bench.report import Result

if TYPE_CHECKING:
    from web3 import Web3

BATCH_SIZES = (1, 10, 50)
SINGLES = 5  # createDeal / deposit / cancelDeal repetitions (the figures are deterministic; the median is reported)
AMOUNT = 10_000_000  # 10 USDT
TTL = 3600
BATCH_TARGET = 0.90  # a batched deal must cost at most 90 % of a createDeal (batch of 10 and more)
EVM = "eth-tester (py-evm, Prague rules), optimizer 200 runs"


def _gas(w3: Web3, transaction_hash: str) -> int:
    return int(w3.eth.get_transaction_receipt(transaction_hash)["gasUsed"])  # type: ignore[arg-type]


def _ledger(w3: Web3) -> Any:
    """eth-tester's first account: unlocked and funded, it pays the anvil keys devstack.chain signs with."""
    return w3.eth.accounts[0]


def run() -> list[Result]:
    from web3 import EthereumTesterProvider, Web3

    from devstack import chain

    w3 = Web3(EthereumTesterProvider())
    for key in (chain.OWNER_KEY, chain.PAYER_KEY):
        funded = {"from": _ledger(w3), "to": chain.address_of(key), "value": 10**21}
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(funded))  # type: ignore[arg-type]
    return measure(w3, EVM)


def measure(w3: Web3, where: str) -> list[Result]:
    """The figures on `w3`'s chain, where devstack.chain's owner and payer keys hold ETH (eth-tester funded above,
    or anvil, whose dev accounts they are); `where` names the chain in each row's note."""
    from devstack import chain
    from payments_chain.client import DealRequest, DiamondClient

    deployment = chain.deploy(w3)
    client = DiamondClient(w3, deployment.diamond_address)
    platform_key = chain.PLATFORM_WALLET_KEY
    payments = chain.contract_at(w3, "PaymentsFacet", deployment.diamond_address)
    token = chain.contract_at(w3, "MockUSDT", deployment.token_address)
    refs = iter(range(1, 1_000_000))

    def request() -> DealRequest:
        now = int(w3.eth.get_block("latest")["timestamp"])
        # a payment's ref: its id's 16 bytes, left-padded to 32 (deterministic here, so the calldata is too)
        ref = "0x" + hashlib.sha256(str(next(refs)).encode()).hexdigest()[:32].rjust(64, "0")
        return DealRequest(ref, deployment.payer_address, deployment.token_address, AMOUNT, now + TTL)

    def create_deal() -> tuple[int, int]:
        r = request()
        created = client.create_deal(
            platform_key, ref=r.ref, payee=r.payee, token=r.token, amount=r.amount, expires_at=r.expires_at
        )
        return created.deal_id, _gas(w3, created.transaction_hash)

    def pay(deal_id: int) -> tuple[int, int]:
        approved = chain.transact(w3, token.functions.approve(payments.address, AMOUNT), chain.PAYER_KEY)
        deposited = chain.transact(w3, payments.functions.deposit(deal_id), chain.PAYER_KEY)
        return int(approved["gasUsed"]), int(deposited["gasUsed"])

    def cancel(deal_id: int) -> int:
        return _gas(w3, client.cancel_deal(platform_key, deal_id).transaction_hash)

    # steady state: deal ids, the diamond's USDT balance and the payer's allowance slot have been written once
    warm_id, _ = create_deal()
    pay(warm_id)

    singles = [create_deal() for _ in range(SINGLES)]
    create_gas = statistics.median(g for _, g in singles)
    paid = [pay(deal_id) for deal_id, _ in singles[:3]]
    approve_gas = statistics.median(a for a, _ in paid)
    deposit_gas = statistics.median(d for _, d in paid)
    refund_gas = statistics.median(cancel(deal_id) for deal_id, _ in singles[:3])  # Paid -> Refunded
    void_gas = statistics.median(cancel(deal_id) for deal_id, _ in singles[3:])  # Open -> Cancelled

    per_deal: dict[int, float] = {}
    for size in BATCH_SIZES:
        created = client.create_deals(platform_key, [request() for _ in range(size)])
        assert all(c is not None for c in created), "a benchmark batch skipped a deal"
        first = created[0]
        assert first is not None
        per_deal[size] = _gas(w3, first.transaction_hash) / size

    def row(name: str, value: float, note: str = "", **kw: Any) -> Result:
        return Result("gas", name, value, "gas", note=note or where, **kw)

    biggest = max(BATCH_SIZES)
    results = [
        row("createDeal (platform)", create_gas),
        row("approve (payer)", approve_gas, "the payer's allowance to the diamond, before each deposit"),
        row("deposit (payer)", deposit_gas),
        row("cancelDeal, open -> cancelled (platform)", void_gas),
        row("cancelDeal, paid -> refunded (platform)", refund_gas, "includes the token transfer back to the payer"),
    ]
    for size in BATCH_SIZES:
        results.append(
            row(
                f"createDeals, per deal in a batch of {size}",
                per_deal[size],
                f"{per_deal[size] * size:,.0f} gas for the transaction; baseline: one createDeal",
                baseline=create_gas,
                target=BATCH_TARGET if size >= 10 else None,
            )
        )
    results += [
        row(
            "platform gas per paid payment, unbatched",
            create_gas,
            "one createDeal (the payer pays approve + deposit; a cancel adds its cancelDeal)",
        ),
        row(
            f"platform gas per paid payment, batches of {biggest}",
            per_deal[biggest],
            f"its share of a createDeals of {biggest}; baseline: unbatched",
            baseline=create_gas,
            target=BATCH_TARGET,
        ),
        row("payer gas per paid payment", approve_gas + deposit_gas, "approve + deposit"),
    ]
    return results
