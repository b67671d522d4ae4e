"""Integrator authentication models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from payments_core.models.common import ApiModel, Model


class TokenRequest(ApiModel):
    # The spec's example: an integration's credentials (the local stack's: `.dev/demo.json` integrations.root).
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        defer_build=True,
        json_schema_extra={"examples": [{"client_id": "CLIENT_ID", "client_secret": "CLIENT_SECRET"}]},
    )

    client_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenResponse(Model):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires")


class Jwk(Model):
    kty: str
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None
    kid: str
    use: str = "sig"
    alg: str


class Jwks(Model):
    keys: list[Jwk]
