"""Failures that can never succeed are terminal (issue 11 §2) on a real EVM (eth-tester, in-process) with the
diamond from the committed artifacts, fed by the template's queues through the local event source mappings:
a poison payment does not hold its lane, a malformed message is dead-lettered at once, a batch cut by its
function's deadline leaves nothing in `sending`, and the watcher resolves a send whose worker died."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from devstack import lambdas
from devstack.pollers import build_pollers
from devstack.provision import Stack
from payments_chain import workers
from payments_chain.client import DiamondClient
from payments_core import deps
from payments_core.domain import catalog as admin
from payments_core.domain import lifecycle, watcher
from payments_core.domain.chain_work import ChainError, ChainFailure
from payments_core.domain.payments import signing_group
from payments_core.models.payments import PaymentStatus
from payments_core.settings import get_settings
from payments_core.store.wallet_keys import WalletKeyStore
from tests.integration.helpers import Api, create_web3_payment, drain, get_payment
from tests.solidity.evm import System, deploy_system
from tests.support import point_demo_catalog, stored

ZERO = "0x" + "00" * 20  # the payee the contract refuses (ZeroAddress); the API refuses it too: injected


@pytest.fixture
def evm(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """The demo network pointed at a fresh in-process chain; the demo wallet's key in Secrets Manager."""
    system = deploy_system()
    point_demo_catalog(
        deps.catalog(), api.demo, diamond=system.payments.address, token=system.usdt.address, platform=system.platform
    )
    WalletKeyStore(boto3.client("secretsmanager"), get_settings().wallet_secret_prefix).put(
        api.demo["wallet_id"], system.tester.backend.account_keys[1].to_hex()
    )
    monkeypatch.setattr(workers, "web3_for", lambda url: system.w3)
    monkeypatch.setattr(workers, "BACKOFF_BASE_SECONDS", 0)  # retries come back at once in tests
    workers.chain_deps.cache_clear()
    workers.watcher_deps.cache_clear()
    yield system
    workers.chain_deps.cache_clear()
    workers.watcher_deps.cache_clear()


def _event_types(api: Api, token: str, payment_id: str) -> list[tuple[str, str]]:
    r = api.call("GET", f"/api/v1/payments/{payment_id}/logs", token=token, query={"per_page": 100})
    assert r.status == 200, r.body
    return [(e["event_type"], e["message"]) for e in reversed(r.json()["items"])]


def _set_payee(stack: Stack, payment_id: str, payee: str) -> None:
    """What no request can write: a payee the contract refuses (the API refuses the zero address)."""
    boto3.client("dynamodb").update_item(
        TableName=stack.physical["PaymentsTable"],
        Key={"id": {"S": payment_id}},
        UpdateExpression="SET payment_address = :p",
        ExpressionAttributeValues={":p": {"S": payee}},
    )


def test_a_payee_the_contract_refuses_never_holds_the_five_behind_it(
    api: Api, evm: System, pollers: list[Any], stack: Stack
) -> None:
    """The poison and five good payments in one lane (one wallet: one FIFO group). The poison ends `send-failed`
    at once (`payee_refused`, one createDeal attempt), the five get their deals in the same drain, nothing goes
    to the dead-letter queue; retry-send of the poison fails again at once and holds no one either."""
    token = api.token()
    poison = create_web3_payment(api, token, external_id="poison")
    _set_payee(stack, poison["id"], ZERO)
    good = [create_web3_payment(api, token, external_id=f"good-{i}") for i in range(5)]
    drain(pollers)

    failed = get_payment(api, token, poison["id"])
    assert failed["status"] == "send-failed"
    assert failed["send_failed_reason"]["code"] == "payee_refused"
    assert "ZeroAddress" in failed["send_failed_reason"]["message"]
    opened = [get_payment(api, token, g["id"]) for g in good]
    assert [p["status"] for p in opened] == ["open"] * 5
    assert sorted(p["deal_id"] for p in opened) == [1, 2, 3, 4, 5]  # no deal for the poison
    assert _dead_letters(stack) == []
    types = _event_types(api, token, poison["id"])
    assert [t for t, _ in types] == ["created", "deal_sending", "send_failed"]  # one attempt
    assert "payee_refused" in types[-1][1]

    r = api.call("POST", f"/api/v1/payments/{poison['id']}/retry-send", token=token)
    assert (r.status, r.json()["status"], r.json()["send_failed_reason"]) == (200, "pending", None)
    after = create_web3_payment(api, token, external_id="after-retry")
    drain(pollers)
    assert get_payment(api, token, poison["id"])["send_failed_reason"]["code"] == "payee_refused"
    assert get_payment(api, token, after["id"])["status"] == "open"


def test_a_currency_whose_token_is_no_contract_is_send_failed_through_the_api(
    api: Api, evm: System, pollers: list[Any]
) -> None:
    """A payment that passes the API and fails on chain: its currency's token on the network is an account
    without code (an operator's catalog mistake): the contract's InvalidToken, terminal."""
    currency = admin.create_currency(
        deps.catalog(), symbol="USDX", decimals=6, tokens={api.demo["network_id"]: evm.payer}
    )
    token = api.token()
    p = create_web3_payment(api, token, currency_id=currency.id)
    drain(pollers)
    got = get_payment(api, token, p["id"])
    assert (got["status"], got["send_failed_reason"]["code"], got["deal_id"]) == ("send-failed", "token_refused", None)


def _dead_letters(stack: Stack) -> list[dict[str, Any]]:
    found = boto3.client("sqs").receive_message(QueueUrl=stack.physical["DealDeadLetterQueue"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def test_a_malformed_cancel_message_goes_to_its_dead_letter_queue_at_once(
    api: Api, evm: System, pollers: list[Any], stack: Stack
) -> None:
    token = api.token()
    p = create_web3_payment(api, token)
    drain(pollers)
    boto3.client("sqs").send_message(
        QueueUrl=stack.physical["DealQueue"], MessageBody='{"type": "cancel_deal", "payment_id": null}',
        MessageGroupId=signing_group(stored(deps.payment_store(), p["id"])), MessageDeduplicationId="malformed-2",
    )  # fmt: skip
    assert api.call("POST", f"/api/v1/payments/{p['id']}/cancel", token=token).status == 202
    drain(pollers)
    assert get_payment(api, token, p["id"])["status"] == "cancelled"  # the cancel behind it was not held
    (kept,) = _dead_letters(stack)
    assert (kept["malformed"], kept["body"]) == (True, '{"type": "cancel_deal", "payment_id": null}')


def test_a_malformed_message_goes_to_the_dead_letter_queue_at_once(
    api: Api, evm: System, pollers: list[Any], stack: Stack
) -> None:
    token = api.token()
    first = create_web3_payment(api, token, external_id="before")
    record = stored(deps.payment_store(), first["id"])
    boto3.client("sqs").send_message(
        QueueUrl=stack.physical["DealQueue"], MessageBody="{not json", MessageGroupId=signing_group(record),
        MessageDeduplicationId="malformed-1",
    )  # fmt: skip
    behind = create_web3_payment(api, token, external_id="behind")
    drain(pollers)
    assert [get_payment(api, token, p["id"])["status"] for p in (first, behind)] == ["open", "open"]
    (kept,) = _dead_letters(stack)
    assert (kept["malformed"], kept["body"]) == (True, "{not json")


def test_a_worker_timeout_mid_batch_leaves_nothing_in_sending(
    api: Api, evm: System, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four payments of one lane in one batch; each createDeal takes longer than the time the function has
    left after its first: the batch answers the three it did not start as failures and returns before its
    timeout, every time; after each invocation no payment is `sending` but one whose message it released (the
    createDeals pass claims the lane's head run first), and the next deliveries finish them.

    No wall-clock bound: the function's timeout is scaled down to `timeout_seconds` (the worker's 120 s) with a
    margin that leaves `budget_seconds` to start records in, and each createDeal sleeps longer than that.
    A batch that stops at its deadline returns after about one createDeal, seconds before its timeout; one that
    did not would need one per record (10 s for the first batch). What is asserted is the time the function
    still had, as its context counts it, when the handler returned."""
    timeout_seconds, budget_seconds = 5, 1.5
    monkeypatch.setattr(workers, "DEADLINE_MARGIN_MS", int((timeout_seconds - budget_seconds) * 1000))
    original = DiamondClient.create_deal

    def slow(self: DiamondClient, *args: Any, **kwargs: Any) -> Any:
        time.sleep(budget_seconds + 0.5)  # past the deadline the batch checks before each record
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DiamondClient, "create_deal", slow)
    contexts: list[lambdas.LambdaContext] = []

    def unreachable(self: DiamondClient, *args: Any, **kwargs: Any) -> Any:
        raise ChainError("ConnectionError: refused", reason=ChainFailure.RPC_UNAVAILABLE)

    # The batch's createDeals pass fails (decision 0045): every message goes the one-by-one path, whose
    # deadline this test is about.
    monkeypatch.setattr(DiamondClient, "create_deals", unreachable)

    class ShortLived(lambdas.LambdaContext):
        def __post_init__(self) -> None:
            self.timeout_seconds = timeout_seconds  # the worker's 120 s, scaled down
            super().__post_init__()
            contexts.append(self)

    monkeypatch.setattr(lambdas, "LambdaContext", ShortLived)
    token = api.token()
    ids = [create_web3_payment(api, token, external_id=f"batch-{i}")["id"] for i in range(4)]
    store = deps.payment_store()
    answers: list[tuple[int, int]] = []

    def invoke(function: str, event: dict[str, Any]) -> Any:
        answer = lambdas.invoke(function, event)
        if function == "DealWorkerFunction":
            # the milliseconds the function had left when its handler returned (0: it outlived its timeout)
            (context,) = [c for c in contexts if c.function_name == function]
            contexts.remove(context)
            answers.append((len(answer["batchItemFailures"]), context.get_remaining_time_in_millis()))
            # Nothing is left `sending` without its message: a payment the createDeals pass claimed and the
            # batch did not reach is among the failures, released at once to finish it (decision 0045).
            released = {
                json.loads(r["body"])["payment_id"]
                for r in event["Records"]
                if r["messageId"] in {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            }
            sending = {i for i in ids if stored(store, i).status is PaymentStatus.SENDING}
            assert sending <= released, (sending, released)
        return answer

    drain(build_pollers(stack, invoke, wait_seconds=0))
    assert [stored(store, i).status for i in ids] == [PaymentStatus.OPEN] * 4
    assert answers[0][0] == 3, answers  # one done, three not started
    assert all(remaining > 0 for _, remaining in answers), answers  # every batch ended before its timeout
    assert sorted(stored(store, i).deal_id or 0 for i in ids) == [1, 2, 3, 4]


def test_a_send_whose_worker_died_is_resolved_by_the_watcher(
    api: Api, evm: System, pollers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two payments claimed by a worker that then died (no message left): one whose createDeal was mined, one
    whose was not. The watcher records the first's deal (open) and sends the second's message again (open
    after the worker's delivery); nothing stays `sending`."""
    monkeypatch.setattr(watcher, "SENDING_STALE_AFTER", timedelta(0))
    token = api.token()
    store = deps.payment_store()
    mined, lost = (create_web3_payment(api, token, external_id=f"died-{i}")["id"] for i in range(2))
    for payment_id in (mined, lost):
        claimed = lifecycle.claim_for_sending(store, stored(store, payment_id), "dead-worker")
        assert claimed is not None
    sqs = boto3.client("sqs")
    queue_url = get_settings().deal_queue_url
    sqs.purge_queue(QueueUrl=queue_url)  # the messages died with the worker
    record = stored(store, mined)
    key = evm.tester.backend.account_keys[1].to_hex()
    created = DiamondClient(evm.w3, evm.payments.address).create_deal(
        key, ref=str(record.deal_ref), payee=record.payment_address, token=str(record.token_address),
        amount=int(record.amount_units or 0), expires_at=evm.now() + 3600,
    )  # fmt: skip

    report = lambdas.invoke("ChainWatcherFunction", {"source": "aws.events", "detail-type": "Scheduled Event"})
    (mine,) = [n for n in report["networks"] if n["network_id"] == api.demo["network_id"]]
    assert (mine["stuck_sends_recorded"], mine["stuck_sends_resent"]) == (1, 1), mine
    assert (stored(store, mined).status, stored(store, mined).deal_id) == (PaymentStatus.OPEN, created.deal_id)
    drain(pollers)
    assert stored(store, lost).status is PaymentStatus.OPEN
    assert stored(store, lost).deal_id == created.deal_id + 1
