"""PaymentStore's reads and writes of several payments at once, on moto: `get_many` (one batch read) and
`update_all` (one transaction: all written or none)."""

from __future__ import annotations

import pytest

from payments_core.domain.stores import StaleWrite
from payments_core.models.payments import PaymentStatus as S
from payments_core.store.payments import DynamoPaymentStore
from tests.integration.helpers import Api
from tests.support import a_payment


@pytest.fixture
def store(api: Api) -> DynamoPaymentStore:
    from payments_core import deps

    store = deps.payment_deps().payments
    assert isinstance(store, DynamoPaymentStore)
    return store


def _three(store: DynamoPaymentStore) -> list[str]:
    ids = []
    for i in range(3):
        payment = a_payment(node_id="node-writes", external_id=f"w-{i}", network_id="net-1")
        store.insert(payment)
        ids.append(payment.id)
    return ids


def test_get_many_reads_the_payments_that_exist(store: DynamoPaymentStore) -> None:
    ids = _three(store)
    found = store.get_many([*ids, "absent", ids[0]])
    assert sorted(found) == sorted(ids)
    assert all(found[i] == store.get(i) for i in ids)
    assert store.get_many([]) == {}


def test_update_all_writes_every_payment_and_answers_them_as_read_back(store: DynamoPaymentStore) -> None:
    payments = [p for i in _three(store) if (p := store.get(i)) is not None]
    written = store.update_all([(p, {"status": S.SENDING, "deal_may_exist": True}) for p in payments])
    read_back = [store.get(p.id) for p in payments]
    assert written == read_back
    assert [(p.status, p.version) for p in written if p is not None] == [(S.SENDING, payments[0].version + 1)] * 3


def test_update_all_writes_nothing_when_one_payment_moved_meanwhile(store: DynamoPaymentStore) -> None:
    payments = [p for i in _three(store) if (p := store.get(i)) is not None]
    moved = store.update(payments[1], {"status": S.CANCELLED})  # someone else's write: the read is stale
    with pytest.raises(StaleWrite):
        store.update_all([(p, {"status": S.SENDING}) for p in payments])
    assert [store.get(p.id) for p in payments] == [payments[0], moved, payments[2]]
