"""Property tests of the edge: create bodies and list/logs query parameters that mix valid fields with edge
values of every kind (numbers in any notation and length, decimal strings, deep nesting, surrogates, the
calendar's edges, non-EVM addresses, texts at and past their bounds, wrong types), sent through the
in-process gateway on moto. Never a 5xx; a refused create writes nothing (no payment, guard, counter or
position item)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import Api

SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

_NUMBERS = [
    "1e200", "1E+38", "1e37", "1e-400", "1e999999999999", "-1e999999999999", "-0", "0", "0.0", "0.1", "1.005e2",
    "1" + "0" * 60, "100.5" + "0" * 60, "1" + "0" * 5000, "-" + "9" * 5000, "0." + "0" * 5000 + "1",
    "123456789012345678901234567890123456.78", "99999999999999999999999999999999.999999",
    "12345678901234567890123456789012345678", "0.000001", "0.0000001", "100.5", "1",
]  # fmt: skip
_DECIMAL_STRINGS = [
    '"100.50"',
    '"1e5"',
    '" 1"',
    '"NaN"',
    '"0x10"',
    '"-1"',
    '"0"',
    '""',
    '"007"',
    '"1' + "0" * 300 + '"',
]
_OTHER_JSON = ["true", "false", "null", "[]", "{}", '"x"', '"\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"']


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _json_text(value: str) -> str:
    return json.dumps(value)


_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "x" * 255, "x" * 256, "\U0001f600" * 255, "\U0001f600" * 256, "\u0000", "\x7f"]),
)
_edge_literal = st.one_of(
    st.sampled_from(_NUMBERS + _DECIMAL_STRINGS + _OTHER_JSON),
    st.integers(min_value=1, max_value=3000).map(_nested),
    st.integers(min_value=-(10**50), max_value=10**50).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    _texts.map(_json_text),
)


def _timestamp_texts() -> st.SearchStrategy[str]:
    edges = [
        "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:60Z", "2098-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z", "2099-02-29T00:00:00Z", "2096-02-29T00:00:00Z", "2099-01-01T24:00:00Z",
        "2099-01-01T00:00:00+24:00", "2099-01-01T00:00:00.1234567890Z", "2099-01-01t00:00:00z",
        "2099-01-01 00:00:00-00:00", "2099-01-01T00:00:00", "4102444799",
    ]  # fmt: skip
    any_instant = st.builds(
        lambda dt, sign, hours, minutes, leap: (
            dt.strftime("%Y-%m-%dT%H:%M:")
            + ("60" if leap else dt.strftime("%S"))
            + (f".{dt.microsecond:06d}" if dt.microsecond else "")
            + f"{sign}{hours:02d}:{minutes:02d}"
        ),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
        st.booleans(),
    )
    return st.one_of(st.sampled_from(edges), any_instant, _texts)


_addresses = st.one_of(
    st.sampled_from(
        [
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "0x70997970c51812dc3A010C7d01b50e0d17dc79C8",
            "0x" + "0" * 40,
            "0x" + "f" * 41,
            "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE",
        ]
    ),
    st.from_regex(r"0x[0-9a-fA-F]{40}", fullmatch=True),
    _texts,
)


@st.composite
def create_bodies(draw: st.DrawFn, demo: dict[str, Any]) -> str:
    """The JSON text of a create body: each field valid, edge or absent."""
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    valid: dict[str, str] = {
        "external_id": _json_text(f"order-{draw(st.integers(0, 10**9))}"),
        "node_id": _json_text(draw(st.sampled_from(list(demo["nodes"].values())))),
        "network_id": _json_text(demo["network_id"]),
        "currency_id": _json_text(demo["currency_id"]),
        "price": "100.5",
        "paid_price": draw(st.sampled_from(["100.5", '"100.50"'])),
        "payment_method": _json_text(draw(st.sampled_from(["web3", "credit_card", "bank_transfer"]))),
        "payment_group": _json_text("product"),
        "payment_address": _json_text("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        "expires_at": _json_text(future),
    }
    optional = {
        "chain_id": _json_text(demo["chain_id"]),
        "wallet_id": _json_text(demo["wallet_id"]),
        "retry": "true",
        "retry_count": "3",
        "metadata": _json_text("{}"),
        "client_ip": _json_text("203.0.113.7"),
        "member": json.dumps({"name": "Ada", "email": "ada@example.com"}),
    }
    fields = dict(valid)
    for name, value in optional.items():
        if draw(st.booleans()):
            fields[name] = value
    per_field: dict[str, st.SearchStrategy[str]] = {
        "expires_at": _timestamp_texts().map(_json_text),
        "payment_address": _addresses.map(_json_text),
        "items": _items(),
        "member": _members(),
    }
    for name in draw(st.sets(st.sampled_from([*valid, *optional, "items", "unknown_field"]), max_size=4)):
        strategy = per_field.get(name, _edge_literal)
        fields[name] = draw(st.one_of(strategy, _edge_literal) if name in per_field else strategy)
    for name in draw(st.sets(st.sampled_from(list(valid)), max_size=1)):
        if draw(st.integers(0, 9)) == 0:
            fields.pop(name, None)
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"


def _items() -> st.SearchStrategy[str]:
    item = st.fixed_dictionaries(
        {
            "name": st.one_of(_texts.map(_json_text), _edge_literal),
            "price": st.one_of(st.sampled_from(["100.5", "50.25", '"50.25"']), _edge_literal),
            "external_id": st.one_of(st.integers(0, 5).map(lambda i: _json_text(f"i-{i}")), _edge_literal),
        }
    ).map(lambda d: "{" + ",".join(f'"{k}":{v}' for k, v in d.items()) + "}")
    return st.one_of(
        st.lists(item, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.integers(99, 102).map(
            lambda n: "[" + ",".join(f'{{"name":"a","price":1,"external_id":"{i}"}}' for i in range(n)) + "]"
        ),
    )


def _members() -> st.SearchStrategy[str]:
    return st.dictionaries(
        st.sampled_from(["name", "email", "phone_number", "address", "external_id", "nickname"]),
        st.one_of(_texts.map(_json_text), _edge_literal),
        max_size=3,
    ).map(lambda d: "{" + ",".join(f'"{k}":{v}' for k, v in d.items()) + "}")


def _counts() -> dict[str, int]:
    db = boto3.client("dynamodb")
    return {
        t: db.scan(TableName=os.environ[t], Select="COUNT")["Count"] for t in ("PAYMENTS_TABLE", "PAYMENT_KEYS_TABLE")
    }


def _error_shape(body: bytes) -> None:
    error = json.loads(body)["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert all(set(d) == {"field", "code", "message"} for d in error["details"])


@SETTINGS
@given(data=st.data())
def test_any_create_body_is_never_a_5xx_and_a_refused_one_writes_nothing(api: Api, data: st.DataObject) -> None:
    token = api.demo.setdefault("_token", api.token())
    raw = data.draw(create_bodies(api.demo), label="body")
    before = _counts()
    r = api.call("POST", "/api/v1/payments", token=token, raw_body=raw)
    assert r.status < 500, (r.status, r.body[:300])
    if r.status != 201:
        assert 400 <= r.status < 500
        _error_shape(r.body)
        assert _counts() == before


_query_values = st.one_of(
    st.sampled_from(["1", "0", "-1", "100", "101", "100000", "100001", "1e3", "1.5", "", " 1", "\u0663", "0x10",
                     "1" * 5000, "-" + "9" * 5000, "NaN", "\x00", "true"]),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=30),
)  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_any_list_or_logs_query_is_never_a_5xx(api: Api, data: st.DataObject) -> None:
    token = api.demo.setdefault("_token", api.token())
    if "_payment" not in api.demo:
        created = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body())
        api.demo["_payment"] = created.json()["id"]
    ids = st.one_of(
        st.sampled_from([*api.demo["nodes"].values(), api.demo["wallet_id"], api.demo["network_id"]]), _query_values
    )
    route = data.draw(st.sampled_from(["list", "logs"]))
    if route == "list":
        path = "/api/v1/payments"
        names = ["node_id", "wallet_id", "network_id", "page", "per_page", "other"]
    else:
        segment = data.draw(st.one_of(st.just(api.demo["_payment"]), st.text(min_size=1, max_size=40)))
        if "/" in segment or "?" in segment or "#" in segment:
            segment = api.demo["_payment"]
        path = f"/api/v1/payments/{segment}/logs"
        names = ["page", "per_page", "other"]
    query = {
        name: [data.draw(ids if name.endswith("_id") else _query_values)]
        for name in data.draw(st.sets(st.sampled_from(names), max_size=len(names)))
    }
    r = api.gateway.request("GET", path, headers={"Authorization": f"Bearer {token}"}, query=query)
    assert r.status < 500, (path, query, r.status, r.body[:300])
    if r.status >= 400:
        _error_shape(r.body)
