"""Types shared by the API models: money, timestamps, errors and pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from payments_core import money

DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
"""An amount given as a string: plain decimal notation only (no exponent, no sign but `-`, no spaces)."""

POSITIVE_DECIMAL_PATTERN = r"^([1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$"
"""A positive amount given as a string (`100.50`, `0.000001`; not `0`, `0.0` nor `-1`)."""

_DECIMAL_TEXT = re.compile(DECIMAL_PATTERN)

AMOUNT_DESCRIPTION = (
    "An exact decimal amount: a JSON number (`100.5`, any notation: `1.005e2`) or a string in plain decimal "
    'notation (`"100.50"`), which lets a typed client send it without a binary float. At most '
    f"{money.MAX_DIGITS} significant digits, less than 10^{money.MAX_DIGITS}, at most {money.MAX_DECIMALS} "
    "decimals; the currency's decimals and maximum amount apply too. Answered as a JSON number with its "
    "trailing zeros trimmed (`100.50` -> `100.5`), as it is stored."
)


def _money_in(value: Any) -> Any:
    # JSON bodies are parsed with parse_float=Decimal (and long integers as Decimal: json_codec), so a JSON
    # number arrives as int or Decimal, never as a binary float. A string must be a plain decimal.
    # Booleans are not numbers.
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", 'must be a JSON number or a decimal string such as "100.50"')
    if isinstance(value, str):
        if len(value) > 200 or not _DECIMAL_TEXT.fullmatch(value):
            raise PydanticCustomError(
                "decimal_parsing", 'must be a decimal string such as "100.50" (no exponent, no spaces)'
            )
        return Decimal(value)
    if not isinstance(value, int | Decimal):
        raise PydanticCustomError("decimal_type", 'must be a JSON number or a decimal string such as "100.50"')
    return Decimal(value)


def _stored_exactly(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("finite_number", "must be a finite number")
    problem = money.out_of_bounds(value)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return money.canonical(value)


def _positive(value: Decimal) -> Decimal:
    if not value > 0:
        raise PydanticCustomError("greater_than", "must be greater than 0")
    return value


_AMOUNT_OUT = WithJsonSchema({"type": "number"}, mode="serialization")

Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    AfterValidator(_stored_exactly),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_PATTERN}]}, mode="validation"),
    _AMOUNT_OUT,
]
"""An exact decimal amount, read from the JSON text (or a decimal string) and written back as a number (see
json_codec)."""

PositiveMoney = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    AfterValidator(_stored_exactly),
    AfterValidator(_positive),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": POSITIVE_DECIMAL_PATTERN},
            ]
        },
        mode="validation",
    ),
    _AMOUNT_OUT,
]


_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?P<offset>[Zz]|(?P<sign>[+-])(?P<off_hour>\d{2}):(?P<off_minute>\d{2}))",
    re.ASCII,
)

TIMESTAMP_DESCRIPTION = (
    "RFC 3339 date-time with an offset (`Z` or `±hh:mm`, hours up to 23). A leap second (`:60`) is read as "
    "the next second, as POSIX time does; digits beyond microseconds are dropped. The instant, in UTC, must "
    "lie within 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z"
)


def parse_rfc3339(value: Any) -> datetime:
    """An RFC 3339 date-time (text with a date, a time and an offset: no epoch numbers, no naive times) as an
    aware UTC datetime. Every refusal is a ValueError with a readable message; none overflows."""
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "must be an RFC 3339 date-time string")
    m = _RFC3339.fullmatch(value)
    if m is None:
        raise PydanticCustomError(
            "datetime_parsing", "must be an RFC 3339 date-time with a time zone, e.g. 2030-01-31T23:59:59Z"
        )
    parts = {k: int(v) for k, v in m.groupdict().items() if v is not None and k not in ("offset", "sign", "fraction")}
    fraction = (m["fraction"] or "").ljust(6, "0")[:6]
    second, leap = parts["second"], parts["second"] == 60
    off_hour, off_minute = parts.get("off_hour", 0), parts.get("off_minute", 0)
    if parts["hour"] > 23 or parts["minute"] > 59 or second > 60 or off_hour > 23 or off_minute > 59:
        raise PydanticCustomError("datetime_field", "hour, minute, second or offset out of range")
    try:
        local = datetime(  # naive: the offset is applied below, exactly
            parts["year"],
            parts["month"],
            parts["day"],
            parts["hour"],
            parts["minute"],
            59 if leap else second,
            int(fraction),
        )
    except ValueError:
        raise PydanticCustomError("datetime_field", "no such date (year 0001-9999, a day of that month)") from None
    offset = timedelta(hours=off_hour, minutes=off_minute) * (-1 if m["sign"] == "-" else 1)
    try:
        instant = local - offset + (timedelta(seconds=1) if leap else timedelta(0))
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "must lie within 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in UTC"
        ) from None
    return instant.replace(tzinfo=UTC)


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

RequestTimestamp = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A date-time a request gives: `parse_rfc3339`, aware and in UTC."""


class Model(BaseModel):
    """Every API model: its validator and serializer are built at first use, not at import (cold start)."""

    model_config = ConfigDict(defer_build=True)


class ApiModel(Model):
    """A request model: unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ErrorDetail(Model):
    # extra="forbid": the schema says additionalProperties false, so a field an answer carries and the
    # spec does not declare fails the contract tests (schemathesis, the generated client's).
    model_config = ConfigDict(extra="forbid", defer_build=True)

    field: str = Field(description="Where the problem is: `body.price`, `query.per_page`, `path.id`, ...")
    code: str = Field(description="Stable machine-readable reason, e.g. `missing`, `too_short`, `not_found`")
    message: str


class ErrorBody(Model):
    """Every field an error answer can carry (no other: additionalProperties is false)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    code: str = Field(description="Stable machine-readable error code")
    message: str = Field(description="Human-readable explanation; may change")
    details: list[ErrorDetail] = Field(default_factory=list)
    payment_id: str | None = Field(
        default=None, description="On `payment_already_exists` (409): the id of the existing payment"
    )
    status: str | None = Field(
        default=None,
        description="On a refused cancel or retry-send (400, 409): the payment's status when it was refused",
    )


class ErrorResponse(Model):
    """The one error shape of every 4xx and 5xx answer."""

    error: ErrorBody


def utcnow() -> datetime:
    return datetime.now(UTC)
