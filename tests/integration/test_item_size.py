"""The largest valid create body fits in one DynamoDB item (400 KB), with room for what the platform adds later.

The body has every bounded field at its bound (models/payments.py: MAX_ITEMS items, every text at its
longest, in 4-byte UTF-8 characters). Its stored item is measured by DynamoDB's documented rules
(`item_size`); moto enforces the 400 KB limit too (a larger item is refused by the transaction), so the
write succeeding is a second check. The platform's later fields (deal, deposit, confirmations, last event,
watch keys: a few hundred bytes today) get at least RESERVE bytes.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from payments_core.models.payments import MAX_ADDRESS_TEXT, MAX_ITEMS, MAX_METADATA, MAX_TEXT
from tests.integration.helpers import Api

ITEM_LIMIT = 400 * 1024
RESERVE = 100 * 1024
PARTITION_KEY_LIMIT = 2048
WIDE = "\U0001f600"  # 4 bytes in UTF-8, one character for the bounds


def _text_size(text: str) -> int:
    return len(text.encode("utf-8"))


def value_size(value: Any) -> int:
    """A DynamoDB attribute value's size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
    CapacityUnitCalculations.html): strings and binary by their bytes; a number ~1 byte per two significant
    digits plus 1 (counted here on all its digits, an upper bound); null and booleans 1 byte; a list or map
    3 bytes plus 1 per element plus its elements (a map's element with its name)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return _text_size(raw)
    if kind == "N":
        digits: int = sum(c.isdigit() for c in raw)
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(raw)
    if kind in ("NULL", "BOOL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + _text_size(k) + value_size(v) for k, v in raw.items())
    if kind == "SS":
        return sum(_text_size(v) for v in raw)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in raw)
    raise AssertionError(f"unknown DynamoDB type {kind}")


def item_size(item: Any) -> int:
    return sum(_text_size(name) + value_size(value) for name, value in item.items())


def test_item_size_follows_dynamodbs_rules() -> None:
    assert item_size({"a": {"S": "é"}}) == 1 + 2
    assert item_size({"n": {"N": "123.45"}}) == 1 + 3 + 1
    assert item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"l": {"L": [{"S": "ab"}, {"NULL": True}]}}) == 1 + 3 + (1 + 2) + (1 + 1)


def _wide(n: int, prefix: str = "") -> str:
    return prefix + WIDE * (n - len(prefix))


def largest_body(api: Api, method: str) -> dict[str, Any]:
    # 36 significant digits each; their sum stays under USDT's maximum amount (10^32 - 10^-6)
    item_price = "999999999999999999999999999999.999999"
    items = [
        {"name": _wide(MAX_TEXT), "price": item_price, "external_id": _wide(MAX_TEXT, f"{i:03d}")}
        for i in range(MAX_ITEMS)
    ]
    member = {
        field: _wide(MAX_TEXT) for field in ("external_id", "name", "surname", "identity_number", "city", "country")
    }
    member |= {
        "email": _wide(124) + "@" + _wide(125) + ".com",
        "phone_number": "+" + "9" * 19,
        "address": _wide(MAX_ADDRESS_TEXT),
    }
    assert len(member["email"]) == 254
    total = "99999999999999999999999999999999.9999"  # 100 item prices
    return api.payment_body(
        external_id=_wide(MAX_TEXT),
        payment_method=method,
        payment_address=_wide(MAX_TEXT) if method != "web3" else "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        price=total,
        paid_price=total,
        items=items,
        member=member,
        metadata=_wide(MAX_METADATA),
        client_ip="255.255.255.255",
        retry=True,
        retry_count=1000,
        chain_id=api.demo["chain_id"],
        wallet_id=api.demo["wallet_id"],
    )


@pytest.mark.parametrize("method", ["web3", "credit_card"])
def test_the_largest_valid_body_fits_one_item_with_room_to_spare(api: Api, method: str) -> None:
    body = largest_body(api, method)
    r = api.call("POST", "/api/v1/payments", token=api.token(), json_body=body)
    assert r.status == 201, r.body[:500]
    db = boto3.client("dynamodb")
    stored = db.get_item(TableName=os.environ["PAYMENTS_TABLE"], Key={"id": {"S": r.json()["id"]}})["Item"]
    size = item_size(stored)
    assert size > 240 * 1024  # the body really is at its bounds (about 250 KB of text)
    assert size <= ITEM_LIMIT - RESERVE, f"{size} bytes leave less than {RESERVE} for the platform's fields"
    guards = db.scan(TableName=os.environ["PAYMENT_KEYS_TABLE"])["Items"]
    assert max(_text_size(g["pk"]["S"]) for g in guards) < PARTITION_KEY_LIMIT


def test_one_item_more_than_the_bound_is_refused(api: Api) -> None:
    body = largest_body(api, "web3")
    body["items"].append({"name": "x", "price": "1", "external_id": "one-more"})
    r = api.call("POST", "/api/v1/payments", token=api.token(), json_body=body)
    assert r.status == 422
    assert [(d["field"], d["code"]) for d in r.json()["error"]["details"]] == [("body.items", "too_long")]
