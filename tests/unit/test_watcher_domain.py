"""The chain watcher's pure pieces: confirmation_status, refs back to payments, the watch index key."""

from __future__ import annotations

import pytest

from payments_core.domain.entities import FailureReason
from payments_core.domain.payments import deal_ref
from payments_core.domain.watcher import confirmation_status, payment_id_of_ref
from payments_core.models.payments import ConfirmationStatus
from payments_core.store.payments import WATCHED_STATUSES, watch_attributes
from tests.support import a_payment

PAYMENT = "c9e8d7f6-5a4b-4c3d-8e2f-1a0b9c8d7e54"


@pytest.mark.parametrize(
    ("required", "confirmations", "expected"),
    [
        (12, 0, (0, 144, 0, False)),
        (12, 1, (1, 132, 8, False)),
        (12, 4, (4, 96, 33, False)),
        (12, 12, (12, 0, 100, True)),
        (12, 40, (12, 0, 100, True)),  # capped at the required number
        (1, 1, (1, 0, 100, True)),
        (3, 2, (2, 12, 66, False)),  # progress rounds down: 100 only when confirmed
    ],
)
def test_confirmation_status_is_noramps_shape(
    required: int, confirmations: int, expected: tuple[int, int, int, bool]
) -> None:
    status = confirmation_status(required, confirmations, 12.0)
    assert (status.confirmations, status.average_seconds, status.progress, status.confirmed) == expected
    assert status.required_confirmations == required
    assert ConfirmationStatus.model_validate(status._asdict()).model_dump() == status._asdict()


def test_refs_lead_back_to_their_payment() -> None:
    assert payment_id_of_ref(deal_ref(PAYMENT)) == PAYMENT
    assert payment_id_of_ref(deal_ref(PAYMENT).upper().replace("0X", "0x")) == PAYMENT
    assert payment_id_of_ref("0x" + "ab" * 32) is None  # e.g. keccak(order id) of another user of the diamond
    assert payment_id_of_ref("0x" + "zz" * 32) is None
    assert payment_id_of_ref("0x1234") is None


@pytest.mark.parametrize("status", sorted(WATCHED_STATUSES))
def test_watched_web3_payments_are_in_the_index(status: str) -> None:
    item = a_payment(id=PAYMENT, payment_method="web3", status=status, network_id="n-1", expires_at="2030Z")
    assert watch_attributes(item) == {"watch_pk": f"n-1#{status}", "watch_sk": f"2030Z#{PAYMENT}"}


@pytest.mark.parametrize(
    ("method", "status"),
    [("web3", "confirmed"), ("web3", "expired"), ("credit_card", "pending"), ("web3", "hold")],
)
def test_other_payments_are_not(method: str, status: str) -> None:
    item = a_payment(id=PAYMENT, payment_method=method, status=status, network_id="n-1", expires_at="2030Z")
    assert watch_attributes(item) == {"watch_pk": None, "watch_sk": None}


def test_a_cancel_that_failed_for_good_leaves_the_index() -> None:
    """The watcher sends a `cancelling` payment's cancel again; not once it failed for good (it is flagged)."""
    item = a_payment(id=PAYMENT, payment_method="web3", status="cancelling", network_id="n-1", expires_at="2030Z")
    assert watch_attributes(item)["watch_pk"] == "n-1#cancelling"
    flagged = item._replace(cancel_failed_reason=FailureReason("signer_mismatch", "not the deal's creator"))
    assert watch_attributes(flagged) == {"watch_pk": None, "watch_sk": None}
