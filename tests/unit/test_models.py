"""API models: CreatePaymentRequest's rules, exact Money, and PaymentResponse's JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from ipaddress import IPv4Address
from typing import Any

import pytest
from pydantic import ValidationError

from payments_core.http import json_codec
from payments_core.http.api import json_response
from payments_core.models.common import ErrorResponse
from payments_core.models.payments import (
    CreatePaymentRequest,
    Member,
    PaymentGroup,
    PaymentMethod,
    PaymentResponse,
    PaymentStatus,
)

NODE = "6f0c7c4e-4c8b-4d7e-9f0e-7a3a1b2c3d4e"
NETWORK = "0b8e1d52-5d1f-4a3e-a1b7-3c0f1e2d4a5b"
CURRENCY = "c5a0f1d2-7e3b-4c9a-8d6f-1b2a3c4d5e6f"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def future(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "order-1",
        "node_id": NODE,
        "network_id": NETWORK,
        "currency_id": CURRENCY,
        "price": Decimal("100.5"),
        "paid_price": Decimal("100.5"),
        "payment_method": "web3",
        "payment_group": "product",
        "payment_address": ADDRESS,
        "expires_at": future(),
    }
    body.update(overrides)
    return body


def parse(body: dict[str, Any]) -> CreatePaymentRequest:
    """The HTTP path: the body as JSON text, read back with the platform's exact codec."""
    return CreatePaymentRequest.model_validate(json_codec.loads(json_codec.dumps(body)))


def parse_text(text: str) -> CreatePaymentRequest:
    return CreatePaymentRequest.model_validate(json_codec.loads(text))


def errors_of(body: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as info:
        parse(body)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def messages_of(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse(body)
    return [e["msg"] for e in info.value.errors()]


# --------------------------------------------------------------------------- the valid request


def test_minimal_valid_request_parses_to_typed_values() -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    req = parse(payload(expires_at=expires.isoformat().replace("+00:00", "Z")))
    assert req.node_id == uuid.UUID(NODE)
    assert req.network_id == uuid.UUID(NETWORK)
    assert req.currency_id == uuid.UUID(CURRENCY)
    assert req.price == Decimal("100.5")
    assert req.payment_method is PaymentMethod.WEB3
    assert req.payment_group is PaymentGroup.PRODUCT
    assert req.expires_at == expires
    assert req.expires_at.utcoffset() == timedelta(0)
    # defaults of the optional fields
    assert (req.chain_id, req.wallet_id, req.member_id, req.member, req.items) == (None, None, None, None, None)
    assert (req.retry, req.retry_count, req.client_ip, req.metadata) == (False, 0, None, None)


def test_full_valid_request() -> None:
    chain, wallet = str(uuid.uuid4()), str(uuid.uuid4())
    req = parse(
        payload(
            chain_id=chain,
            wallet_id=wallet,
            member={"external_id": "m-1", "name": "Ada", "surname": "Lovelace", "email": "ada@example.com"},
            items=[
                {"name": "Book", "price": Decimal("60.25"), "external_id": "i-1"},
                {"name": "Pen", "price": Decimal("40.25"), "external_id": "i-2"},
            ],
            metadata='{"order": 1}',
            retry=True,
            retry_count=3,
            client_ip="192.168.1.10",
        )
    )
    assert req.chain_id == uuid.UUID(chain)
    assert req.wallet_id == uuid.UUID(wallet)
    assert req.member == Member(external_id="m-1", name="Ada", surname="Lovelace", email="ada@example.com")
    assert req.items is not None
    assert [(i.name, i.price, i.external_id) for i in req.items] == [
        ("Book", Decimal("60.25"), "i-1"),
        ("Pen", Decimal("40.25"), "i-2"),
    ]
    assert req.client_ip == IPv4Address("192.168.1.10")
    assert (req.retry, req.retry_count, req.metadata) == (True, 3, '{"order": 1}')


@pytest.mark.parametrize("method", ["web3", "credit_card", "bank_transfer"])
def test_each_payment_method_is_accepted(method: str) -> None:
    assert parse(payload(payment_method=method)).payment_method == PaymentMethod(method)


@pytest.mark.parametrize("group", ["product", "listing_or_subscription"])
def test_each_payment_group_is_accepted(group: str) -> None:
    assert parse(payload(payment_group=group)).payment_group == PaymentGroup(group)


def test_payment_address_of_exactly_ten_chars_is_accepted_and_stripped() -> None:
    body = payload(payment_method="credit_card", payment_address="  0123456789  ")
    assert parse(body).payment_address == "0123456789"


@pytest.mark.parametrize(
    "address",
    [
        ADDRESS,
        ADDRESS.lower(),  # no checksum to check
        "0x" + ADDRESS[2:].upper(),
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55's own examples
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "  " + ADDRESS + " ",
    ],
)
def test_web3_payment_address_is_an_evm_address(address: str) -> None:
    assert parse(payload(payment_address=address)).payment_address == address.strip()


@pytest.mark.parametrize(
    ("address", "error_type"),
    [
        ("0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "address_checksum_mismatch"),  # one letter's case flipped
        ("0x" + "0" * 40, "zero_address"),
        ("0X70997970C51812dc3A010C7d01b50e0d17dc79C8", "invalid_address"),
        ("70997970C51812dc3A010C7d01b50e0d17dc79C8", "invalid_address"),
        ("0x70997970C51812dc3A010C7d01b50e0d17dc79C", "invalid_address"),  # 19.5 bytes
        ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8aa", "invalid_address"),  # 21 bytes
        ("0x70997970C51812dc3A010C7d01b50e0d17dc79Cg", "invalid_address"),
        ("0x\uff170997970C51812dc3A010C7d01b50e0d17dc79C8", "invalid_address"),  # a full-width 7
        ("TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "invalid_address"),  # a Tron address
        ("0123456789", "invalid_address"),
    ],
)
def test_web3_payment_address_that_is_not_an_evm_address_is_refused(address: str, error_type: str) -> None:
    assert errors_of(payload(payment_address=address)) == [(("payment_address",), error_type)]
    # the other methods take any address text
    assert parse(payload(payment_method="bank_transfer", payment_address=address)).payment_address == address


def test_request_is_frozen() -> None:
    req = parse(payload())
    with pytest.raises(ValidationError):
        req.price = Decimal(1)  # type: ignore[misc]


# --------------------------------------------------------------------------- one failure per rule

REQUIRED = [
    "external_id",
    "node_id",
    "network_id",
    "currency_id",
    "price",
    "paid_price",
    "payment_method",
    "payment_group",
    "payment_address",
    "expires_at",
]


@pytest.mark.parametrize("field", REQUIRED)
def test_required_field_missing(field: str) -> None:
    body = payload()
    del body[field]
    assert errors_of(body) == [((field,), "missing")]


@pytest.mark.parametrize(
    ("override", "loc", "error_type"),
    [
        ({"external_id": 123}, ("external_id",), "string_type"),
        ({"external_id": "   "}, ("external_id",), "string_too_short"),
        ({"external_id": "x" * 256}, ("external_id",), "string_too_long"),
        ({"node_id": "not-a-uuid"}, ("node_id",), "uuid_parsing"),
        ({"network_id": "1"}, ("network_id",), "uuid_parsing"),
        ({"currency_id": "USDT"}, ("currency_id",), "uuid_parsing"),
        ({"chain_id": "chain-1"}, ("chain_id",), "uuid_parsing"),
        ({"wallet_id": "0x123"}, ("wallet_id",), "uuid_parsing"),
        ({"member_id": "m-1"}, ("member_id",), "uuid_parsing"),
        ({"payment_method": "paypal"}, ("payment_method",), "enum"),
        ({"payment_method": "WEB3"}, ("payment_method",), "enum"),
        ({"payment_group": "service"}, ("payment_group",), "enum"),
        ({"payment_address": "012345678"}, ("payment_address",), "string_too_short"),
        ({"payment_address": "   012345678   "}, ("payment_address",), "string_too_short"),
        ({"price": Decimal(0)}, ("price",), "greater_than"),
        ({"price": Decimal("-1.5")}, ("price",), "greater_than"),
        ({"paid_price": Decimal(0)}, ("paid_price",), "greater_than"),
        ({"paid_price": Decimal("-0.000001")}, ("paid_price",), "greater_than"),
        ({"client_ip": "::1"}, ("client_ip",), "ip_v4_address"),
        ({"client_ip": "10.0.0.256"}, ("client_ip",), "ip_v4_address"),
        ({"client_ip": "localhost"}, ("client_ip",), "ip_v4_address"),
        ({"retry_count": -1}, ("retry_count",), "greater_than_equal"),
        ({"retry_count": 1001}, ("retry_count",), "less_than_equal"),
        ({"retry": "maybe"}, ("retry",), "bool_type"),
        ({"metadata": "x" * 8193}, ("metadata",), "string_too_long"),
        ({"items": []}, ("items",), "too_short"),
        ({"items": {"name": "a"}}, ("items",), "list_type"),
        ({"member": "ada"}, ("member",), "model_type"),
        ({"member": {"email": "not-an-email"}}, ("member", "email"), "string_pattern_mismatch"),
        ({"member": {"phone_number": "call me"}}, ("member", "phone_number"), "string_pattern_mismatch"),
        ({"member": {"nickname": "ada"}}, ("member", "nickname"), "extra_forbidden"),
        ({"extra_field": 1}, ("extra_field",), "extra_forbidden"),
        ({"id": str(uuid.uuid4())}, ("id",), "extra_forbidden"),
        ({"status": "paid"}, ("status",), "extra_forbidden"),
    ],
)
def test_rule_violation_is_reported_at_its_field(
    override: dict[str, Any], loc: tuple[str, ...], error_type: str
) -> None:
    assert errors_of(payload(**override)) == [(loc, error_type)]


@pytest.mark.parametrize(
    ("item", "loc", "error_type"),
    [
        ({"name": "", "price": Decimal("100.5"), "external_id": "i-1"}, ("items", 0, "name"), "string_too_short"),
        ({"price": Decimal("100.5"), "external_id": "i-1"}, ("items", 0, "name"), "missing"),
        ({"name": "a", "external_id": "i-1"}, ("items", 0, "price"), "missing"),
        ({"name": "a", "price": Decimal("100.5")}, ("items", 0, "external_id"), "missing"),
        ({"name": "a", "price": Decimal(0), "external_id": "i-1"}, ("items", 0, "price"), "greater_than"),
        ({"name": "a", "price": "1e5", "external_id": "i-1"}, ("items", 0, "price"), "decimal_parsing"),
        (
            {"name": "a", "price": Decimal("100.5"), "external_id": "i-1", "qty": 1},
            ("items", 0, "qty"),
            "extra_forbidden",
        ),
    ],
)
def test_item_rule_violation_is_reported_at_the_item_field(
    item: dict[str, Any], loc: tuple[str | int, ...], error_type: str
) -> None:
    assert errors_of(payload(items=[item])) == [(loc, error_type)]


def test_second_item_error_names_its_index() -> None:
    items = [
        {"name": "a", "price": Decimal("50"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("-50.5"), "external_id": "i-2"},
    ]
    assert errors_of(payload(items=items)) == [(("items", 1, "price"), "greater_than")]


def test_several_errors_are_all_reported() -> None:
    body = payload(price=Decimal(0), payment_method="cash", client_ip="::1")
    del body["node_id"]
    assert sorted(errors_of(body), key=str) == sorted(
        [
            (("node_id",), "missing"),
            (("price",), "greater_than"),
            (("payment_method",), "enum"),
            (("client_ip",), "ip_v4_address"),
        ],
        key=str,
    )


# --------------------------------------------------------------------------- cross-field rules


def test_items_must_add_up_to_price() -> None:
    items = [
        {"name": "a", "price": Decimal("50"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("50"), "external_id": "i-2"},
    ]
    body = payload(items=items)
    assert errors_of(body) == [(("items",), "items_total_mismatch")]
    assert messages_of(body) == ["the items' prices add up to 100, not to price 100.5"]


def test_items_are_not_compared_with_a_refused_price() -> None:
    items = [{"name": "a", "price": Decimal("50"), "external_id": "i-1"}]
    assert errors_of(payload(price=Decimal(0), items=items)) == [(("price",), "greater_than")]


def test_items_sum_is_exact_decimal_arithmetic() -> None:
    # 0.1 + 0.2 == 0.3 in decimal (it is not in binary floating point)
    items = [
        {"name": "a", "price": Decimal("0.1"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("0.2"), "external_id": "i-2"},
    ]
    req = parse(payload(price=Decimal("0.3"), items=items))
    assert req.price == Decimal("0.3")


def test_items_sum_ignores_trailing_zeros() -> None:
    items = [
        {"name": "a", "price": Decimal("50.25"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("50.25"), "external_id": "i-2"},
    ]
    assert parse(payload(price=Decimal("100.50"), items=items)).price == Decimal("100.5")


def test_items_sum_off_by_the_smallest_unit_is_rejected() -> None:
    items = [
        {"name": "a", "price": Decimal("50.250001"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("50.25"), "external_id": "i-2"},
    ]
    assert errors_of(payload(items=items)) == [(("items",), "items_total_mismatch")]


def test_items_sum_exact_with_18_decimal_token_amounts() -> None:
    items = [
        {"name": "a", "price": Decimal("12345678901.123456789012345678"), "external_id": "i-1"},
        {"name": "b", "price": Decimal("12345678901.123456789012345678"), "external_id": "i-2"},
    ]
    req = parse(payload(price=Decimal("24691357802.246913578024691356"), items=items))
    assert req.price == Decimal("24691357802.246913578024691356")


def test_duplicate_item_external_ids_are_rejected() -> None:
    items = [
        {"name": "a", "price": Decimal("50.25"), "external_id": "same"},
        {"name": "b", "price": Decimal("50.25"), "external_id": "same"},
    ]
    body = payload(items=items)
    assert errors_of(body) == [(("items",), "duplicate_item_external_id")]
    assert messages_of(body) == ["each item's external_id must be unique within the payment"]


def test_member_id_with_member_is_rejected() -> None:
    body = payload(member_id=str(uuid.uuid4()), member={"name": "Ada"})
    assert errors_of(body) == [(("member",), "member_conflict")]
    assert messages_of(body) == ["give either member_id or member, not both"]


def test_member_id_alone_or_member_alone_is_accepted() -> None:
    member_id = str(uuid.uuid4())
    assert parse(payload(member_id=member_id)).member_id == uuid.UUID(member_id)
    member = parse(payload(member={"name": " Ada ", "email": "ada@example.com"})).member
    assert member == Member(name="Ada", email="ada@example.com")


# --------------------------------------------------------------------------- expires_at


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("2099-01-31T23:59:59", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("2099-01-31", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("2099-01-31T23:59Z", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("31/01/2099 23:59:59Z", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("4102444799", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("\uff12099-01-31T23:59:59Z", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("2099-01-31T23:59:59.1234567890Z", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        ("2099-01-31T23:59:59+0100", "datetime_parsing", "must be an RFC 3339 date-time with a time zone"),
        (4102444799, "datetime_type", "must be an RFC 3339 date-time string"),
        (4102444799.5, "datetime_type", "must be an RFC 3339 date-time string"),
        (True, "datetime_type", "must be an RFC 3339 date-time string"),
    ],
)
def test_expires_at_must_be_rfc3339_text_with_zone(value: Any, code: str, message: str) -> None:
    body = payload(expires_at=value)
    assert errors_of(body) == [(("expires_at",), code)]
    assert messages_of(body)[0].startswith(message)


@pytest.mark.parametrize(
    "value",
    [
        "2000-01-01T00:00:00Z",
        (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        (datetime.now(UTC) - timedelta(hours=1)).astimezone().isoformat(),
    ],
    ids=["long-ago", "seconds-ago", "an-hour-ago-local-offset"],
)
def test_expires_at_in_the_past_is_rejected(value: str) -> None:
    body = payload(expires_at=value)
    assert errors_of(body) == [(("expires_at",), "value_error")]
    assert messages_of(body) == ["Value error, must be in the future"]


@pytest.mark.parametrize(
    "value",
    [
        "2099-13-01T00:00:00Z",
        "2099-00-01T00:00:00Z",
        "2099-02-29T00:00:00Z",  # not a leap year
        "2099-04-31T00:00:00Z",
        "2099-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2099-01-01T24:00:00Z",
        "2099-01-01T00:60:00Z",
        "2099-01-01T00:00:61Z",
        "2099-01-01T00:00:00+24:00",
        "2099-01-01T00:00:00-00:60",
    ],
)
def test_expires_at_impossible_date_or_time_is_rejected(value: str) -> None:
    assert errors_of(payload(expires_at=value)) == [(("expires_at",), "datetime_field")]


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-23:59", "9999-12-31T23:59:60Z", "9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00+00:01"],
)
def test_expires_at_whose_instant_is_beyond_the_calendar_is_rejected(value: str) -> None:
    assert errors_of(payload(expires_at=value)) == [(("expires_at",), "datetime_out_of_range")]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("9999-12-31T23:59:59+23:59", datetime(9999, 12, 31, 0, 0, 59, tzinfo=UTC)),
        ("9999-12-31T00:00:00-23:59", datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
        ("2098-12-31T23:59:60Z", datetime(2099, 1, 1, tzinfo=UTC)),  # a leap second: the next second
        ("2099-01-01T02:59:60+03:00", datetime(2099, 1, 1, tzinfo=UTC)),
        ("2099-01-01T00:00:00-00:00", datetime(2099, 1, 1, tzinfo=UTC)),  # RFC 3339's unknown local offset
        ("2096-02-29T12:00:00Z", datetime(2096, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_expires_at_at_the_calendars_edges(text: str, utc: datetime) -> None:
    assert parse(payload(expires_at=text)).expires_at == utc


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2099-01-31T23:59:59Z", datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)),
        ("2099-02-01T02:59:59+03:00", datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)),
        ("2099-01-31T18:59:59-05:00", datetime(2099, 1, 31, 23, 59, 59, tzinfo=UTC)),
        ("2099-01-31t23:59:59.123456z", datetime(2099, 1, 31, 23, 59, 59, 123456, tzinfo=UTC)),
        ("2099-01-31 23:59:59.5Z", datetime(2099, 1, 31, 23, 59, 59, 500000, tzinfo=UTC)),
    ],
)
def test_expires_at_accepts_rfc3339_with_offset(text: str, utc: datetime) -> None:
    assert parse(payload(expires_at=text)).expires_at == utc


# --------------------------------------------------------------------------- Money


@pytest.mark.parametrize(
    ("json_number", "expected"),
    [
        ("100.5", "100.5"),
        ("0.1", "0.1"),
        ("1e-6", "0.000001"),
        ("1E-6", "0.000001"),
        ("0.000001", "0.000001"),
        ("100", "100"),
        ("100.50", "100.5"),  # trailing zeros trimmed, as DynamoDB trims them
        ("100.5" + "0" * 60, "100.5"),
        ("1E+2", "100"),  # no exponent in the answer
        ("1.005e2", "100.5"),
        ("0.01e-4", "0.000001"),
        ("1" + "0" * 37, "1" + "0" * 37),
        ("12345678901234567890123456789.123456789", "12345678901234567890123456789.123456789"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("0.000000000000000001", "0.000000000000000001"),
        ("0." + "0" * 35 + "1", "0." + "0" * 35 + "1"),
    ],
)
def test_json_numbers_stay_exact(json_number: str, expected: str) -> None:
    text = json_codec.dumps(payload(price=Decimal(1), paid_price=Decimal(1))).replace(
        '"paid_price":1', f'"paid_price":{json_number}'
    )
    assert f'"paid_price":{json_number}' in text
    req = parse_text(text)
    assert isinstance(req.paid_price, Decimal)
    assert req.paid_price == Decimal(expected)
    assert req.paid_price.as_tuple() == Decimal(expected).as_tuple()  # the value's digits, plainly


def test_binary_float_value_would_not_be_exact() -> None:
    # What the codec protects against: a float 0.1 is not the decimal 0.1.
    assert Decimal(0.1) != Decimal("0.1")  # noqa: RUF032 - the binary float is the point
    assert json_codec.loads("0.1") == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100.5", "100.5"), ("100.50", "100.5"), ("100", "100"), ("0.000001", "0.000001"), ("007.5", None)],
)
def test_money_accepts_a_plain_decimal_string(value: str, expected: str | None) -> None:
    body = payload()
    body["price"] = body["paid_price"] = value
    if expected is None:
        assert errors_of(body) == [(("price",), "decimal_parsing"), (("paid_price",), "decimal_parsing")]
        return
    req = parse(body)
    assert (req.price, req.paid_price) == (Decimal(expected), Decimal(expected))
    assert req.price.as_tuple() == Decimal(expected).as_tuple()


@pytest.mark.parametrize(
    "value",
    ["1e5", "1E5", " 1", "1 ", "+1", "NaN", "Infinity", "0x10", "1,5", "1.", ".5", "", "١٢٣", "1_000", "-" * 300],
)
def test_money_refuses_a_string_that_is_not_a_plain_decimal(value: str) -> None:
    body = payload()
    body["price"] = value
    assert errors_of(body) == [(("price",), "decimal_parsing")]


@pytest.mark.parametrize("value", ["0", "0.0", "-1", "-0.5"])
def test_money_string_must_be_positive(value: str) -> None:
    body = payload()
    body["price"] = value
    assert errors_of(body) == [(("price",), "greater_than")]


@pytest.mark.parametrize(
    "value",
    [True, False, None, [100], {"amount": 100}, 100.5],
    ids=["true", "false", "null", "list", "object", "python-float"],
)
def test_money_accepts_only_json_numbers_and_decimal_strings(value: Any) -> None:
    # A Python float cannot come out of json_codec.loads; the model refuses it rather than trust it.
    body = payload()
    body["price"] = value
    with pytest.raises(ValidationError) as info:
        CreatePaymentRequest.model_validate(body)
    assert [(e["loc"], e["type"], e["msg"]) for e in info.value.errors()] == [
        (("price",), "decimal_type", 'must be a JSON number or a decimal string such as "100.50"')
    ]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_literals_are_not_parsed(literal: str) -> None:
    text = json_codec.dumps(payload()).replace('"price":100.5', f'"price":{literal}')
    with pytest.raises(ValueError, match="Expecting value"):
        json_codec.loads(text)


@pytest.mark.parametrize("special", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_decimal_is_rejected(special: str) -> None:
    body = payload()
    body["price"] = Decimal(special)
    with pytest.raises(ValidationError) as info:
        CreatePaymentRequest.model_validate(body)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("price",), "finite_number")]


def test_client_ip_as_number_is_rejected() -> None:
    assert errors_of(payload(client_ip=3232235786)) == [(("client_ip",), "value_error")]


def test_money_beyond_dynamodb_precision_is_rejected() -> None:
    # 39 significant digits cannot be stored exactly in DynamoDB (38), so the API refuses them
    too_long = json_codec.loads("123456789012345678901234567890123456.789")
    assert errors_of(payload(price=too_long, paid_price=Decimal(1))) == [(("price",), "too_many_digits")]
    longest = json_codec.loads("12345678901234567890123456789012345.678")
    assert parse(payload(price=longest, paid_price=Decimal(1))).price == Decimal(
        "12345678901234567890123456789012345.678"
    )


# --------------------------------------------------------------------------- PaymentResponse


def response(**overrides: Any) -> PaymentResponse:
    data: dict[str, Any] = {
        "id": "8d3b5a0e-1f2c-4e6a-9b7d-0c1e2f3a4b5c",
        "external_id": "order-1",
        "node_id": NODE,
        "network_id": NETWORK,
        "currency_id": CURRENCY,
        "price": Decimal("100.50"),
        "paid_price": Decimal("0.000001"),
        "payment_method": "web3",
        "payment_group": "listing_or_subscription",
        "payment_address": ADDRESS,
        "items": [{"name": "Book", "price": Decimal("100.50"), "external_id": "i-1"}],
        "expires_at": "2030-02-01T02:59:59+03:00",
        "retry": False,
        "retry_count": 0,
        "client_ip": "10.1.2.3",
        "status": "pending",
        "access_token": "pwt_abc",
        "deal_id": 123,
        "created_at": "2030-01-01T12:00:00.123456Z",
        "updated_at": datetime(2030, 1, 1, 15, 0, 0, tzinfo=timezone(timedelta(hours=3))),
    }
    data.update(overrides)
    return PaymentResponse.model_validate(data)


def test_payment_response_json_is_exact_and_rfc3339() -> None:
    resp = json_response(201, response())
    assert resp.status_code == 201
    assert resp.content_type == "application/json"
    text = resp.body
    assert isinstance(text, str)
    # exact digits, written as JSON numbers (not strings, not floats)
    assert '"price":100.5,' in text  # 100.50: trailing zeros trimmed, as DynamoDB keeps it
    assert '"paid_price":0.000001' in text
    assert '"items":[{"name":"Book","price":100.5,"external_id":"i-1"}]' in text
    # RFC 3339 in UTC with Z, whatever offset came in
    assert '"expires_at":"2030-01-31T23:59:59Z"' in text
    assert '"created_at":"2030-01-01T12:00:00.123456Z"' in text
    assert '"updated_at":"2030-01-01T12:00:00Z"' in text
    body = json_codec.loads(text)
    assert body["id"] == "8d3b5a0e-1f2c-4e6a-9b7d-0c1e2f3a4b5c"
    assert body["node_id"] == NODE
    assert body["client_ip"] == "10.1.2.3"
    assert body["payment_method"] == "web3"
    assert body["payment_group"] == "listing_or_subscription"
    assert body["status"] == PaymentStatus.PENDING.value
    assert body["deal_id"] == 123
    assert body["price"] == Decimal("100.50")
    assert body["member"] is None  # not excluded by default
    assert set(body) == set(PaymentResponse.model_fields)


def test_payment_response_exclude_none_drops_empty_fields() -> None:
    text = json_response(200, response(items=None, client_ip=None, deal_id=None), exclude_none=True).body
    assert isinstance(text, str)
    body = json_codec.loads(text)
    for absent in ("items", "client_ip", "deal_id", "member", "wallet_id", "transaction_hash", "metadata"):
        assert absent not in body
    assert body["price"] == Decimal("100.50")


@pytest.mark.parametrize("amount", ["0.1", "1E-7", "12345678901234567890123456789.123456789"])
def test_payment_response_writes_back_the_digits_it_read(amount: str) -> None:
    text = json_response(200, response(paid_price=json_codec.loads(amount))).body
    assert isinstance(text, str)
    assert json_codec.loads(text)["paid_price"].as_tuple() == Decimal(amount).as_tuple()


def test_error_response_model_accepts_the_domain_error_shape() -> None:
    from payments_core.errors import Conflict

    err = Conflict("dup", code="payment_already_exists", extra={"payment_id": "p-1"})
    parsed = ErrorResponse.model_validate(err.body())
    assert parsed.error.code == "payment_already_exists"
    assert parsed.error.payment_id == "p-1"
    assert parsed.error.details == []


def _keywords(schema: Any) -> set[str]:
    """Every key of every schema object in `schema` (properties' names excluded)."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("properties", "$defs"):
                    stack.extend(value.values())
                else:
                    found.add(key)
                    stack.append(value)
    return found


def test_request_schema_uses_json_schema_keywords_only() -> None:
    # A constraint pydantic cannot express lands in the schema under its Python name ("ge": 0), which
    # clients and schemathesis ignore: retry_count's bounds were once declared that way.
    schema = CreatePaymentRequest.model_json_schema()
    assert not _keywords(schema) & {"ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of"}
    assert schema["properties"]["retry_count"] | {"default": 0} == {
        "default": 0,
        "minimum": 0,
        "maximum": 1000,
        "title": "Retry Count",
        "type": "integer",
    }


def test_amounts_are_numbers_or_decimal_strings_in_and_numbers_out() -> None:
    request = CreatePaymentRequest.model_json_schema()
    for schema in (request["properties"]["price"], request["$defs"]["PaymentItem"]["properties"]["price"]):
        assert [s["type"] for s in schema["anyOf"]] == ["number", "string"]
        assert "a string in plain decimal notation" in schema["description"]
    response = PaymentResponse.model_json_schema(mode="serialization")
    assert response["properties"]["price"]["type"] == "number"
    assert response["properties"]["paid_price"]["type"] == "number"


def test_docs_api_md_states_the_bounds_the_code_enforces() -> None:
    from pathlib import Path

    from payments_core import money
    from payments_core.domain.auth import MAX_AUTHORIZATION
    from payments_core.domain.payments import MAX_PER_PAGE
    from payments_core.models import payments as models

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    bounds = doc[doc.index("## Bounds of a request") :]
    bounds = " ".join(bounds[: bounds.index("\n## ")].split())  # one line: the prose wraps anywhere
    retry = CreatePaymentRequest.model_json_schema()["properties"]["retry_count"]
    stated = [
        f"At most {money.MAX_DIGITS} significant digits, less than 10^{money.MAX_DIGITS} and at most "
        f"{money.MAX_DECIMALS} decimals",
        f"10^{money.MAX_DIGITS} - 1 smallest units: `{money.default_max_amount(6)}` for a 6-decimal token",
        f"`retry_count` {retry['minimum']}-{retry['maximum']}; `page` 1-100000, `per_page` 1-{MAX_PER_PAGE}",
        f"at most {json_codec.MAX_DEPTH} levels of nesting",
        f"1-{models.MAX_TEXT} characters",
        f"`member.address` {models.MAX_ADDRESS_TEXT}; `metadata` {models.MAX_METADATA}",
        f"`payment_address` 10-{models.MAX_TEXT}; `items` 1-{models.MAX_ITEMS}",
        f"at most {MAX_AUTHORIZATION} characters",
    ]
    assert [s for s in stated if s not in bounds] == []


@pytest.mark.parametrize(
    ("literal", "code"), [("1" + "0" * 5000, "less_than_equal"), ("-" + "9" * 5000, "greater_than_equal")]
)
def test_an_integer_literal_of_any_length_is_refused_by_its_bound(literal: str, code: str) -> None:
    text = json_codec.dumps(payload(retry_count=0)).replace('"retry_count":0', f'"retry_count":{literal}')
    assert literal in text
    with pytest.raises(ValidationError) as info:
        CreatePaymentRequest.model_validate(json_codec.loads(text))
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("retry_count",), code)]
