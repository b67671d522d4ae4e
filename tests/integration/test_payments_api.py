"""The payments endpoints through the template's routes and authorizer, on moto built from template.yaml."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
import pytest

from payments_core import deps
from payments_core.domain import catalog as admin
from tests.integration.helpers import Api


def _create(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(**overrides))
    assert r.status == 201, r.body
    body: dict[str, Any] = r.json()
    return body


def test_create_answers_the_whole_payment_and_get_returns_it(api: Api) -> None:
    token = api.token()
    created = _create(
        api,
        token,
        items=[
            {"name": "a", "price": 60.25, "external_id": "i-1"},
            {"name": "b", "price": 40.25, "external_id": "i-2"},
        ],
        member={"name": "Ada", "surname": "Lovelace", "email": "ada@example.com"},
        client_ip="203.0.113.7",
        metadata='{"cart": 7}',
    )
    assert created["status"] == "pending"
    assert created["access_token"].startswith("pwt_")
    assert created["retry"] is False
    assert created["retry_count"] == 0
    assert created["transaction_hash"] is None
    assert created["deal_id"] is None
    assert created["member"]["email"] == "ada@example.com"
    got = api.call("GET", f"/api/v1/payments/{created['id']}", token=token)
    assert got.status == 200
    assert got.json() == created


def test_money_comes_back_exactly_as_sent(api: Api) -> None:
    token = api.token()
    raw = json.dumps(api.payment_body(price=0, paid_price=0)).replace('"price": 0', '"price": 100.5')
    raw = raw.replace('"paid_price": 0', '"paid_price": 0.000001')
    r = api.call("POST", "/api/v1/payments", token=token, raw_body=raw)
    assert r.status == 201, r.body
    assert b'"price":100.5' in r.body
    assert b'"paid_price":0.000001' in r.body
    got = api.call("GET", f"/api/v1/payments/{r.json()['id']}", token=token)
    assert b'"price":100.5' in got.body
    assert json.loads(got.body, parse_float=Decimal)["paid_price"] == Decimal("0.000001")


def test_web3_create_puts_a_create_deal_message_on_the_fifo_queue(api: Api) -> None:
    token = api.token()
    created = _create(api, token, wallet_id=api.demo["wallet_id"], price=12.345678, paid_price=12.345678)
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=os.environ["DEAL_QUEUE_URL"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["type"] == "create_deal"
    assert body["payment_id"] == created["id"]
    assert body["amount_units"] == "12345678"  # paid_price in USDT's smallest unit (6 decimals)
    assert body["decimals"] == 6
    assert body["token_address"] == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert body["payee"] == created["payment_address"]
    assert body["ref"] == "0x" + created["id"].replace("-", "").rjust(64, "0")
    assert body["wallet_id"] == api.demo["wallet_id"]
    attrs = messages[0]["Attributes"]
    assert attrs["MessageGroupId"] == f"signer:{api.demo['wallet_id']}"
    assert attrs["MessageDeduplicationId"] == f"{created['id']}:0"


def test_card_payment_sends_nothing_to_the_chain_queue(api: Api) -> None:
    token = api.token()
    _create(api, token, payment_method="credit_card")
    sqs = boto3.client("sqs")
    resp = sqs.receive_message(QueueUrl=os.environ["DEAL_QUEUE_URL"], MaxNumberOfMessages=10)
    assert resp.get("Messages", []) == []


def test_list_is_newest_first_with_exact_total_and_pages(api: Api) -> None:
    token = api.token()
    ids = [_create(api, token, external_id=f"o-{i}")["id"] for i in range(23)]
    newest_first = list(reversed(ids))
    node = api.demo["nodes"]["root"]
    seen: list[str] = []
    for page in (1, 2, 3):
        r = api.call("GET", "/api/v1/payments", token=token, query={"node_id": node, "page": page, "per_page": 10})
        data = r.json()
        assert (data["page"], data["per_page"], data["total"]) == (page, 10, 23)
        seen += [p["id"] for p in data["items"]]
    assert seen == newest_first
    beyond = api.call("GET", "/api/v1/payments", token=token, query={"node_id": node, "page": 4}).json()
    assert beyond["items"] == []
    assert beyond["total"] == 23
    default = api.call("GET", "/api/v1/payments", token=token, query={"node_id": node}).json()
    assert (default["page"], default["per_page"], len(default["items"])) == (1, 10, 10)


@pytest.mark.parametrize(("param", "value"), [("per_page", 101), ("per_page", 0), ("page", 0), ("page", "x")])
def test_list_rejects_out_of_range_paging(api: Api, param: str, value: Any) -> None:
    token = api.token()
    r = api.call("GET", "/api/v1/payments", token=token, query={"node_id": api.demo["nodes"]["root"], param: value})
    assert r.status == 422
    assert r.json()["error"]["details"][0]["field"] == f"query.{param}"


def test_list_filters_by_wallet_and_network_with_exact_totals(api: Api) -> None:
    token = api.token()
    cat = deps.catalog()
    other_net = admin.create_network(
        cat, deps.rpc_urls(), chain_id=api.demo["chain_id"], name="second", evm_chain_id=5, rpc_url="http://127.0.0.1:1"
    )
    other_cur = admin.create_currency(cat, symbol="USDC", decimals=6, tokens={other_net.id: "0x" + "ab" * 20})
    wallet = api.demo["wallet_id"]
    a = _create(api, token, external_id="a", wallet_id=wallet)
    b = _create(api, token, external_id="b")
    c = _create(
        api,
        token,
        external_id="c",
        network_id=other_net.id,
        currency_id=other_cur.id,
        payment_method="bank_transfer",
    )
    node = api.demo["nodes"]["root"]

    def ids(**q: Any) -> tuple[int, list[str]]:
        data = api.call("GET", "/api/v1/payments", token=token, query={"node_id": node, **q}).json()
        return data["total"], [p["id"] for p in data["items"]]

    assert ids() == (3, [c["id"], b["id"], a["id"]])
    assert ids(wallet_id=wallet) == (1, [a["id"]])
    assert ids(network_id=api.demo["network_id"]) == (2, [b["id"], a["id"]])
    assert ids(network_id=other_net.id) == (1, [c["id"]])
    assert ids(wallet_id=wallet, network_id=api.demo["network_id"]) == (1, [a["id"]])
    assert ids(wallet_id=wallet, network_id=other_net.id) == (0, [])


def test_list_of_a_descendant_node_and_403_outside_the_tree(api: Api) -> None:
    root_token, child_token, other_token = api.token("root"), api.token("child"), api.token("other")
    child = api.demo["nodes"]["child"]
    created = _create(api, root_token, node_id=child)
    listed = api.call("GET", "/api/v1/payments", token=child_token, query={"node_id": child}).json()
    assert [p["id"] for p in listed["items"]] == [created["id"]]
    assert api.call("GET", f"/api/v1/payments/{created['id']}", token=child_token).status == 200
    for token in (other_token,):
        r = api.call("GET", f"/api/v1/payments/{created['id']}", token=token)
        assert (r.status, r.json()["error"]["code"]) == (403, "node_access_denied")
        r = api.call("GET", "/api/v1/payments", token=token, query={"node_id": child})
        assert r.status == 403
    # the child integration does not reach its parent
    r = api.call("POST", "/api/v1/payments", token=child_token, json_body=api.payment_body())
    assert r.status == 403
    assert (
        api.call("GET", "/api/v1/payments", token=child_token, query={"node_id": api.demo["nodes"]["root"]}).status
        == 403
    )


def test_duplicate_external_id_is_409_with_the_existing_id_and_no_second_record(api: Api) -> None:
    token = api.token()
    first = _create(api, token, external_id="dup")
    r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="dup"))
    assert r.status == 409
    assert r.json()["error"]["payment_id"] == first["id"]
    # the same external_id on another node is fine
    _create(api, token, external_id="dup", node_id=api.demo["nodes"]["child"])
    listed = api.call("GET", "/api/v1/payments", token=token, query={"node_id": api.demo["nodes"]["root"]}).json()
    assert listed["total"] == 1
    sqs = boto3.client("sqs")
    msgs = sqs.receive_message(QueueUrl=os.environ["DEAL_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 2  # one per created payment, none for the refused duplicate


@pytest.mark.parametrize("field", ["node_id", "currency_id", "network_id", "wallet_id", "chain_id", "member_id"])
def test_unknown_references_are_404_naming_the_field(api: Api, field: str) -> None:
    token = api.token()
    r = api.call(
        "POST",
        "/api/v1/payments",
        token=token,
        json_body=api.payment_body(**{field: "00000000-0000-4000-8000-000000000000"}),
    )
    assert r.status == 404
    err = r.json()["error"]
    assert err["code"] == f"{field.removesuffix('_id')}_not_found"
    assert err["details"][0]["field"] == f"body.{field}"
    listed = api.call("GET", "/api/v1/payments", token=token, query={"node_id": api.demo["nodes"]["root"]}).json()
    assert listed["total"] == 0


def test_get_unknown_and_malformed_ids_are_404(api: Api) -> None:
    token = api.token()
    for pid in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        r = api.call("GET", f"/api/v1/payments/{pid}", token=token)
        assert (r.status, r.json()["error"]["code"]) == (404, "payment_not_found")


def test_too_many_decimals_for_the_currency_is_422(api: Api) -> None:
    token = api.token()
    r = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(price=1.1234567, paid_price=1))
    assert r.status == 422
    assert r.json()["error"]["details"] == [
        {"field": "body.price", "code": "too_many_decimals", "message": "USDT has 6 decimals"}
    ]


def test_malformed_json_is_a_4xx_in_the_error_shape(api: Api) -> None:
    token = api.token()
    r = api.call("POST", "/api/v1/payments", token=token, raw_body='{"external_id": ')
    assert r.status == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_a_body_over_api_gateways_limit_is_413_in_the_error_shape(api: Api) -> None:
    big = '{"external_id": "' + "x" * (10 * 1024 * 1024) + '"}'
    r = api.call("POST", "/api/v1/payments", token=api.token(), raw_body=big)
    assert (r.status, r.json()["error"]["code"]) == (413, "request_too_large")
