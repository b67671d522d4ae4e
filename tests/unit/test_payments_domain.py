"""payments_core.domain.payments with in-memory stores: create, get and list."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from payments_core.domain import payments
from payments_core.domain.access import Principal
from payments_core.domain.entities import Chain, Currency, Member, Network, Node, PaymentEvent, PaymentLine, Wallet
from payments_core.domain.payments import PaymentDeps, signer_of
from payments_core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from payments_core.http import json_codec
from payments_core.http.api import json_response
from payments_core.models.payments import CreatePaymentRequest, PaymentResponse, PaymentStatus
from payments_core.store.codec import payment_attributes
from payments_core.store.payments import listing_for
from tests.unit.fakes import FakeCatalog, FakeDealQueue, FakePaymentStore

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
DIAMOND = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    catalog: FakeCatalog
    store: FakePaymentStore
    queue: FakeDealQueue
    deps: PaymentDeps
    root: str
    child: str
    grandchild: str
    sibling: str
    chain: str
    other_chain: str
    network: str
    other_network: str
    currency: str  # USDT, 6 decimals, a token on `network` only
    cents: str  # 2 decimals, a token on `network`
    fiat: str  # 2 decimals, no token anywhere
    wallet: str  # of `child`, on `network`
    wallet_other_network: str
    wallet_any_network: str
    platform_wallet: str  # `network`'s and `other_network`'s (it signs for payments that name no wallet)
    member: str

    def principal(self, node: str | None = None) -> Principal:
        return Principal(actor_type="integration", actor_id="ci_test", node_id=node or self.root)


@pytest.fixture
def world() -> World:
    catalog = FakeCatalog()
    ids = {name: new_id() for name in ("root", "child", "grandchild", "sibling")}
    root, child = ids["root"], ids["child"]
    catalog.add(Node(id=root, name="root", path=(root,)))
    catalog.add(Node(id=child, name="child", path=(root, child)))
    catalog.add(Node(id=ids["grandchild"], name="gc", path=(root, child, ids["grandchild"])))
    catalog.add(Node(id=ids["sibling"], name="sibling", path=(root, ids["sibling"])))
    chain, other_chain = new_id(), new_id()
    catalog.add(Chain(id=chain, name="Ethereum"))
    catalog.add(Chain(id=other_chain, name="Tron"))
    network, other_network, platform = new_id(), new_id(), new_id()
    catalog.add(
        Network(
            id=network, chain_id=chain, name="mainnet", evm_chain_id=1, diamond_address=DIAMOND,
            platform_wallet_id=platform,
        )
    )  # fmt: skip
    catalog.add(
        Network(
            id=other_network, chain_id=other_chain, name="tron", evm_chain_id=2, diamond_address=DIAMOND,
            platform_wallet_id=platform,
        )
    )  # fmt: skip
    currency, cents, fiat = new_id(), new_id(), new_id()
    catalog.add(Currency(id=currency, symbol="USDT", decimals=6, tokens={network: USDT}))
    catalog.add(Currency(id=cents, symbol="CENT", decimals=2, tokens={network: "0xC"}))
    catalog.add(Currency(id=fiat, symbol="TRY", decimals=2, tokens={}))
    wallet, wallet_other, wallet_any = new_id(), new_id(), new_id()
    catalog.add(Wallet(id=wallet, node_id=child, address="0xW1", network_id=network))
    catalog.add(Wallet(id=wallet_other, node_id=child, address="0xW2", network_id=other_network))
    catalog.add(Wallet(id=wallet_any, node_id=child, address="0xW3"))
    catalog.add(Wallet(id=platform, node_id=root, address="0xP"))
    member = new_id()
    catalog.add(Member(id=member, node_id=child, name="Ada"))
    store, queue = FakePaymentStore(), FakeDealQueue()
    return World(
        catalog=catalog,
        store=store,
        queue=queue,
        deps=PaymentDeps(catalog=catalog, payments=store, deal_queue=queue),
        chain=chain,
        other_chain=other_chain,
        network=network,
        other_network=other_network,
        currency=currency,
        cents=cents,
        fiat=fiat,
        wallet=wallet,
        wallet_other_network=wallet_other,
        wallet_any_network=wallet_any,
        platform_wallet=platform,
        member=member,
        **ids,
    )


EXPIRES = "2099-01-31T23:59:59Z"


def request(w: World, **overrides: Any) -> CreatePaymentRequest:
    body: dict[str, Any] = {
        "external_id": "order-1",
        "node_id": w.child,
        "network_id": w.network,
        "currency_id": w.currency,
        "price": Decimal("100.5"),
        "paid_price": Decimal("99.75"),
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": ADDRESS,
        "expires_at": EXPIRES,
    }
    body.update(overrides)
    return CreatePaymentRequest.model_validate({k: v for k, v in body.items() if v is not None})


def create(w: World, principal: Principal | None = None, **overrides: Any) -> PaymentResponse:
    return payments.create_payment(w.deps, principal or w.principal(), request(w, **overrides))


def assert_nothing_written(w: World) -> None:
    assert w.store.inserted == []
    assert w.queue.sent == []


# --------------------------------------------------------------------------- 404 per reference


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("node_id", "node"),
        ("network_id", "network"),
        ("currency_id", "currency"),
        ("chain_id", "chain"),
        ("wallet_id", "wallet"),
        ("member_id", "member"),
    ],
)
def test_unknown_reference_is_404_naming_the_field(world: World, field: str, kind: str) -> None:
    missing = new_id()
    overrides: dict[str, Any] = {field: missing}
    with pytest.raises(NotFound) as info:
        create(world, **overrides)
    err = info.value
    assert err.status_code == 404
    assert err.code == f"{kind}_not_found"
    assert err.message == f"{kind.capitalize()} {missing} not found"
    assert err.details == [{"field": f"body.{field}", "code": "not_found", "message": f"no {kind} with this id"}]
    assert err.body() == {"error": {"code": f"{kind}_not_found", "message": err.message, "details": err.details}}
    assert_nothing_written(world)


def test_a_catalog_entry_of_another_kind_is_not_found(world: World) -> None:
    # The network's id used as a currency id: ids are per kind.
    with pytest.raises(NotFound) as info:
        create(world, currency_id=world.network)
    assert info.value.code == "currency_not_found"


def test_references_are_read_in_one_batch(world: World) -> None:
    create(world, chain_id=world.chain, wallet_id=world.wallet, member_id=world.member)
    assert len(world.catalog.read_many_calls) == 1
    assert set(world.catalog.read_many_calls[0]) == {
        (Node, world.child),
        (Network, world.network),
        (Currency, world.currency),
        (Chain, world.chain),
        (Wallet, world.wallet),
        (Member, world.member),
    }


def test_first_missing_reference_in_field_order_wins(world: World) -> None:
    with pytest.raises(NotFound) as info:
        create(world, node_id=new_id(), currency_id=new_id())
    assert info.value.code == "node_not_found"


# --------------------------------------------------------------------------- 403 node access


@pytest.mark.parametrize(
    ("caller", "target"),
    [("child", "root"), ("child", "sibling"), ("grandchild", "child"), ("sibling", "grandchild")],
)
def test_node_the_integration_does_not_reach_is_403(world: World, caller: str, target: str) -> None:
    with pytest.raises(Forbidden) as info:
        create(world, world.principal(getattr(world, caller)), node_id=getattr(world, target))
    assert info.value.status_code == 403
    assert info.value.code == "node_access_denied"
    assert_nothing_written(world)


@pytest.mark.parametrize(("caller", "target"), [("root", "root"), ("root", "grandchild"), ("child", "grandchild")])
def test_own_node_and_descendants_are_reachable(world: World, caller: str, target: str) -> None:
    resp = create(world, world.principal(getattr(world, caller)), node_id=getattr(world, target))
    assert str(resp.node_id) == getattr(world, target)
    assert world.store.inserted[0].node_path == world.catalog.get(Node, getattr(world, target)).path  # type: ignore[union-attr]


def test_403_comes_before_catalog_consistency_checks(world: World) -> None:
    # An unreachable node must not leak anything about the catalog through validation errors.
    with pytest.raises(Forbidden):
        create(world, world.principal(world.sibling), price=Decimal("100.5000001"), chain_id=world.other_chain)


def test_wallet_of_an_unreachable_node_is_refused(world: World) -> None:
    other_tenant = new_id()
    world.catalog.add(Node(id=other_tenant, name="other", path=(other_tenant,)))
    foreign = new_id()
    world.catalog.add(Wallet(id=foreign, node_id=other_tenant, address="0xF", network_id=world.network))
    with pytest.raises(DomainError) as info:
        create(world, world.principal(world.child), wallet_id=foreign)
    assert info.value.status_code in (403, 404)


def test_member_of_an_unreachable_node_is_refused(world: World) -> None:
    other_tenant = new_id()
    world.catalog.add(Node(id=other_tenant, name="other", path=(other_tenant,)))
    foreign = new_id()
    world.catalog.add(Member(id=foreign, node_id=other_tenant, email="victim@example.com"))
    with pytest.raises(DomainError) as info:
        create(world, world.principal(world.child), member_id=foreign)
    assert info.value.status_code in (403, 404)


# --------------------------------------------------------------------------- catalog consistency


def details_of(w: World, **overrides: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as info:
        create(w, **overrides)
    assert info.value.status_code == 422
    assert info.value.code == "validation_error"
    assert_nothing_written(w)
    return info.value.details


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": Decimal("100.501"), "paid_price": Decimal("1")}, "body.price"),
        ({"price": Decimal("1"), "paid_price": Decimal("0.001")}, "body.paid_price"),
    ],
)
def test_amount_with_more_decimals_than_the_currency_is_refused(
    world: World, overrides: dict[str, Any], field: str
) -> None:
    assert details_of(world, currency_id=world.cents, **overrides) == [
        {"field": field, "code": "too_many_decimals", "message": "CENT has 2 decimals"}
    ]


def test_item_with_too_many_decimals_names_the_item(world: World) -> None:
    items = [
        {"name": "a", "price": Decimal("50.25"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("50.255"), "external_id": "i-2"},
    ]
    details = details_of(
        world, currency_id=world.cents, price=Decimal("100.505"), paid_price=Decimal("100.5"), items=items
    )
    assert details == [
        {"field": "body.price", "code": "too_many_decimals", "message": "CENT has 2 decimals"},
        {"field": "body.items.1.price", "code": "too_many_decimals", "message": "CENT has 2 decimals"},
    ]


def test_all_consistency_problems_are_reported_together(world: World) -> None:
    details = details_of(
        world,
        currency_id=world.fiat,
        price=Decimal("1.001"),
        paid_price=Decimal("1.001"),
        chain_id=world.other_chain,
        wallet_id=world.wallet_other_network,
    )
    assert [(d["field"], d["code"]) for d in details] == [
        ("body.price", "too_many_decimals"),
        ("body.paid_price", "too_many_decimals"),
        ("body.chain_id", "network_not_on_chain"),
        ("body.wallet_id", "wallet_not_on_network"),
        ("body.currency_id", "currency_not_on_network"),
    ]


@pytest.mark.parametrize(
    ("price", "decimals_ok"),
    [("100.50", True), ("100.500000", True), ("0.000001", True), ("0.0000001", False), ("100.5000001", False)],
)
def test_scale_is_checked_on_the_value_not_the_notation(world: World, price: str, decimals_ok: bool) -> None:
    if decimals_ok:
        assert create(world, price=Decimal(price), paid_price=Decimal(price)).price == Decimal(price)
    else:
        assert [d["code"] for d in details_of(world, price=Decimal(price), paid_price=Decimal(price))] == [
            "too_many_decimals",
            "too_many_decimals",
        ]


def test_web3_needs_a_token_of_the_currency_on_the_network(world: World) -> None:
    assert details_of(world, currency_id=world.fiat, price=Decimal(10), paid_price=Decimal(10)) == [
        {
            "field": "body.currency_id",
            "code": "currency_not_on_network",
            "message": "the currency has no token on this network",
        }
    ]
    # USDT has a token on `network` but not on `other_network`
    assert [d["code"] for d in details_of(world, network_id=world.other_network)] == ["currency_not_on_network"]


@pytest.mark.parametrize("method", ["credit_card", "bank_transfer"])
def test_off_chain_methods_need_no_token(world: World, method: str) -> None:
    resp = create(world, payment_method=method, currency_id=world.fiat, price=Decimal(10), paid_price=Decimal(10))
    assert resp.payment_method.value == method


def test_network_not_on_chain(world: World) -> None:
    assert details_of(world, chain_id=world.other_chain) == [
        {"field": "body.chain_id", "code": "network_not_on_chain", "message": "the network is not on this chain"}
    ]


def test_network_on_its_chain_is_accepted(world: World) -> None:
    assert str(create(world, chain_id=world.chain).chain_id) == world.chain


def test_wallet_on_another_network_is_refused(world: World) -> None:
    assert details_of(world, wallet_id=world.wallet_other_network) == [
        {"field": "body.wallet_id", "code": "wallet_not_on_network", "message": "the wallet is on another network"}
    ]


def test_wallet_without_network_is_accepted(world: World) -> None:
    assert str(create(world, wallet_id=world.wallet_any_network).wallet_id) == world.wallet_any_network


# --------------------------------------------------------------------------- the record


def test_web3_record_written(world: World) -> None:
    before = datetime.now(UTC)
    resp = create(
        world,
        wallet_id=world.wallet,
        chain_id=world.chain,
        client_ip="10.0.0.1",
        items=[
            {"name": "a", "price": Decimal("60.25"), "external_id": "i-1"},
            {"name": "b", "price": Decimal("40.25"), "external_id": "i-2"},
        ],
    )
    after = datetime.now(UTC)
    assert len(world.store.inserted) == 1
    record = world.store.inserted[0]
    pid = record.id
    assert uuid.UUID(pid).version == 4
    assert record.status == "pending"
    assert record.node_path == (world.root, world.child)
    assert record.node_id == world.child
    assert record.network_id == world.network
    assert record.currency_id == world.currency
    assert record.wallet_id == world.wallet
    assert record.chain_id == world.chain
    # amount_units is paid_price (99.75), not price (100.5), in USDT's smallest unit (6 decimals)
    assert record.amount_units == 99_750_000
    assert type(record.amount_units) is int
    assert record.deal_ref == "0x" + "0" * 32 + uuid.UUID(pid).hex
    assert len(record.deal_ref) == 66
    assert record.token_address == USDT
    assert record.currency_symbol == "USDT"
    assert record.currency_decimals == 6
    assert record.price == Decimal("100.5")
    assert record.paid_price == Decimal("99.75")
    assert record.items == (
        PaymentLine("a", Decimal("60.25"), "i-1"),
        PaymentLine("b", Decimal("40.25"), "i-2"),
    )
    assert record.payment_method == "web3"
    assert record.payment_group == "product"
    assert record.client_ip == "10.0.0.1"
    assert record.expires_at == "2099-01-31T23:59:59.000000Z"
    assert record.version == 1
    assert record.last_event == PaymentEvent(
        type="created",
        message="Payment created (web3)",
        actor_type="integration",
        actor_id="ci_test",
        status_before=None,
        correlation_id=None,  # no request in effect (outside a handler)
    )
    assert record.created_at == record.updated_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record.created_at)
    created = datetime.fromisoformat(record.created_at)
    assert before - timedelta(seconds=1) <= created <= after
    assert re.fullmatch(rf"pwt_{uuid.UUID(pid).hex}_[A-Za-z0-9_-]{{43}}", record.access_token)
    # nothing in the record is a UUID object or a float: it must go to DynamoDB as is
    for value in payment_attributes(record).values():
        assert not isinstance(value, uuid.UUID | float)

    # the response is the record
    assert str(resp.id) == pid
    assert resp.status is PaymentStatus.PENDING
    assert resp.access_token == record.access_token
    assert resp.price == Decimal("100.5")
    assert resp.paid_price == Decimal("99.75")
    assert resp.expires_at == datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert resp.transaction_hash is None
    assert resp.deal_id is None


def test_response_json_of_a_created_payment(world: World) -> None:
    resp = create(world, price=Decimal("0.1"), paid_price=Decimal("0.000001"))
    text = json_response(201, resp).body
    assert isinstance(text, str)
    assert '"price":0.1,' in text
    assert '"paid_price":0.000001,' in text
    assert '"expires_at":"2099-01-31T23:59:59Z"' in text
    body = json_codec.loads(text)
    assert body["status"] == "pending"
    assert body["access_token"].startswith("pwt_")
    assert body["created_at"].endswith("Z")


def test_each_payment_gets_its_own_id_and_token(world: World) -> None:
    first = create(world, external_id="a")
    second = create(world, external_id="b")
    assert first.id != second.id
    assert first.access_token != second.access_token


@pytest.mark.parametrize("method", ["credit_card", "bank_transfer"])
def test_off_chain_record_has_no_chain_fields_and_sends_no_message(world: World, method: str) -> None:
    create(world, payment_method=method)
    record = world.store.inserted[0]
    assert record.payment_method == method
    assert record.status == "pending"
    for absent in ("amount_units", "deal_ref", "token_address"):
        assert absent not in record
    assert world.queue.sent == []


def test_expires_at_with_offset_is_the_same_instant(world: World) -> None:
    resp = create(world, expires_at="2099-02-01T02:59:59+03:00")
    assert resp.expires_at == datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)
    stored = datetime.fromisoformat(world.store.inserted[0].expires_at)
    assert stored == datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)


# --------------------------------------------------------------------------- the create-deal message


def test_create_deal_message(world: World) -> None:
    resp = create(world, wallet_id=world.wallet, retry_count=2)
    pid = str(resp.id)
    assert len(world.queue.sent) == 1
    msg = world.queue.sent[0]
    assert msg.body == {
        "type": "create_deal",
        "payment_id": pid,
        "node_id": world.child,
        "network_id": world.network,
        "wallet_id": world.wallet,
        "currency_id": world.currency,
        "token_address": USDT,
        "decimals": 6,
        "amount_units": "99750000",
        "payee": ADDRESS,
        "expires_at": "2099-01-31T23:59:59.000000Z",
        "ref": "0x" + "0" * 32 + uuid.UUID(pid).hex,
        "signer_wallet_id": world.wallet,
        "retry_count": 2,
    }
    assert msg.group == f"signer:{world.wallet}"
    assert msg.dedup_id == f"{pid}:2"


def test_create_deal_message_without_wallet_is_in_the_platform_wallets_lane(world: World) -> None:
    resp = create(world)
    msg = world.queue.sent[0]
    assert msg.body["wallet_id"] is None
    assert msg.body["retry_count"] == 0
    assert msg.group == f"signer:{world.platform_wallet}"
    assert world.store.inserted[0].signer_wallet_id == world.platform_wallet
    assert msg.dedup_id == f"{resp.id}:0"


# --------------------------------------------------------------------------- lanes: one per signing key


def test_two_wallets_with_one_owner_share_the_owners_lane(world: World) -> None:
    owner, a, b = new_id(), new_id(), new_id()
    world.catalog.add(Wallet(id=owner, node_id=world.root, address="0xO", network_id=world.network))
    world.catalog.add(Wallet(id=a, node_id=world.child, address="0xA", network_id=world.network, owner_wallet_id=owner))
    world.catalog.add(Wallet(id=b, node_id=world.child, address="0xB", owner_wallet_id=owner))
    create(world, wallet_id=a, external_id="order-a")
    create(world, wallet_id=b, external_id="order-b")
    create(world, wallet_id=owner, external_id="order-owner")
    assert {m.group for m in world.queue.sent} == {f"signer:{owner}"}
    assert [p.signer_wallet_id for p in world.store.inserted] == [owner] * 3
    assert [p.wallet_id for p in world.store.inserted] == [a, b, owner]  # each keeps its own wallet (listings)


def test_a_payment_naming_the_platform_wallet_and_one_naming_none_share_a_lane(world: World) -> None:
    create(world, wallet_id=world.platform_wallet, external_id="order-named")
    create(world, external_id="order-unnamed")
    assert [m.group for m in world.queue.sent] == [f"signer:{world.platform_wallet}"] * 2


def test_lanes_of_different_signers_differ(world: World) -> None:
    create(world, wallet_id=world.wallet, external_id="order-w")
    create(world, external_id="order-p")
    assert [m.group for m in world.queue.sent] == [f"signer:{world.wallet}", f"signer:{world.platform_wallet}"]


def test_payments_naming_no_wallet_are_spread_over_the_networks_signing_pool(world: World) -> None:
    """Decision 0045: the platform wallet and its pool each sign a share (a lane each), chosen from the id."""
    pool = [new_id() for _ in range(3)]
    for wallet_id in pool:
        world.catalog.add(Wallet(id=wallet_id, node_id=world.root, address="0xP", network_id=world.network))
    network = world.catalog.get(Network, world.network)
    assert network is not None
    world.catalog.add(network._replace(signing_pool=tuple(pool)))
    for i in range(80):
        create(world, external_id=f"order-{i}")
    signers = [p.signer_wallet_id for p in world.store.inserted]
    assert set(signers) == {world.platform_wallet, *pool}
    assert min(signers.count(s) for s in set(signers)) >= 8  # each a fair share (80 over 4: 20 expected)
    assert [m.group for m in world.queue.sent] == [f"signer:{s}" for s in signers]
    # A stable choice: the same id always gets the same signer.
    pooled = world.catalog.get(Network, world.network)
    assert pooled is not None
    assert signer_of(None, pooled, world.store.inserted[0].id) == signers[0]
    create(world, wallet_id=world.wallet, external_id="order-named")  # a wallet named: it signs, never the pool
    assert world.store.inserted[-1].signer_wallet_id == world.wallet


def test_a_web3_payment_nobody_can_sign_is_refused_at_the_door(world: World) -> None:
    bare = new_id()
    world.catalog.add(Network(id=bare, chain_id=world.chain, name="bare", evm_chain_id=3, diamond_address=DIAMOND))
    world.catalog.add(Currency(id=world.currency, symbol="USDT", decimals=6, tokens={world.network: USDT, bare: USDT}))
    with pytest.raises(ValidationFailed) as info:
        create(world, network_id=bare)
    assert [(d["field"], d["code"]) for d in info.value.details] == [("body.wallet_id", "no_signing_wallet")]
    assert_nothing_written(world)
    create(world, network_id=bare, wallet_id=world.wallet_any_network)  # a wallet named: it signs
    assert world.queue.sent[0].group == f"signer:{world.wallet_any_network}"


def test_a_card_payment_has_no_signer_and_no_lane(world: World) -> None:
    bare = new_id()
    world.catalog.add(Network(id=bare, chain_id=world.chain, name="bare", evm_chain_id=3))
    create(world, network_id=bare, payment_method="credit_card")
    assert world.store.inserted[0].signer_wallet_id is None
    assert world.queue.sent == []


def test_amount_units_of_an_18_decimal_token(world: World) -> None:
    eth = new_id()
    world.catalog.add(Currency(id=eth, symbol="ETH", decimals=18, tokens={world.network: "0xE"}))
    create(world, currency_id=eth, price=Decimal("1.5"), paid_price=Decimal("0.000000000000000001"))
    assert world.store.inserted[0].amount_units == 1
    assert world.queue.sent[0].body["amount_units"] == "1"
    assert world.queue.sent[0].body["decimals"] == 18


def test_amount_units_of_a_large_18_decimal_amount_is_exact(world: World) -> None:
    eth = new_id()
    world.catalog.add(Currency(id=eth, symbol="SHIB", decimals=18, tokens={world.network: "0xS"}))
    amount = Decimal("12345678901.123456789012345678")
    create(world, currency_id=eth, price=amount, paid_price=amount)
    assert world.queue.sent[0].body["amount_units"] == "12345678901123456789012345678"


# --------------------------------------------------------------------------- 409 duplicates


def test_duplicate_external_id_on_the_same_node_is_409_with_the_existing_id(world: World) -> None:
    first = create(world, external_id="dup")
    with pytest.raises(Conflict) as info:
        create(world, external_id="dup", price=Decimal(1), paid_price=Decimal(1))
    err = info.value
    assert err.status_code == 409
    assert err.code == "payment_already_exists"
    assert err.body() == {
        "error": {
            "code": "payment_already_exists",
            "message": "A payment with external_id 'dup' already exists for this node",
            "details": [
                {
                    "field": "body.external_id",
                    "code": "duplicate",
                    "message": "already used by another payment of this node",
                }
            ],
            "payment_id": str(first.id),
        }
    }
    assert len(world.store.items) == 1
    assert len(world.queue.sent) == 1  # no create-deal message for the refused duplicate


def test_same_external_id_on_another_node_is_fine(world: World) -> None:
    a = create(world, external_id="same", node_id=world.child)
    b = create(world, external_id="same", node_id=world.grandchild)
    assert a.id != b.id
    assert len(world.store.items) == 2


# --------------------------------------------------------------------------- get


def test_get_payment(world: World) -> None:
    created = create(world)
    got = payments.get_payment(world.deps, world.principal(), str(created.id))
    assert got == created


def test_get_payment_accepts_any_uuid_spelling(world: World) -> None:
    created = create(world)
    got = payments.get_payment(world.deps, world.principal(), str(created.id).upper())
    assert got.id == created.id
    assert world.store.get_calls[-1] == str(created.id)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "123", "../etc/passwd", "00000000-0000-0000-0000-00000000000g"])
def test_get_of_a_non_uuid_is_404_without_a_lookup(world: World, bad: str) -> None:
    with pytest.raises(NotFound) as info:
        payments.get_payment(world.deps, world.principal(), bad)
    assert info.value.status_code == 404
    assert info.value.code == "payment_not_found"
    assert world.store.get_calls == []


def test_get_of_an_unknown_payment_is_404(world: World) -> None:
    missing = new_id()
    with pytest.raises(NotFound) as info:
        payments.get_payment(world.deps, world.principal(), missing)
    assert info.value.code == "payment_not_found"
    assert info.value.message == f"Payment {missing} not found"


def test_get_of_a_payment_of_an_unreachable_node_is_403(world: World) -> None:
    created = create(world, node_id=world.child)
    with pytest.raises(Forbidden) as info:
        payments.get_payment(world.deps, world.principal(world.sibling), str(created.id))
    assert info.value.code == "node_access_denied"
    assert "payment's node" in info.value.message
    # an ancestor sees it
    assert payments.get_payment(world.deps, world.principal(world.root), str(created.id)).id == created.id


# --------------------------------------------------------------------------- list


def seed(w: World, count: int, *, node: str | None = None, **overrides: Any) -> list[str]:
    """`count` payments, created in order; returns their ids oldest first."""
    ids = []
    for i in range(count):
        resp = create(w, external_id=f"{node or 'n'}-{i}-{new_id()}", node_id=node or w.child, **overrides)
        ids.append(str(resp.id))
    return ids


def list_(w: World, principal: Principal | None = None, **kwargs: Any) -> Any:
    args: dict[str, Any] = {"node_id": w.child, "wallet_id": None, "network_id": None, "page": 1, "per_page": 10}
    args.update(kwargs)
    return payments.list_payments(w.deps, principal or w.principal(), **args)


@pytest.mark.parametrize(
    ("page", "per_page", "expected_slice"),
    [
        (1, 10, slice(0, 10)),
        (2, 10, slice(10, 20)),
        (3, 10, slice(20, 25)),
        (1, 100, slice(0, 25)),
        (5, 5, slice(20, 25)),
        (13, 2, slice(24, 25)),
        (1, 1, slice(0, 1)),
    ],
)
def test_list_offset_math_and_total(world: World, page: int, per_page: int, expected_slice: slice) -> None:
    ids = seed(world, 25)
    newest_first = list(reversed(ids))
    result = list_(world, page=page, per_page=per_page)
    assert [str(p.id) for p in result.items] == newest_first[expected_slice]
    assert (result.page, result.per_page, result.total) == (page, per_page, 25)
    assert world.store.page_calls[-1].offset == (page - 1) * per_page
    assert world.store.page_calls[-1].limit == per_page


@pytest.mark.parametrize(("page", "per_page"), [(4, 10), (6, 5), (100, 100), (2, 25)])
def test_list_past_the_end_is_empty_with_the_exact_total(world: World, page: int, per_page: int) -> None:
    seed(world, 25)
    result = list_(world, page=page, per_page=per_page)
    assert result.items == []
    assert result.total == 25


def test_list_of_an_empty_node(world: World) -> None:
    result = list_(world, node_id=world.sibling)
    assert (result.items, result.total, result.page, result.per_page) == ([], 0, 1, 10)


def test_list_filters_use_the_matching_listing(world: World) -> None:
    seed(world, 3)
    with_wallet = seed(world, 2, wallet_id=world.wallet)
    result = list_(world, wallet_id=world.wallet)
    assert result.total == 2
    assert sorted(str(p.id) for p in result.items) == sorted(with_wallet)
    assert world.store.page_calls[-1].listing == listing_for(world.child, world.wallet, None)

    result = list_(world, wallet_id=world.wallet, network_id=world.network)
    assert result.total == 2
    assert world.store.page_calls[-1].listing == listing_for(world.child, world.wallet, world.network)

    assert list_(world, network_id=world.network).total == 5
    assert list_(world, network_id=world.other_network).total == 0


def test_list_shows_the_node_only_not_its_descendants(world: World) -> None:
    seed(world, 2, node=world.child)
    seed(world, 3, node=world.grandchild)
    assert list_(world, node_id=world.child).total == 2
    assert list_(world, node_id=world.grandchild).total == 3


def test_list_of_an_unknown_node_is_404(world: World) -> None:
    missing = new_id()
    with pytest.raises(NotFound) as info:
        list_(world, node_id=missing)
    assert info.value.code == "node_not_found"
    assert info.value.details == [{"field": "query.node_id", "code": "not_found", "message": "no node with this id"}]


def test_list_of_an_unreachable_node_is_403(world: World) -> None:
    seed(world, 1)
    with pytest.raises(Forbidden) as info:
        list_(world, world.principal(world.sibling), node_id=world.child)
    assert info.value.code == "node_access_denied"
    assert world.store.page_calls == []
