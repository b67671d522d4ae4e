"""domain/prices.py and domain/triggers.py on the fake catalog: the rules of NoRamp's prices and triggers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from payments_core.domain import prices, triggers
from payments_core.domain.access import Principal
from payments_core.domain.entities import App, AppOwner, Price, Trigger
from payments_core.domain.stores import StaleWrite
from payments_core.errors import Conflict, DomainError, NotFound, ValidationFailed
from payments_core.models.prices import CreatePriceRequest
from payments_core.models.triggers import TRIGGER_EXAMPLE, CreateTriggerRequest, UpdateTriggerRequest
from tests.unit.fakes import FakeCatalog

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NODE = "00000000-0000-4000-8000-000000000001"


def make_app(catalog: FakeCatalog, app_type: str = "individual", suffix: str = "a") -> App:
    return catalog.add(
        App(
            id="app_" + suffix * 32,
            node_id=NODE,
            node_path=(NODE,),
            name="Demo",
            type=app_type,
            status="active",
            app_fee=Decimal(0),
            owner=AppOwner("u1", "owner"),
        )
    )


def key_of(app: App) -> Principal:
    return Principal(actor_type="app_key", actor_id="key_0123456789abcdef", node_id="", app_id=app.id)


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def app(catalog: FakeCatalog) -> App:
    return make_app(catalog)


def trigger_body(**changes: Any) -> CreateTriggerRequest:
    return CreateTriggerRequest.model_validate({**TRIGGER_EXAMPLE, **changes})


def new_trigger(catalog: FakeCatalog, app: App, **changes: Any) -> str:
    return triggers.create_trigger(catalog, key_of(app), app.id, trigger_body(**changes)).id


def price_body(**fields: Any) -> CreatePriceRequest:
    return CreatePriceRequest.model_validate({"name": "Ticket", "amount": 50, **fields})


def codes(exc: pytest.ExceptionInfo[DomainError]) -> list[tuple[str, str]]:
    return [(d["field"], d["code"]) for d in exc.value.details]


# ------------------------------------------------------------------------------------------------ prices
def test_a_price_is_created_listed_got_and_deleted(catalog: FakeCatalog, app: App) -> None:
    who = key_of(app)
    created = prices.create_price(catalog, who, app.id, price_body(metadata={"sku": "a"}))
    assert created.id.startswith("price_")
    assert len(created.id) == 6 + 32
    assert (created.views, created.expired, created.currency, created.type) == (0, False, "usd", "static")
    assert created.amount == Decimal(50)
    second = prices.create_price(catalog, who, app.id, price_body(name="Second", amount="7.25"))
    listed = prices.list_prices(catalog, who, app.id, page=1, per_page=10)
    assert [p.id for p in listed.items] == [second.id, created.id]  # newest first
    assert listed.total == 2
    assert prices.get_price(catalog, who, app.id, created.id) == created
    assert prices.delete_price(catalog, who, app.id, created.id).id == created.id
    with pytest.raises(NotFound) as caught:
        prices.get_price(catalog, who, app.id, created.id)
    assert caught.value.code == "price_not_found"
    with pytest.raises(NotFound):
        prices.delete_price(catalog, who, app.id, created.id)
    after = prices.list_prices(catalog, who, app.id, page=1, per_page=10)
    assert ([p.id for p in after.items], after.total) == ([second.id], 1)


def test_another_apps_key_reaches_neither_the_app_nor_its_prices(catalog: FakeCatalog, app: App) -> None:
    other = make_app(catalog, suffix="b")
    created = prices.create_price(catalog, key_of(app), app.id, price_body())
    for call in (
        lambda: prices.get_price(catalog, key_of(other), app.id, created.id),
        lambda: prices.list_prices(catalog, key_of(other), app.id, page=1, per_page=10),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.code == "app_not_found"
    # Its own app id with another app's price id: the price is not found in this app.
    with pytest.raises(NotFound) as not_here:
        prices.get_price(catalog, key_of(other), other.id, created.id)
    assert not_here.value.code == "price_not_found"


def test_unknown_price_ids_of_any_form_are_404(catalog: FakeCatalog, app: App) -> None:
    for price_id in ("price_" + "0" * 32, "nope", "price_../x", ""):
        with pytest.raises(NotFound):
            prices.get_price(catalog, key_of(app), app.id, price_id)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"amount": "4.99"}, "amount_too_small"),
        ({"amount": "5.001"}, "too_many_decimals"),
        ({"amount": "500.5", "currency": "jpy"}, "too_many_decimals"),
        ({"amount": "5.0001", "currency": "kwd"}, "too_many_decimals"),
        ({"currency": "USD"}, "invalid_currency"),
        ({"currency": "xyz"}, "invalid_currency"),
        ({"currency": "xau"}, "invalid_currency"),
        ({"currency_conversion": "usd"}, "same_currency"),
        ({"currency_conversion": "EUR"}, "invalid_currency"),
        ({"name": "x" * 257}, "string_too_long"),
        ({"name": "  "}, "string_too_short"),
        ({"type": "once"}, "enum"),
        ({"network_type": "devnet"}, "enum"),
        ({"category": "gift"}, "enum"),
        ({"metadata": ["a"]}, "dict_type"),
        ({"metadata": {"a": "x" * 9000}}, "too_long"),
        ({"kyc_id": "acct_1"}, "string_pattern_mismatch"),
        ({"amount": 50.5}, "decimal_type"),
        ({"amount": "1e3"}, "decimal_parsing"),
        ({"views": 3}, "extra_forbidden"),
    ],
)
def test_price_fields_are_refused_with_their_code(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        price_body(**fields)
    assert code in [e["type"] for e in caught.value.errors()]


def test_amounts_keep_their_currencys_decimals_exactly() -> None:
    assert price_body(amount="5.125", currency="kwd").amount == Decimal("5.125")
    assert price_body(amount=500, currency="jpy").amount == Decimal(500)
    assert price_body(amount="5.10").amount == Decimal("5.1")
    assert price_body(amount=5, currency_conversion="eur").currency_conversion == "eur"


def test_kyc_id_is_required_for_a_marketplace_and_refused_for_an_individual_app(catalog: FakeCatalog, app: App) -> None:
    market = make_app(catalog, "marketplace", suffix="c")
    with pytest.raises(ValidationFailed) as missing:
        prices.create_price(catalog, key_of(market), market.id, price_body())
    assert codes(missing) == [("body.kyc_id", "missing")]
    assert prices.create_price(catalog, key_of(market), market.id, price_body(kyc_id="kyc_abc")).kyc_id == "kyc_abc"
    with pytest.raises(ValidationFailed) as refused:
        prices.create_price(catalog, key_of(app), app.id, price_body(kyc_id="kyc_abc"))
    assert codes(refused) == [("body.kyc_id", "kyc_not_allowed")]


def test_a_price_names_a_live_trigger_of_its_app_and_fixes_some_of_its_parameters(
    catalog: FakeCatalog, app: App
) -> None:
    trigger_id = new_trigger(catalog, app)
    created = prices.create_price(
        catalog,
        key_of(app),
        app.id,
        price_body(trigger_id=trigger_id, trigger_data={"params_data": {"to": ADDRESS.lower()}}),
    )
    assert created.trigger_id == trigger_id
    assert created.trigger_data is not None
    assert created.trigger_data.params_data == {"to": ADDRESS}
    assert (created.chain, created.contract) == ("evm", TRIGGER_EXAMPLE["call_data"]["evm"]["contract"])

    with pytest.raises(ValidationFailed) as bad_value:
        prices.create_price(
            catalog,
            key_of(app),
            app.id,
            price_body(trigger_id=trigger_id, trigger_data={"params_data": {"seat": -1, "color": "red"}}),
        )
    assert codes(bad_value) == [
        ("body.trigger_data.params_data.seat", "int_out_of_range"),
        ("body.trigger_data.params_data.color", "unknown_param"),
    ]


def test_a_price_refuses_an_unknown_deleted_or_foreign_trigger(catalog: FakeCatalog, app: App) -> None:
    other = make_app(catalog, suffix="d")
    foreign = new_trigger(catalog, other)
    deleted = new_trigger(catalog, app)
    triggers.delete_trigger(catalog, key_of(app), app.id, deleted)
    for trigger_id in (foreign, deleted, "tri_" + "0" * 32, "junk"):
        with pytest.raises(ValidationFailed) as caught:
            prices.create_price(catalog, key_of(app), app.id, price_body(trigger_id=trigger_id))
        assert codes(caught) == [("body.trigger_id", "trigger_not_found")]
    with pytest.raises(ValidationFailed) as without:
        prices.create_price(catalog, key_of(app), app.id, price_body(trigger_data={"params_data": {}}))
    assert codes(without) == [("body.trigger_data", "trigger_data_without_trigger")]


def test_live_price(catalog: FakeCatalog, app: App) -> None:
    created = prices.create_price(catalog, key_of(app), app.id, price_body(type="dynamic"))
    price = prices.live_price(catalog, created.id)
    assert price.id == created.id
    assert price.type == "dynamic"
    catalog.add(price._replace(expired=True))  # as checkout's transaction leaves a dynamic price it took
    with pytest.raises(Conflict) as caught:
        prices.live_price(catalog, created.id)
    assert caught.value.code == "price_expired"
    prices_deleted = prices.create_price(catalog, key_of(app), app.id, price_body())
    prices.delete_price(catalog, key_of(app), app.id, prices_deleted.id)
    for unknown in ("price_" + "1" * 32, "x", prices_deleted.id):
        with pytest.raises(NotFound) as missing:
            prices.live_price(catalog, unknown)
        assert missing.value.code == "price_not_found"


def test_price_view_has_the_seeds_keys() -> None:
    seed_keys = {
        "id", "type", "kyc_id", "trigger_id", "currency", "amount", "metadata", "name", "expired", "views",
        "network_type", "created_at", "updated_at", "contract", "chain", "category",
    }  # fmt: skip
    price = Price(
        id="price_" + "e" * 32,
        app_id="app_" + "a" * 32,
        type="static",
        name="n",
        amount=Decimal("51.75"),
        currency="usd",
        created_at="2026-12-07T10:00:00.000000Z",
        updated_at="2026-12-07T10:00:00.000000Z",
    )
    dumped = prices.price_view(price).model_dump(mode="json")
    assert seed_keys <= set(dumped)
    assert set(dumped) - seed_keys == {"currency_conversion", "trigger_data"}


# ------------------------------------------------------------------------------------------------ triggers
def test_a_trigger_is_created_listed_patched_and_deleted(catalog: FakeCatalog, app: App) -> None:
    who = key_of(app)
    created = triggers.create_trigger(catalog, who, app.id, trigger_body())
    assert created.id.startswith("tri_")
    assert len(created.id) == 4 + 32
    assert created.call_data["evm"]["value"] == "0"
    assert created.params_data is not None
    assert created.params_data["seat"].type == "uint256"
    listed = triggers.list_triggers(catalog, who, app.id, page=1, per_page=10)
    assert ([t.id for t in listed.items], listed.total) == ([created.id], 1)
    patched = triggers.update_trigger(catalog, who, app.id, created.id, UpdateTriggerRequest(name="Renamed"))
    assert patched.name == "Renamed"
    assert patched.call_data == created.call_data
    assert patched.updated_at > created.updated_at
    assert triggers.get_trigger(catalog, who, app.id, created.id) == patched
    triggers.delete_trigger(catalog, who, app.id, created.id)
    with pytest.raises(NotFound) as caught:
        triggers.get_trigger(catalog, who, app.id, created.id)
    assert caught.value.code == "trigger_not_found"
    assert triggers.list_triggers(catalog, who, app.id, page=1, per_page=10).total == 0


def test_a_trigger_used_by_a_live_price_cannot_be_deleted(catalog: FakeCatalog, app: App) -> None:
    trigger_id = new_trigger(catalog, app)
    price = prices.create_price(catalog, key_of(app), app.id, price_body(trigger_id=trigger_id))
    with pytest.raises(Conflict) as caught:
        triggers.delete_trigger(catalog, key_of(app), app.id, trigger_id)
    assert caught.value.code == "trigger_in_use"
    prices.delete_price(catalog, key_of(app), app.id, price.id)
    assert triggers.delete_trigger(catalog, key_of(app), app.id, trigger_id).id == trigger_id


def test_a_parameter_change_a_live_prices_values_no_longer_fit_is_refused(catalog: FakeCatalog, app: App) -> None:
    trigger_id = new_trigger(catalog, app)
    prices.create_price(
        catalog, key_of(app), app.id, price_body(trigger_id=trigger_id, trigger_data={"params_data": {"seat": 300}})
    )
    narrower = {
        "params_data": {"to": {"type": "address"}, "seat": {"type": "uint8"}},
        "call_data": {
            "evm": {
                **TRIGGER_EXAMPLE["call_data"]["evm"],
                "function": {
                    "name": "mint",
                    "inputs": [{"name": "to", "type": "address"}, {"name": "seat", "type": "uint8"}],
                },
            }
        },
    }
    with pytest.raises(Conflict) as caught:
        triggers.update_trigger(catalog, key_of(app), app.id, trigger_id, UpdateTriggerRequest.model_validate(narrower))
    assert caught.value.code == "trigger_in_use"
    assert triggers.get_trigger(catalog, key_of(app), app.id, trigger_id).params_data["seat"].type == "uint256"  # type: ignore[index]


def test_a_stale_write_is_tried_once_more_then_409(
    catalog: FakeCatalog, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger_id = new_trigger(catalog, app)
    calls = []

    def always_stale(old: Any, new: Any) -> None:
        calls.append(new)
        raise StaleWrite("changed")

    monkeypatch.setattr(catalog, "replace", always_stale)
    with pytest.raises(Conflict) as caught:
        triggers.update_trigger(catalog, key_of(app), app.id, trigger_id, UpdateTriggerRequest(name="x"))
    assert caught.value.code == "concurrent_update"
    assert len(calls) == 2


def evm_call(**changes: Any) -> dict[str, Any]:
    return {"evm": {**TRIGGER_EXAMPLE["call_data"]["evm"], **changes}}


@pytest.mark.parametrize(
    ("call_data", "params_data", "expected"),
    [
        (evm_call(args=[{"param": "to"}]), None, [("body.call_data.evm.args", "args_mismatch")]),
        (
            evm_call(args=[{"param": "to"}, {"param": "nope"}]),
            None,
            [("body.call_data.evm.args.1.param", "unknown_param")],
        ),
        (
            evm_call(),
            {"to": {"type": "address"}, "seat": {"type": "uint128"}},
            [("body.call_data.evm.args.1.param", "param_type_mismatch")],
        ),
        (
            evm_call(),
            {"to": {"type": "address", "optional": True}, "seat": {"type": "uint256", "nullable": True}},
            [
                ("body.call_data.evm.args.0.param", "param_not_bindable"),
                ("body.call_data.evm.args.1.param", "param_not_bindable"),
            ],
        ),
        (
            evm_call(args=[{"value": "0x1234"}, {"value": -1}]),
            None,
            [
                ("body.call_data.evm.args.0.value", "invalid_address"),
                ("body.call_data.evm.args.1.value", "int_out_of_range"),
            ],
        ),
        (
            evm_call(args=[{"value": ADDRESS}, {"value": None}]),
            None,
            [("body.call_data.evm.args.1.value", "null_not_allowed")],
        ),
    ],
)
def test_bindings_are_checked_against_the_inputs_and_parameters(
    catalog: FakeCatalog, app: App, call_data: dict[str, Any], params_data: Any, expected: list[tuple[str, str]]
) -> None:
    body = trigger_body(
        call_data=call_data, params_data=params_data if params_data is not None else TRIGGER_EXAMPLE["params_data"]
    )
    with pytest.raises(ValidationFailed) as caught:
        triggers.create_trigger(catalog, key_of(app), app.id, body)
    assert codes(caught) == expected


def test_literal_arguments_are_stored_canonically(catalog: FakeCatalog, app: App) -> None:
    created = triggers.create_trigger(
        catalog,
        key_of(app),
        app.id,
        trigger_body(
            params_data=None, call_data=evm_call(args=[{"value": ADDRESS.lower()}, {"value": str(2**256 - 1)}])
        ),
    )
    assert created.call_data["evm"]["args"] == [{"value": ADDRESS}, {"value": str(2**256 - 1)}]


def test_other_chains_are_validated_and_stored() -> None:
    near = {
        "contract_id": "ticket.testnet",
        "method_name": "nft_mint",
        "method_type": "change",
        "attached_deposit_amount": "10000000000000000000000",
        "gas_amount": 30_000_000_000_000,
        "data": {"receiver_id": "alice.testnet"},
    }
    wax = {"contract": "atomicassets", "action": "mintasset", "data": {"authorized_minter": "me.wam"}}
    solana = {"program_id": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "accounts": [], "data": {"amount": 1}}
    body = trigger_body(call_data={"near": near, "wax": wax, "solana": solana}, params_data=None)
    stored = triggers.store_call_data(body.call_data)
    assert stored["near"]["attached_deposit_amount"] == "10000000000000000000000"
    assert stored["wax"]["action"] == "mintasset"
    assert triggers.chain_and_contract(stored) == ("near", "ticket.testnet")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"call_data": {}}, "call_data_empty"),
        ({"wallet_id": "0xabc"}, "string_pattern_mismatch"),
        ({"name": "x" * 129}, "string_too_long"),
        ({"call_data": evm_call(contract="0x1234")}, "invalid_address"),
        ({"call_data": evm_call(contract=ADDRESS.replace("C8", "c8"))}, "address_checksum_mismatch"),
        ({"call_data": evm_call(gas_limit=20_999)}, "int_out_of_range"),
        ({"call_data": evm_call(gas_limit=1.5)}, "int_type"),
        ({"call_data": evm_call(value="1.5")}, "int_parsing"),
        ({"call_data": evm_call(function={"name": "f", "inputs": [{"type": "uint7"}]})}, "invalid_type"),
        ({"call_data": evm_call(function={"name": "f", "stateMutability": "view"})}, "literal_error"),
        ({"call_data": evm_call(function={"name": "1f"})}, "invalid_identifier"),
        ({"call_data": evm_call(args=[{"param": "to", "value": 1}, {"param": "seat"}])}, "binding_source"),
        ({"params_data": {"to": {"type": "tuple"}}}, "invalid_type"),
        ({"params_data": {"1to": {"type": "address"}}}, "invalid_param_name"),
        ({"params_data": {"to": {"name": "from", "type": "address"}}}, "param_name_mismatch"),
        ({"params_data": {"to": {"type": "address", "optional": "yes"}}}, "bool_type"),
        (
            {"call_data": {"near": {"contract_id": "A", "method_name": "m", "method_type": "change"}}},
            "string_too_short",
        ),
        ({"call_data": {"near": {"contract_id": "ab", "method_name": "m", "method_type": "call"}}}, "literal_error"),
        ({"call_data": {"wax": {"contract": "UPPER", "action": "a"}}}, "string_pattern_mismatch"),
        ({"call_data": {"solana": {"program_id": "0OIl"}}}, "string_pattern_mismatch"),
    ],
)
def test_trigger_fields_are_refused_with_their_code(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        trigger_body(**changes)
    assert code in [e["type"] for e in caught.value.errors()], caught.value.errors()


def test_a_patch_can_remove_the_parameters_only_when_no_binding_needs_them(catalog: FakeCatalog, app: App) -> None:
    trigger_id = new_trigger(catalog, app)
    with pytest.raises(ValidationFailed) as caught:
        triggers.update_trigger(
            catalog, key_of(app), app.id, trigger_id, UpdateTriggerRequest.model_validate({"params_data": None})
        )
    assert [c for _, c in codes(caught)] == ["unknown_param", "unknown_param"]
    literal = evm_call(args=[{"value": ADDRESS}, {"value": 1}])
    patched = triggers.update_trigger(
        catalog,
        key_of(app),
        app.id,
        trigger_id,
        UpdateTriggerRequest.model_validate({"params_data": None, "call_data": literal}),
    )
    assert patched.params_data is None
    stored = catalog.get(Trigger, trigger_id)
    assert stored is not None
    assert stored.params_data is None
