"""Failures that can never succeed are terminal (issue 11 §2), on fakes: how every chain failure is classified,
the terminal moves of the create-deal and cancel-deal work, the batch loop (a poison payment, a malformed
message and the function's deadline never hold a lane), and the watcher's resolution of stuck work."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import requests
from web3 import Web3
from web3.exceptions import ContractCustomError, TimeExhausted

from payments_chain import client as chain_client
from payments_chain import errors, workers
from payments_chain.client import DiamondClient, abi
from payments_core import metrics
from payments_core.domain import chain_work, lifecycle, watcher
from payments_core.domain.chain_work import (
    TERMINAL_FAILURES,
    ChainDeps,
    ChainError,
    ChainFailure,
    ChainMessage,
    CreatedDeal,
)
from payments_core.domain.entities import FailureReason, Network, Payment, Wallet
from payments_core.domain.payments import PaymentDeps, iso, to_response
from payments_core.domain.watcher import WatcherDeps
from payments_core.models.payments import PaymentStatus as S
from payments_core.store.payments import watch_attributes
from payments_core.store.wallet_keys import WalletKeyMissing
from tests.solidity.evm import error_selector
from tests.unit.fakes import FakeCatalog, FakeChain, FakeCursorStore, FakeDealQueue, FakeWalletKeys, wallet_address
from tests.unit.test_status_moves import NETWORK, NODE, NOW, PLATFORM_WALLET, PRINCIPAL, RacingStore, payment, status_of

F = ChainFailure
FACET = abi("PaymentsFacet")
REFUSED_PAYEE = "0x" + "0" * 40


# ---------------------------------------------------------------------------------------------- classification
@pytest.mark.parametrize(
    ("revert", "reason", "terminal"),
    [
        ("RefAlreadyUsed", F.REF_ALREADY_USED, False),
        ("DealAlreadyClosed", F.DEAL_CLOSED, False),
        ("DealNotFound", F.DEAL_NOT_FOUND, False),
        ("ZeroAddress", F.PAYEE_REFUSED, True),
        ("InvalidToken", F.TOKEN_REFUSED, True),
        ("InvalidAmount", F.AMOUNT_REFUSED, True),
        ("InvalidExpiry", F.EXPIRY_REFUSED, True),
        ("NotPlatformWallet", F.SIGNER_NOT_ALLOWED, True),
        ("NotDealCreator", F.SIGNER_MISMATCH, True),
        ("ReentrancyGuardReentrantCall", F.REVERTED, True),  # any other revert of the facet
    ],
)
def test_a_revert_is_classified_by_the_custom_error_it_carries(revert: str, reason: F, terminal: bool) -> None:
    data = error_selector(FACET, revert) + "00" * 64  # the selector, then (any) arguments
    error = errors.classify(ContractCustomError(data, data), FACET)
    assert (error.reason, error.terminal, error.reverted) == (reason, terminal, True)
    assert revert in str(error)


def test_a_revert_of_no_known_error_is_terminal() -> None:
    error = errors.classify(ContractCustomError("0xdeadbeef", "0xdeadbeef"), FACET)
    assert (error.reason, error.terminal) == (F.REVERTED, True)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ValueError({"code": -32000, "message": "nonce too low: next nonce 5, tx nonce 4"}), F.NONCE_TOO_LOW),
        (ValueError({"code": -32000, "message": "nonce too high"}), F.NONCE_TOO_HIGH),
        (ValueError({"code": -32000, "message": "replacement transaction underpriced"}), F.REPLACEMENT_UNDERPRICED),
        (ValueError({"code": -32000, "message": "transaction underpriced"}), F.UNDERPRICED),
        (ValueError("max fee per gas less than block base fee"), F.UNDERPRICED),
        (ValueError("already known"), F.ALREADY_KNOWN),
        (ValueError("insufficient funds for gas * price + value"), F.INSUFFICIENT_FUNDS),
        (requests.exceptions.ConnectionError("connection refused"), F.RPC_UNAVAILABLE),
        (requests.exceptions.ReadTimeout("read timed out"), F.TIMEOUT),
        (TimeoutError(), F.TIMEOUT),
        (TimeExhausted("no receipt"), F.NO_RECEIPT),
        (RuntimeError("something else"), F.RPC_ERROR),
    ],
)
def test_rpc_and_mempool_failures_are_transient(exc: Exception, reason: F) -> None:
    error = errors.classify(exc, FACET)
    assert (error.reason, error.terminal) == (reason, False)


def test_a_classified_error_never_carries_the_rpc_url() -> None:
    error = errors.classify(requests.exceptions.ConnectionError("https://rpc.example/v3/SECRETKEY down"), FACET)
    assert "SECRETKEY" not in str(error)
    assert "<rpc>" in str(error)


def test_every_reason_is_terminal_or_not_by_the_one_set() -> None:
    for reason in F:
        assert ChainError("x", reason=reason).terminal is (reason in TERMINAL_FAILURES)
    assert ChainError("x").terminal is False  # unclassified: retried
    assert ChainError("x", reason="signer_mismatch").terminal  # a plain string, as other modules may raise it


def _offline_client(diamond: str = "0x" + "d" * 40) -> DiamondClient:
    return DiamondClient(Web3(Web3.HTTPProvider("http://127.0.0.1:9")), diamond)  # never reached below


@pytest.mark.parametrize(
    ("payee", "token", "reason"),
    [("0xnot-an-address-at-all", "0x" + "5" * 40, F.INVALID_PAYEE), ("0x" + "7" * 40, "usdt", F.INVALID_TOKEN)],
)
def test_an_address_web3_cannot_checksum_is_terminal_before_any_rpc_call(payee: str, token: str, reason: F) -> None:
    with pytest.raises(ChainError) as info:
        _offline_client().create_deal("0x" + "1" * 64, ref="0x01", payee=payee, token=token, amount=1, expires_at=9)
    assert (info.value.reason, info.value.terminal) == (reason, True)


def test_a_diamond_address_that_is_none_is_terminal() -> None:
    with pytest.raises(ChainError) as info:
        _offline_client("not-a-diamond").deal_id_of("0x01")
    assert (info.value.reason, info.value.terminal) == (F.NO_DIAMOND, True)


def test_a_missing_wallet_key_is_terminal() -> None:
    assert WalletKeyMissing("no signing key for wallet w").reason == F.NO_SIGNING_KEY
    assert WalletKeyMissing("no signing key for wallet w").terminal


def test_receipt_waits_end_before_the_batch_deadline() -> None:
    client = _offline_client()
    assert client._receipt_wait() == chain_client.RECEIPT_TIMEOUT
    with chain_client.receipt_deadline(time.monotonic() + 5):
        assert 4 < client._receipt_wait() <= 5
    with chain_client.receipt_deadline(time.monotonic() - 1):
        assert client._receipt_wait() == pytest.approx(0.1)
    assert client._receipt_wait() == chain_client.RECEIPT_TIMEOUT


# ---------------------------------------------------------------------------------------------- terminal moves
class RefusingChain(FakeChain):
    """A diamond that refuses some payees (the contract's ZeroAddress) and, once, fails transiently."""

    def __init__(self) -> None:
        super().__init__(head=100)
        self.transient: list[ChainError] = []
        self.cancel_error: ChainError | None = None

    def create_deal(
        self, private_key: str, *, ref: str, payee: str, token: str, amount: int, expires_at: int
    ) -> CreatedDeal:
        if self.transient:
            raise self.transient.pop(0)
        if payee == REFUSED_PAYEE:
            self.create_calls.append(ref)
            raise ChainError("reverted: ZeroAddress", reverted=True, reason=F.PAYEE_REFUSED)
        return super().create_deal(private_key, ref=ref, payee=payee, token=token, amount=amount, expires_at=expires_at)

    def cancel_deal(self, private_key: str, deal_id: int) -> Any:
        if self.cancel_error is not None:
            raise self.cancel_error
        return super().cancel_deal(private_key, deal_id)


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def catalog() -> FakeCatalog:
    catalog = FakeCatalog()
    catalog.add(
        Network(
            id=NETWORK, chain_id="eth", name="test", evm_chain_id=1, diamond_address="0xd", required_confirmations=3,
            platform_wallet_id=PLATFORM_WALLET,
        )
    )  # fmt: skip
    # The platform wallet signs: a cancel finds the deal's on-chain creator by its address.
    catalog.add(Wallet(id=PLATFORM_WALLET, node_id=NODE, address=wallet_address(PLATFORM_WALLET)))
    return catalog


@pytest.fixture
def refusing() -> RefusingChain:
    return RefusingChain()


@pytest.fixture
def deal_queue() -> FakeDealQueue:
    return FakeDealQueue()  # the lanes: create- and cancel-deal messages


@pytest.fixture
def deps(store: RacingStore, catalog: FakeCatalog, refusing: RefusingChain) -> ChainDeps:
    return ChainDeps(payments=store, catalog=catalog, wallet_keys=FakeWalletKeys(), chain_for=lambda _: refusing)


@pytest.fixture
def payment_deps(store: RacingStore, deal_queue: FakeDealQueue) -> PaymentDeps:
    return PaymentDeps(catalog=FakeCatalog(), payments=store, deal_queue=deal_queue)


@pytest.fixture
def watcher_deps(
    store: RacingStore, catalog: FakeCatalog, refusing: RefusingChain, deal_queue: FakeDealQueue
) -> WatcherDeps:
    return WatcherDeps(
        payments=store, catalog=catalog, cursors=FakeCursorStore(), deal_queue=deal_queue,
        chain_for=lambda _: refusing,
    )  # fmt: skip


@contextmanager
def recorded_metrics() -> Iterator[list[dict[str, Any]]]:
    out: list[dict[str, Any]] = []
    metrics.set_writer(lambda line: out.append(json.loads(line)))
    try:
        with metrics.invocation():
            yield out
    finally:
        metrics.set_writer(None)


def counted(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in docs if name in {m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}]


def test_a_payee_the_contract_refuses_is_send_failed_at_once_with_its_reason(
    deps: ChainDeps, store: RacingStore, refusing: RefusingChain
) -> None:
    item = payment(store, S.PENDING, payment_address=REFUSED_PAYEE)
    with recorded_metrics() as docs:
        outcome = chain_work.create_deal(deps, item.id)  # no raise: the message is done
    assert outcome == "send-failed: payee_refused"
    failed = store.items[item.id]
    assert failed.status is S.SEND_FAILED
    assert failed.send_failed_reason is not None
    assert failed.send_failed_reason.code == "payee_refused"
    assert failed.last_event is not None
    assert failed.last_event.type == "send_failed"
    assert "payee_refused" in failed.last_event.message
    assert failed.deal_may_exist  # it was claimed: cancel goes through cancelDeal
    assert len(refusing.create_calls) == 1  # one attempt only
    (doc,) = counted(docs, "DealSendsFailed")
    assert doc["reason"] == "payee_refused"
    shown = to_response(failed).send_failed_reason
    assert shown is not None
    assert (shown.code, shown.message) == ("payee_refused", "reverted: ZeroAddress")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_platform_wallet", F.NO_SIGNING_WALLET),
        ("no_network", F.NETWORK_NOT_FOUND),
        ("no_key", F.NO_SIGNING_KEY),
        ("no_token", F.DEAL_DATA_MISSING),
    ],
)
def test_every_terminal_failure_before_signing_ends_in_send_failed(
    deps: ChainDeps, store: RacingStore, catalog: FakeCatalog, setup: str, reason: F
) -> None:
    fields: dict[str, Any] = {}
    if setup == "no_platform_wallet":
        network = catalog.get(Network, NETWORK)
        assert network is not None
        catalog.add(network._replace(platform_wallet_id=None))
    elif setup == "no_network":
        fields["network_id"] = str(uuid.uuid4())
    elif setup == "no_key":

        class NoKeys:
            def private_key(self, wallet_id: str) -> str:
                raise WalletKeyMissing(f"no signing key for wallet {wallet_id}")

        deps.wallet_keys = NoKeys()
    else:
        fields["token_address"] = None
    item = payment(store, S.PENDING, **fields)
    assert chain_work.create_deal(deps, item.id) == f"send-failed: {reason}"
    failed = store.items[item.id]
    assert failed.status is S.SEND_FAILED
    assert failed.send_failed_reason is not None
    assert failed.send_failed_reason.code == reason


def test_a_transient_failure_is_raised_for_the_queue_and_changes_nothing_more(
    deps: ChainDeps, store: RacingStore, refusing: RefusingChain
) -> None:
    item = payment(store, S.PENDING)
    refusing.transient = [ChainError("nonce too low", reason=F.NONCE_TOO_LOW)]
    with pytest.raises(ChainError):
        chain_work.create_deal(deps, item.id)
    assert status_of(store, item) == "sending"
    assert store.items[item.id].send_failed_reason is None
    assert chain_work.create_deal(deps, item.id) == "deal created"  # the redelivery
    assert status_of(store, item) == "open"


def test_retries_spent_show_their_reason_and_retry_send_clears_it(
    deps: ChainDeps, store: RacingStore, payment_deps: PaymentDeps
) -> None:
    item = payment(store, S.SENDING)
    assert chain_work.mark_send_failed(deps, item.id, "rpc_unavailable: ConnectionError: refused")
    reason = store.items[item.id].send_failed_reason
    assert reason == FailureReason(
        "retries_exhausted", "createDeal failed after retries: rpc_unavailable: ConnectionError: refused"
    )
    answer = lifecycle.retry_send(payment_deps, PRINCIPAL, item.id)
    assert (answer.status, answer.send_failed_reason) == ("pending", None)
    assert store.items[item.id].send_failed_reason is None


def test_a_cancel_that_can_never_succeed_ends_visible_and_out_of_the_watchers_resends(
    deps: ChainDeps,
    store: RacingStore,
    refusing: RefusingChain,
    payment_deps: PaymentDeps,
    deal_queue: FakeDealQueue,
) -> None:
    item = payment(store, S.PENDING)
    chain_work.create_deal(deps, item.id)
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    refusing.cancel_error = ChainError("no key matches the deal's creator", reason="signer_mismatch")
    with recorded_metrics() as docs:
        assert chain_work.cancel_deal(deps, item.id) == "cancel-failed: signer_mismatch"  # done, not retried
    flagged = store.items[item.id]
    assert flagged.status is S.CANCELLING
    assert flagged.cancel_failed_reason == FailureReason("signer_mismatch", "no key matches the deal's creator")
    assert flagged.last_event is not None
    assert flagged.last_event.type == "cancel_failed"
    assert watch_attributes(flagged)["watch_pk"] is None  # the watcher no longer sends it again
    assert counted(docs, "CancelsFailed")
    shown = to_response(flagged).cancel_failed_reason
    assert shown is not None
    assert shown.code == "signer_mismatch"
    assert (
        chain_work.cancel_deal(deps, item.id) == "skipped: cancelling (signer_mismatch)"
    )  # a redelivery: flagged once
    assert store.items[item.id].version == flagged.version

    # The operator fixes the key; the integrator cancels again: queued again, and this time it ends cancelled.
    refusing.cancel_error = None
    sent = len(deal_queue.sent)
    lifecycle.cancel_payment(payment_deps, PRINCIPAL, item.id)
    assert len(deal_queue.sent) == sent + 1
    assert deal_queue.sent[-1].dedup_id != deal_queue.sent[0].dedup_id
    assert store.items[item.id].cancel_failed_reason is None
    assert chain_work.cancel_deal(deps, item.id) == "cancelled"


# ---------------------------------------------------------------------------------------------- the batch loop
class Context:
    def __init__(self, remaining_ms: int) -> None:
        self._until = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._until - time.monotonic()) * 1000)


def sqs_event(bodies: list[str], group: str = "wallet:w-1", receives: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receives),
                    "MessageGroupId": group,
                    "MessageDeduplicationId": f"d-{i}",
                    "SentTimestamp": "1",
                    "SequenceNumber": str(i),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:create.fifo",
                "awsRegion": "eu-west-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def message(item: Payment) -> str:
    return json.dumps({"type": "create_deal", "payment_id": item.id})


def failures(response: Any) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_a_poison_payment_never_delays_the_five_behind_it_in_its_lane(
    deps: ChainDeps, store: RacingStore, refusing: RefusingChain
) -> None:
    """One batch, one FIFO group: the poison first, five good payments behind it. All six are done in that
    one batch: the poison `send-failed` (one attempt), the five open; nothing is failed or delayed."""
    poison = payment(store, S.PENDING, payment_address=REFUSED_PAYEE)
    good = [payment(store, S.PENDING) for _ in range(5)]
    queue, dead = FakeDealQueue(), FakeDealQueue()
    response = workers.run_batch(
        sqs_event([message(p) for p in [poison, *good]]), Context(120_000), queue=queue,
        work=lambda message: chain_work.work_message(deps, message), max_receives=5, dead_letters=dead,
    )  # fmt: skip
    assert failures(response) == []
    assert queue.delayed == []
    assert status_of(store, poison) == "send-failed"
    assert [status_of(store, p) for p in good] == ["open"] * 5
    assert len(refusing.create_calls) == 6  # each tried once


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"payment": "x"}', '{"type": "create_deal", "payment_id": 7}', '{"payment_id": "p-1"}', ""],
)
def test_a_malformed_message_goes_to_the_dead_letter_queue_at_once(body: str) -> None:
    done: list[str] = []

    def work(message: ChainMessage) -> str:
        done.append(message.payment_id)
        return "done"

    queue, dead = FakeDealQueue(), FakeDealQueue()
    response = workers.run_batch(
        sqs_event([body, json.dumps({"type": "create_deal", "payment_id": "p-2"})]), Context(120_000), queue=queue,
        work=work, max_receives=5, dead_letters=dead,
    )  # fmt: skip
    assert failures(response) == []  # acknowledged here: kept in the dead-letter queue, not redelivered
    assert done == ["p-2"]  # the next message of its group was not held
    (kept,) = dead.sent
    assert (kept.body["malformed"], kept.body["message_id"], kept.body["body"]) == (True, "m-0", body)
    assert (kept.group, kept.dedup_id) == ("wallet:w-1", "m-0")


def test_a_batch_returns_what_it_did_not_start_before_the_deadline() -> None:
    """The first record takes the time that was left: the others are not started, answered as failures and
    released at once (delay 0), so the function returns before its timeout and nothing is left half-done."""
    started: list[str] = []

    def slow(message: ChainMessage) -> str:
        started.append(message.payment_id)
        time.sleep(0.3)
        return "done"

    queue = FakeDealQueue()
    ids = [f"p-{i}" for i in range(4)]
    event = sqs_event([json.dumps({"type": "create_deal", "payment_id": i}) for i in ids[:2]], group="g-1")
    event["Records"] += sqs_event([json.dumps({"type": "create_deal", "payment_id": i}) for i in ids[2:]], group="g-2")[
        "Records"
    ]
    for n, record in enumerate(event["Records"]):
        record["messageId"], record["receiptHandle"] = f"m-{n}", f"r-{n}"
    context = Context(workers.DEADLINE_MARGIN_MS + 200)
    response = workers.run_batch(event, context, queue=queue, work=slow, max_receives=5)
    assert started == ["p-0"]
    assert sorted(failures(response)) == ["m-1", "m-2", "m-3"]
    assert sorted(queue.delayed) == [("r-1", 0), ("r-2", 0), ("r-3", 0)]
    assert context.get_remaining_time_in_millis() > workers.DEADLINE_MARGIN_MS - 500


def test_the_last_delivery_of_a_transient_failure_records_its_reason() -> None:
    reasons: list[tuple[str, str]] = []

    def failing(message: ChainMessage) -> str:
        raise ChainError("ConnectionError: refused", reason=F.RPC_UNAVAILABLE)

    queue = FakeDealQueue()
    body = json.dumps({"type": "create_deal", "payment_id": "p-1"})
    response = workers.run_batch(
        sqs_event([body], receives=5), Context(120_000), queue=queue, work=failing,
        max_receives=5, on_last_failure=lambda payment_id, reason: reasons.append((payment_id, reason)),
    )  # fmt: skip
    assert failures(response) == ["m-0"]
    assert reasons == [("p-1", "rpc_unavailable: ConnectionError: refused")]
    assert queue.delayed == [("r-0", 0)]  # straight on to the dead-letter queue


# ---------------------------------------------------------------------------------------------- stuck work
def _network(catalog: FakeCatalog) -> Network:
    found = catalog.get(Network, NETWORK)
    assert found is not None
    return found


def _watch(watcher_deps: WatcherDeps, catalog: FakeCatalog, at: Any = NOW) -> watcher.WatchSummary:
    return watcher.watch_network(watcher_deps, _network(catalog), at)


def claimed(store: RacingStore, ago: timedelta, **fields: Any) -> Payment:
    return payment(store, S.SENDING, deal_may_exist=True, updated_at=iso(NOW - ago), **fields)


def test_a_recent_claim_is_left_to_its_worker(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, deal_queue: FakeDealQueue
) -> None:
    item = claimed(store, timedelta(minutes=1))
    summary = _watch(watcher_deps, catalog)
    assert (summary.stuck_sends_recorded, summary.stuck_sends_resent, summary.stuck_sends_failed) == (0, 0, 0)
    assert status_of(store, item) == "sending"
    assert deal_queue.sent == []


def test_a_stuck_send_whose_deal_is_on_chain_is_recorded_open(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, refusing: RefusingChain
) -> None:
    item = claimed(store, watcher.SENDING_STALE_AFTER + timedelta(seconds=1))
    assert item.deal_ref is not None
    created = refusing.create_deal("k", ref=item.deal_ref, payee="0xp", token="0xt", amount=1, expires_at=1)
    summary = _watch(watcher_deps, catalog)
    assert summary.stuck_sends_recorded == 1
    after = store.items[item.id]
    assert (after.status, after.deal_id, after.deal_transaction_hash) == (
        S.OPEN,
        created.deal_id,
        created.transaction_hash,
    )


def test_a_stuck_send_without_a_deal_is_sent_again_once_per_window(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, deal_queue: FakeDealQueue
) -> None:
    item = claimed(store, watcher.SENDING_STALE_AFTER + timedelta(seconds=1))
    assert _watch(watcher_deps, catalog).stuck_sends_resent == 1
    assert _watch(watcher_deps, catalog, NOW + timedelta(minutes=1)).stuck_sends_resent == 0  # sent a minute ago
    (sent,) = deal_queue.sent
    assert sent.body["payment_id"] == item.id
    assert sent.group == f"network:{NETWORK}"
    assert status_of(store, item) == "sending"
    later = NOW + watcher.SENDING_STALE_AFTER + timedelta(seconds=2)
    assert _watch(watcher_deps, catalog, later).stuck_sends_resent == 1  # still nothing: again
    assert len({m.dedup_id for m in deal_queue.sent}) == 2


def test_a_send_stuck_past_the_bound_is_send_failed_and_counted(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, deal_queue: FakeDealQueue
) -> None:
    item = claimed(store, watcher.SENDING_GIVE_UP_AFTER + timedelta(seconds=1))
    with recorded_metrics() as docs:
        summary = _watch(watcher_deps, catalog)
    assert summary.stuck_sends_failed == 1
    failed = store.items[item.id]
    assert failed.status is S.SEND_FAILED
    assert failed.send_failed_reason is not None
    assert failed.send_failed_reason.code == "send_stuck"
    assert deal_queue.sent == []
    (doc,) = counted(docs, "StuckSendsFailed")
    assert doc["StuckSendsFailed"] == [1.0]


def test_a_cancel_stuck_past_the_bound_is_flagged_and_no_longer_sent_again(
    watcher_deps: WatcherDeps, catalog: FakeCatalog, store: RacingStore, deal_queue: FakeDealQueue
) -> None:
    item = payment(
        store, S.CANCELLING, deal_id=3, updated_at=iso(NOW - watcher.CANCEL_GIVE_UP_AFTER - timedelta(seconds=1))
    )
    recent = payment(store, S.CANCELLING, deal_id=4, updated_at=iso(NOW - timedelta(minutes=11)))
    with recorded_metrics() as docs:
        summary = _watch(watcher_deps, catalog)
    assert summary.cancels_failed == 1
    flagged = store.items[item.id]
    assert flagged.status is S.CANCELLING
    assert flagged.cancel_failed_reason is not None
    assert flagged.cancel_failed_reason.code == "cancel_stuck"
    assert counted(docs, "CancelsFailed")
    assert [m.body["payment_id"] for m in deal_queue.sent] == [recent.id]  # the recent one is sent again, not it
    assert _watch(watcher_deps, catalog, NOW + timedelta(minutes=20)).cancels_failed == 0  # out of the index
