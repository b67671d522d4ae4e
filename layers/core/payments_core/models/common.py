"""Types shared by the API models: money, timestamps, errors and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
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

from payments_core.money import MAX_DIGITS


def _money_in(value: Any) -> Any:
    # JSON bodies are parsed with parse_float=Decimal, so a JSON number arrives as int or Decimal,
    # never as a binary float. Strings and booleans are not numbers.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON number")
    return Decimal(value)


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if len(value.normalize(Context(prec=100)).as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"must have at most {MAX_DIGITS} significant digits")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    AfterValidator(_finite),
    WithJsonSchema({"type": "number"}),
]
"""An exact decimal amount, read from the JSON text and written back unchanged (see json_codec)."""

PositiveMoney = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    AfterValidator(_finite),
    Field(gt=0),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


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
