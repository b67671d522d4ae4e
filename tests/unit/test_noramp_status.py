from payments_core.domain import status
from payments_core.models.enums import NoRampStatus, PaymentStatus


def test_every_platform_status_maps_to_one_of_noramps_eight() -> None:
    assert set(status.NORAMP_STATUS) == set(PaymentStatus)
    assert set(status.NORAMP_STATUS.values()) == set(NoRampStatus)  # each of NoRamp's is reachable
    assert len(NoRampStatus) == 8


def test_names_both_have_map_to_themselves() -> None:
    for shown in NoRampStatus:
        assert status.noramp_status(PaymentStatus(shown.value)) is shown


def test_the_web3_steps_before_payment_read_pending_and_final_ones_never_do() -> None:
    for step in (PaymentStatus.SENDING, PaymentStatus.SEND_FAILED, PaymentStatus.OPEN):
        assert status.noramp_status(step) is NoRampStatus.PENDING
    for final in status.FINAL:
        assert status.noramp_status(final) is not NoRampStatus.PENDING
    assert status.noramp_status(PaymentStatus.CONFIRMED) is NoRampStatus.PAID
    assert status.noramp_status(PaymentStatus.EXPIRED) is NoRampStatus.CANCELLED


def test_the_docs_table_has_a_row_per_platform_status() -> None:
    table = status.noramp_markdown_table()
    assert table.count("\n") == len(PaymentStatus) + 1
    assert "| `confirmed` | `paid` |" in table
