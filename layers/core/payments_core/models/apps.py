"""NoRamp's app API models: an app (the seed's `app` object, `004_af29f1cb335c66ee.txt`) and its API keys."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StringConstraints, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from payments_core import money
from payments_core.models.common import DECIMAL_PATTERN, ApiModel, Model, Money, Timestamp


class AppType(StrEnum):
    INDIVIDUAL = "individual"
    MARKETPLACE = "marketplace"


class AppStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"  # set by DELETE /apps/{app_id} only


class ThemeVisibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class AppKeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


# A status a request may set: every one but `deleted` (DELETE /apps/{app_id} deletes).
SettableStatus = Literal["draft", "submitted", "active", "disabled"]

MAX_TEXT = 255
MAX_URL = 2048
APP_FEE_DECIMALS = 2

AppName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
ReturnUrl = Annotated[str, StringConstraints(max_length=MAX_URL, pattern=r"^https?://[^\s/?#]+[^\s]*$")]

_COLOUR = re.compile(
    r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
    r"|(?:rgb|rgba|hsl|hsla)\([0-9.,%\s/+-]{1,60}\)"
    r"|[a-zA-Z]{3,30}",
    re.ASCII,
)
COLOUR_DESCRIPTION = "A CSS colour: `#rgb`, `#rrggbb` (with alpha: 4 or 8 digits), `rgb(...)`, `hsl(...)` or a name"


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise PydanticCustomError("colour_invalid", "must be a CSS colour such as #1a2b3c, rgb(0, 0, 0) or white")
    return value


Colour = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=80),
    AfterValidator(_colour),
]


def _percent(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("greater_than_equal", "must be at least 0")
    if value > 100:
        raise PydanticCustomError("less_than_equal", "must be at most 100")
    if money.decimals_of(value) > APP_FEE_DECIMALS:
        raise PydanticCustomError("too_many_decimals", f"must have at most {APP_FEE_DECIMALS} decimals")
    return value


AppFee = Annotated[
    Money,
    AfterValidator(_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 100},
                {"type": "string", "pattern": DECIMAL_PATTERN},
            ]
        },
        mode="validation",
    ),
]
APP_FEE_DESCRIPTION = (
    "The app's fee, a percent of each price (0 to 100, at most 2 decimals): a JSON number or a decimal string "
    '(`2.5`, `"2.50"`), read exactly (never a binary float)'
)


# ---------------------------------------------------------------------------------------------- requests
class ThemeColorsIn(ApiModel):
    primary: Colour = Field(description=COLOUR_DESCRIPTION)
    background: Colour = Field(description=COLOUR_DESCRIPTION)
    text: Colour = Field(description=COLOUR_DESCRIPTION)
    accent: Colour = Field(description=COLOUR_DESCRIPTION)
    alternativeBackground: Colour = Field(description=COLOUR_DESCRIPTION)
    info: Colour = Field(description=COLOUR_DESCRIPTION)


class ThemeStylesIn(ApiModel):
    colors: ThemeColorsIn


class ThemeIn(ApiModel):
    name: ShortText
    styles: ThemeStylesIn
    visibility: ThemeVisibility = ThemeVisibility.PUBLIC


class AppUserIn(ApiModel):
    """The app's owner as shown (`user`); its `id` is always the creating integration's client id."""

    username: ShortText
    first_name: ShortText | None = None
    last_name: ShortText | None = None


CREATE_APP_EXAMPLE: dict[str, Any] = {
    "node_id": "00000000-0000-4000-8000-00000000000a",  # models.payments.EXAMPLE_IDS' node: put your node's
    "name": "Demo shop",
    "type": "individual",
    "app_fee": 0,
}


class CreateAppRequest(ApiModel):
    """A new app of a node the integration reaches."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [CREATE_APP_EXAMPLE]}
    )

    node_id: UUID = Field(description="The app's node: the integration's own node or one below it")
    name: AppName = Field(description=f"1 to {MAX_TEXT} characters, surrounding spaces trimmed")
    type: AppType = AppType.INDIVIDUAL
    status: SettableStatus = Field(default="draft", description="Any status but `deleted` (use DELETE)")
    kyc_return_url: ReturnUrl | None = Field(
        default=None, description=f"Where KYC returns the seller: an http(s) URL of at most {MAX_URL} characters"
    )
    use_explorer: StrictBool = False
    app_fee: AppFee = Field(default=Decimal(0), description=APP_FEE_DESCRIPTION, json_schema_extra={"default": 0})
    theme: ThemeIn | None = None
    user: AppUserIn | None = Field(
        default=None, description="The owner's names; by default the integration's name as `username`"
    )
    featured: StrictBool = False


_NOT_NULL = ("name", "type", "status", "use_explorer", "app_fee", "user", "featured")


def _not_nullable(schema: dict[str, Any]) -> None:
    """The fields that may be absent but not null are documented so (their `| None` is the absence only); the
    spec's example."""
    for name in _NOT_NULL:
        prop = schema["properties"][name]
        variants = [v for v in prop.pop("anyOf", []) if v != {"type": "null"}]
        if len(variants) == 1:
            prop.update(variants[0])
        elif variants:
            prop["anyOf"] = variants
        prop.pop("default", None)
    schema["examples"] = [{"status": "active", "app_fee": 1.5}]


class UpdateAppRequest(ApiModel):
    """A change of an app: any field of the create but `node_id` (an app never moves). An absent field is
    left as it is; `kyc_return_url` and `theme` may be set to null (removed), the others may not be null."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        defer_build=True,
        json_schema_extra=_not_nullable,
    )

    name: AppName | None = Field(default=None, description=f"1 to {MAX_TEXT} characters")
    type: AppType | None = None
    status: SettableStatus | None = Field(default=None, description="Any status but `deleted` (use DELETE)")
    use_explorer: StrictBool | None = None
    app_fee: AppFee | None = Field(default=None, description=APP_FEE_DESCRIPTION)
    user: AppUserIn | None = None
    featured: StrictBool | None = None
    kyc_return_url: ReturnUrl | None = Field(default=None, description="null removes it")
    theme: ThemeIn | None = Field(default=None, description="null removes it; a changed theme keeps its id")

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "may be left out, but not null")
        return value


class CreateAppKeyRequest(ApiModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [{"name": "shop backend"}]}
    )

    name: ShortText | None = Field(default=None, description=f"A label, at most {MAX_TEXT} characters")


# ---------------------------------------------------------------------------------------------- answers
class Permissions(Model):
    """What the caller may do with the app (docs/api.md, "Apps": the rule)."""

    can_view: bool
    can_edit: bool
    can_delete: bool
    can_edit_members: bool


class AppUser(Model):
    id: str
    username: str
    first_name: str | None
    last_name: str | None


class ThemeColors(Model):
    primary: str
    background: str
    text: str
    accent: str
    alternativeBackground: str  # NoRamp's name
    info: str


class ThemeStyles(Model):
    colors: ThemeColors


class ThemeResponse(Model):
    id: str = Field(description="`thm_` and 32 hex digits")
    name: str
    created_at: Timestamp
    updated_at: Timestamp
    styles: ThemeStyles
    visibility: ThemeVisibility


class AppResponse(Model):
    """NoRamp's `app` object, with `permissions` and `is_member` computed for the caller."""

    id: str = Field(description="`app_` and 32 hex digits")
    name: str
    type: AppType
    status: AppStatus
    kyc_return_url: str | None
    use_explorer: bool
    permissions: Permissions
    app_fee: Annotated[Decimal, WithJsonSchema({"type": "number"})] = Field(
        description="Percent of each price that goes to the app: a JSON number written from the exact decimal"
    )
    user: AppUser
    is_member: bool = Field(
        description="The caller belongs to the app itself: its own API key, or an integration of the app's own "
        "node (an integration of a node above reaches and manages the app without being a member)"
    )
    featured: bool
    created_at: Timestamp
    updated_at: Timestamp
    theme: ThemeResponse | None


class AppKeyResponse(Model):
    """An API key as listed: never the key itself (only its hash is kept)."""

    id: str = Field(description="`key_` and 16 hex digits: also the key's second part (`nrk_<hex>_...`)")
    app_id: str
    name: str | None
    status: AppKeyStatus
    created_at: Timestamp
    revoked_at: Timestamp | None


class AppKeyCreated(AppKeyResponse):
    key: str = Field(
        description="The API key, shown this once (only its SHA-256 is stored): send it as `Authorization: "
        "Bearer <key>`, `Authorization: Basic <key>` or `x-api-key: <key>`"
    )


class AppKeyList(Model):
    items: list[AppKeyResponse]
    page: int
    per_page: int
    total: int = Field(description="Exact number of the app's keys (revoked ones included)")
