"""The list read path on moto: what a page costs does not depend on its number or the node's size."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from payments_core.domain.entities import Payment
from payments_core.domain.stores import ExternalIdTaken
from payments_core.store import payments as store_module
from payments_core.store.payments import CreateContended, DynamoPaymentStore, listing_for
from tests.integration.helpers import Api
from tests.support import a_payment


def _item(node: str, i: int, wallet: str | None = None) -> Payment:
    return a_payment(
        node_id=node,
        external_id=f"x-{i}",
        network_id="net-1",
        wallet_id=wallet,
        created_at=f"2030-01-01T00:00:{i:02d}Z",
    )


class CountingClient:
    """The real moto client, counting the items each operation reads."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(**kwargs: Any) -> Any:
            resp = method(**kwargs)
            if name == "batch_get_item":
                self.calls.append((name, sum(len(v) for v in resp["Responses"].values())))
            elif name in ("query", "scan"):
                self.calls.append((name, resp["ScannedCount"]))
            else:
                self.calls.append((name, 1 if resp.get("Item") else 0))
            return resp

        return call


@pytest.fixture
def store(api: Api) -> DynamoPaymentStore:
    from payments_core import deps

    store = deps.payment_deps().payments
    assert isinstance(store, DynamoPaymentStore)
    return store


def test_pages_read_by_key_whatever_their_number(store: DynamoPaymentStore) -> None:
    node = str(uuid.uuid4())
    items = [_item(node, i, wallet="w-1" if i % 3 == 0 else None) for i in range(45)]
    for item in items:
        store.insert(item)
    counting = CountingClient(store._db)
    reader = DynamoPaymentStore(counting, store._payments, store._index)  # type: ignore[arg-type]
    newest_first = [i.id for i in reversed(items)]

    for page, per_page in ((1, 10), (3, 10), (5, 10), (2, 20), (1, 100)):
        counting.calls.clear()
        total, records = reader.page(listing_for(node), (page - 1) * per_page, per_page)
        expected = newest_first[(page - 1) * per_page : page * per_page]
        assert total == 45
        assert [r.id for r in records] == expected
        # counter, positions, payments: three key reads, nothing else, the page's items only
        reads = [("batch_get_item", 1), ("batch_get_item", len(expected)), ("batch_get_item", len(expected))]
        assert counting.calls == reads

    counting.calls.clear()
    assert reader.page(listing_for(node), 50, 10) == (45, [])
    assert counting.calls == [("batch_get_item", 1)]

    total, records = reader.page(listing_for(node, wallet_id="w-1"), 0, 100)
    assert total == 15
    assert [r.id for r in records] == [i for i in newest_first if i in {x.id for x in items[::3]}]


def test_a_refused_create_takes_no_position(store: DynamoPaymentStore) -> None:
    node = str(uuid.uuid4())
    first = _item(node, 1)
    store.insert(first)
    with pytest.raises(ExternalIdTaken) as info:
        store.insert(_item(node, 1)._replace(id=str(uuid.uuid4())))
    assert info.value.payment_id == first.id
    second = _item(node, 2)
    store.insert(second)
    total, records = store.page(listing_for(node), 0, 10)
    assert (total, [r.id for r in records]) == (2, [second.id, first.id])


class AlwaysRaced:
    """A client whose transactions always lose the race for a position."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.transactions = 0

    def batch_get_item(self, **kwargs: Any) -> Any:
        return self._inner.batch_get_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        response: Any = {
            "Error": {"Code": "TransactionCanceledException", "Message": "raced"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
        }
        raise ClientError(response, "TransactWriteItems")


def test_a_create_that_keeps_losing_the_race_is_503_within_its_budget(
    store: DynamoPaymentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_INSERT_BUDGET_S", 0.3)
    raced = AlwaysRaced(store._db)
    contended = DynamoPaymentStore(raced, store._payments, store._index)  # type: ignore[arg-type]
    node = str(uuid.uuid4())
    with pytest.raises(CreateContended) as info:
        contended.insert(_item(node, 1))
    assert info.value.status_code == 503
    assert info.value.code == "create_contended"
    assert raced.transactions > 1  # it read the counters again and retried before giving up
    assert store.page(listing_for(node), 0, 10) == (0, [])


class AnswerLost:
    """Commits the first transaction, loses its answer, and sends it again (as an SDK retry after a timeout)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._inner.transact_write_items(**kwargs)
        return self._inner.transact_write_items(**kwargs)  # refused: the guard is there now


def test_a_create_whose_committed_answer_was_lost_is_done_once(store: DynamoPaymentStore) -> None:
    node = str(uuid.uuid4())
    item = _item(node, 1)
    DynamoPaymentStore(AnswerLost(store._db), store._payments, store._index).insert(item)  # type: ignore[arg-type]
    total, records = store.page(listing_for(node), 0, 10)
    assert (total, [r.id for r in records]) == (1, [item.id])
    with pytest.raises(ExternalIdTaken):  # someone else's create of the same external id is still refused
        store.insert(_item(node, 1)._replace(id=str(uuid.uuid4())))


def test_an_insert_from_counters_read_before_another_create_reads_them_again(store: DynamoPaymentStore) -> None:
    node = str(uuid.uuid4())
    late = _item(node, 1, wallet="w-1")
    counters = store.read_counters(node, "w-1", "net-1").run()  # read with the references, as a create does
    assert set(counters.values()) == {0}
    early = _item(node, 2, wallet="w-1")
    store.insert(early)  # takes position 1 of each listing meanwhile
    store.insert(late, counters)  # its first attempt loses the race; the retry reads the counters again
    for listing in (listing_for(node), listing_for(node, wallet_id="w-1"), listing_for(node, "w-1", "net-1")):
        total, records = store.page(listing, 0, 10)
        assert (total, [r.id for r in records]) == (2, [late.id, early.id])
    assert store.read_total(listing_for(node, network_id="net-1")).run() == 2
