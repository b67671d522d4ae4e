"""Bodies that reached a 500 before: each is now a 4xx in the error shape naming its field, and writes nothing.

Each case is the JSON text of a valid web3 create with one field replaced by a raw literal (so numbers keep
their notation: `1e200`, a 5,000-digit integer, 60 trailing zeros).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
import pytest

from payments_core.http import json_codec
from tests.integration.helpers import Api


def _with_literal(api: Api, **literals: str) -> str:
    """A valid create body with each named field's value replaced by the raw JSON text given."""
    text = json.dumps(api.payment_body(**{field: f"@@{field}" for field in literals}))
    for field, literal in literals.items():
        text = text.replace(f'"@@{field}"', literal)
    return text


def _table_counts() -> dict[str, int]:
    db = boto3.client("dynamodb")
    return {
        name: db.scan(TableName=os.environ[name], Select="COUNT")["Count"]
        for name in ("PAYMENTS_TABLE", "PAYMENT_KEYS_TABLE")
    }


def _refused(api: Api, raw: str, *, token: str | None = None) -> dict[str, Any]:
    before = _table_counts()
    r = api.call("POST", "/api/v1/payments", token=token or api.token(), raw_body=raw)
    assert 400 <= r.status < 500, (r.status, r.body[:500])
    error: dict[str, Any] = r.json()["error"]
    assert set(error) >= {"code", "message", "details"}
    assert _table_counts() == before  # nothing written: no payment, no guard, no counter, no position
    return error


def _fields(error: dict[str, Any]) -> set[str]:
    return {d["field"] for d in error["details"]}


@pytest.mark.parametrize(
    ("literals", "field"),
    [
        ({"price": "1e200", "paid_price": "1e200"}, "body.price"),  # beyond a DynamoDB number
        ({"paid_price": "1e100"}, "body.paid_price"),
        ({"paid_price": "1E+38"}, "body.paid_price"),
        ({"paid_price": "1e-400"}, "body.paid_price"),
        ({"paid_price": "1e999999999999"}, "body.paid_price"),  # Decimal overflows any context
        ({"paid_price": "-1e999999999999"}, "body.paid_price"),
        # value under 10^38 but its smallest unit (USDT: 6 decimals) has 42 digits
        ({"paid_price": "123456789012345678901234567890123456.78"}, "body.paid_price"),
        ({"paid_price": "100.5" + "0" * 60}, None),  # trailing zeros: accepted, stored as 100.5
        ({"paid_price": "1" + "0" * 60}, "body.paid_price"),
        ({"retry_count": "1" + "0" * 5000}, "body.retry_count"),  # over Python's int-from-str digit limit
        ({"retry_count": "-" + "9" * 5000}, "body.retry_count"),
        ({"paid_price": "1" + "0" * 5000}, "body.paid_price"),
        ({"paid_price": "0." + "0" * 5000 + "1"}, "body.paid_price"),
        ({"expires_at": '"9999-12-31T23:59:59-23:59"'}, "body.expires_at"),  # past the calendar in UTC
        ({"expires_at": '"0001-01-01T00:00:00+23:59"'}, "body.expires_at"),  # before it
        ({"expires_at": '"0000-01-01T00:00:00Z"'}, "body.expires_at"),
        ({"expires_at": '"9999-12-31T23:59:60Z"'}, "body.expires_at"),  # a leap second past the end
        ({"expires_at": '"2030-02-30T00:00:00Z"'}, "body.expires_at"),
        ({"expires_at": '"2030-01-01T24:00:00Z"'}, "body.expires_at"),
        ({"expires_at": '"2030-01-01T00:00:00+24:00"'}, "body.expires_at"),
        ({"payment_address": '"not-an-evm-address"'}, "body.payment_address"),
    ],
)
def test_edge_values_are_4xx_naming_the_field_and_write_nothing(
    api: Api, literals: dict[str, str], field: str | None
) -> None:
    raw = _with_literal(api, **literals)
    if field is None:
        r = api.call("POST", "/api/v1/payments", token=api.token(), raw_body=raw)
        assert r.status == 201, r.body
        return
    error = _refused(api, raw)
    assert field in _fields(error), error


def test_trailing_zeros_are_trimmed_as_dynamodb_trims_them(api: Api) -> None:
    token = api.token()
    raw = _with_literal(api, price="100.50" + "0" * 60, paid_price="1E+2")
    created = api.call("POST", "/api/v1/payments", token=token, raw_body=raw)
    assert created.status == 201, created.body
    assert b'"price":100.5,' in created.body
    assert b'"paid_price":100,' in created.body
    got = api.call("GET", f"/api/v1/payments/{created.json()['id']}", token=token)
    assert got.body == created.body


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_422_json_invalid(api: Api, depth: int) -> None:
    raw = _with_literal(api, metadata="[" * depth + "]" * depth)
    error = _refused(api, raw)
    assert error["details"][0]["code"] == "json_invalid"
    assert "nested" in error["details"][0]["message"]


def test_json_nested_to_the_documented_depth_is_read(api: Api) -> None:
    # 32 levels: the body is the first, metadata's value the other 31 (refused as not a string, not as JSON).
    error = _refused(api, _with_literal(api, metadata="[" * 31 + "]" * 31))
    assert error["details"][0]["field"] == "body.metadata"


def test_a_lone_surrogate_escape_is_422_json_invalid(api: Api) -> None:
    error = _refused(api, _with_literal(api, metadata='"\\ud800"'))
    assert error["details"][0]["code"] == "json_invalid"
    pair = _with_literal(api, metadata='"\\ud83d\\ude00"')  # a surrogate pair: one character
    ok = api.call("POST", "/api/v1/payments", token=api.token(), raw_body=pair)
    assert ok.status == 201, ok.body
    assert ok.json()["metadata"] == "\U0001f600"


def test_a_body_whose_item_would_exceed_400_kb_is_refused_by_its_bounds(api: Api) -> None:
    wide = "\U0001f600" * 255  # 4 bytes each in UTF-8
    items = [{"name": wide, "price": 1, "external_id": f"{i:03d}" + wide[:252]} for i in range(500)]
    error = _refused(api, json.dumps(api.payment_body(items=items, price=500, paid_price=500)))
    assert _fields(error) == {"body.items"}


def test_a_leap_second_is_read_as_the_next_second(api: Api) -> None:
    r = api.call(
        "POST", "/api/v1/payments", token=api.token(), json_body=api.payment_body(expires_at="2030-06-30T23:59:60Z")
    )
    assert r.status == 201, r.body
    assert r.json()["expires_at"] == "2030-07-01T00:00:00Z"


def test_far_offsets_at_the_calendars_edges_are_read(api: Api) -> None:
    token = api.token()
    for value, utc in (
        ("9999-12-31T00:00:00-23:59", "9999-12-31T23:59:00Z"),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T00:00:59Z"),
        ("2030-01-01t00:00:00.123456789z", "2030-01-01T00:00:00.123456Z"),
    ):
        r = api.call(
            "POST",
            "/api/v1/payments",
            token=token,
            json_body=api.payment_body(external_id=value, expires_at=value),
        )
        assert r.status == 201, r.body
        assert r.json()["expires_at"] == utc


# --------------------------------------------------------------------------- catalog rules of a create


def _create(api: Api, token: str | None = None, **overrides: Any) -> Any:
    return api.call("POST", "/api/v1/payments", token=token or api.token(), json_body=api.payment_body(**overrides))


def _without_ids(body: Any, *ids: str) -> str:
    text = json.dumps(body, sort_keys=True)
    for id_ in ids:
        text = text.replace(id_, "<id>")
    return text


@pytest.mark.parametrize("kind", ["wallet", "member"])
def test_a_wallet_or_member_of_another_branch_is_answered_as_an_unknown_one(api: Api, kind: str) -> None:
    from payments_core import deps
    from payments_core.domain import catalog as admin

    catalog = deps.catalog()
    other = api.demo["nodes"]["other"]  # another tree
    child = api.demo["nodes"]["child"]  # below root: its entries do not serve root's payments
    if kind == "wallet":
        foreign = [admin.create_wallet(catalog, node_id=n, address="0x" + "1" * 40).id for n in (other, child)]
    else:
        foreign = [admin.create_member(catalog, node_id=n, email="a@example.com").id for n in (other, child)]
    unknown = "00000000-0000-4000-8000-000000000000"
    token = api.token()
    before = _table_counts()
    answers = [_create(api, token, **{f"{kind}_id": id_}) for id_ in (unknown, *foreign)]
    assert {r.status for r in answers} == {404}
    assert len({_without_ids(r.json(), unknown, *foreign) for r in answers}) == 1  # same code, message, details
    assert answers[0].json()["error"]["details"] == [
        {"field": f"body.{kind}_id", "code": "not_found", "message": f"no {kind} with this id"}
    ]
    assert _table_counts() == before
    # the child's own integration may use it (its node is the entry's)
    ok = _create(api, api.token("child"), node_id=child, **{f"{kind}_id": foreign[1]})
    assert ok.status == 201, ok.body


def test_a_node_out_of_reach_is_403_whatever_else_the_body_names(api: Api) -> None:
    token = api.token("other")  # an integration of another tree
    root = api.demo["nodes"]["root"]
    for extra in ({}, {"wallet_id": api.demo["wallet_id"]}, {"wallet_id": "00000000-0000-4000-8000-000000000000"}):
        r = _create(api, token, node_id=root, **extra)
        assert (r.status, r.json()["error"]["code"]) == (403, "node_access_denied"), r.body


def test_a_web3_payment_needs_a_diamond_on_its_network_and_a_token_of_its_currency(api: Api) -> None:
    from payments_core import deps
    from payments_core.domain import catalog as admin

    catalog = deps.catalog()
    bare = admin.create_network(
        catalog,
        deps.rpc_urls(),
        chain_id=api.demo["chain_id"],
        name="no diamond",
        evm_chain_id=5,
        rpc_url="http://127.0.0.1:1",
    )
    coin = admin.create_currency(catalog, symbol="C", decimals=2, tokens={bare.id: "0x" + "2" * 40})
    error = _refused(api, json.dumps(api.payment_body(network_id=bare.id, currency_id=coin.id)))
    assert error["details"] == [
        {
            "field": "body.network_id",
            "code": "network_has_no_diamond",
            "message": "web3 payments are not open on this network",
        },
        {  # nor has it a platform wallet (decision 0038): every offending field is named at once
            "field": "body.wallet_id",
            "code": "no_signing_wallet",
            "message": "the network has no platform wallet: name a wallet that signs",
        },
    ]
    error = _refused(api, json.dumps(api.payment_body(currency_id=coin.id)))  # the demo network: no token of C
    assert [(d["field"], d["code"]) for d in error["details"]] == [("body.currency_id", "currency_not_on_network")]
    card = _create(api, network_id=bare.id, currency_id=coin.id, payment_method="credit_card")
    assert card.status == 201, card.body  # only web3 needs them


def test_each_currency_has_a_maximum_amount(api: Api) -> None:

    from payments_core import deps
    from payments_core.domain import catalog as admin

    capped = admin.create_currency(
        deps.catalog(),
        symbol="CAP",
        decimals=2,
        tokens={api.demo["network_id"]: "0x" + "3" * 40},
        max_amount=Decimal(1000),
    )
    over = _refused(api, json.dumps(api.payment_body(currency_id=capped.id, price="1000.01", paid_price=1000.01)))
    assert [(d["field"], d["code"]) for d in over["details"]] == [
        ("body.price", "amount_too_large"),
        ("body.paid_price", "amount_too_large"),
    ]
    assert over["details"][0]["message"] == "CAP amounts are at most 1000"
    assert _create(api, currency_id=capped.id, price="1000", paid_price=1000).status == 201
    # the default (USDT, 6 decimals): 10^38 - 1 smallest units
    top = "99999999999999999999999999999999.999999"
    assert _create(api, external_id="top", price=top, paid_price=top).status == 201
    beyond = _refused(api, _with_literal(api, price="100000000000000000000000000000000", paid_price="1"))
    assert [(d["field"], d["code"]) for d in beyond["details"]] == [("body.price", "amount_too_large")]


def test_item_prices_add_up_to_price_exactly_at_any_magnitude(api: Api) -> None:
    big, tiny = "99999999999999999999999999999999", "0.000001"
    items = [{"name": "a", "price": big, "external_id": "a"}, {"name": "b", "price": tiny, "external_id": "b"}]
    ok = _create(api, items=items, price=f"{big}.000001", paid_price=1)
    assert ok.status == 201, ok.body
    off = _refused(
        api, json.dumps(api.payment_body(external_id="off", items=items, price=f"{big}.000002", paid_price=1))
    )
    assert [(d["field"], d["code"]) for d in off["details"]] == [("body.items", "items_total_mismatch")]
    # 0.1 + 0.2 is 0.3 here (as decimal strings or JSON numbers): a typed client can send decimal text
    items = [{"name": "a", "price": "0.1", "external_id": "a"}, {"name": "b", "price": "0.2", "external_id": "b"}]
    tenths = _create(api, external_id="tenths", items=items, price="0.3", paid_price="0.30")
    assert tenths.status == 201, tenths.body
    # answered as JSON numbers, exactly as a number-given amount is (trailing zeros trimmed), not as strings
    assert b'"price":0.3,"paid_price":0.3,' in tenths.body
    assert b'"price":0.1,' in tenths.body
    assert b'"price":0.2,' in tenths.body
    got = api.call("GET", f"/api/v1/payments/{tenths.json()['id']}", token=api.token())
    assert got.body == tenths.body
    numbers = [{**item, "price": Decimal(item["price"])} for item in items]
    body = api.payment_body(external_id="tenths-n", items=numbers, price=Decimal("0.3"), paid_price=Decimal("0.30"))
    assert '"paid_price":0.30,' in json_codec.dumps(body)  # sent as JSON numbers
    as_numbers = api.call("POST", "/api/v1/payments", token=api.token(), raw_body=json_codec.dumps(body))
    assert as_numbers.status == 201, as_numbers.body
    assert b'"price":0.3,"paid_price":0.3,' in as_numbers.body
    amounts = [{k: json_codec.loads(r.body)[k] for k in ("price", "paid_price", "items")} for r in (tenths, as_numbers)]
    assert amounts[0] == amounts[1]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/payments", "GET, POST"),
        ("PUT", "/api/v1/auth/token", "POST"),
        ("POST", "/.well-known/jwks.json", "GET"),
    ],
)
def test_a_method_a_resource_does_not_have_is_405_with_allow(api: Api, method: str, path: str, allow: str) -> None:
    r = api.call(method, path, token=api.token())
    assert r.status == 405, r.body
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {m.strip() for m in allow.split(",")}
