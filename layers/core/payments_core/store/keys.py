"""The signing key (Secrets Manager, staged versions) and the public JWKS (SSM parameter).

Secrets Manager's own staging labels carry the rotation: AWSCURRENT signs, AWSPREVIOUS still
verifies, AWSPENDING is published before it ever signs. See domain/keys.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient


class AwsSigningKeyStore:
    """Implements payments_core.domain.stores.SigningKeyStore."""

    def __init__(
        self,
        secrets: SecretsManagerClient | None,
        ssm: SSMClient | None,
        *,
        secret_id: str = "",
        jwks_parameter: str = "",
    ) -> None:
        """`secrets` and `secret_id` for the signing key's versions, `ssm` and `jwks_parameter` for the
        published JWKS: a function that uses one side only is given only that one."""
        self._sm = secrets
        self._ssm = ssm
        self._secret_id = secret_id
        self._param = jwks_parameter

    # -- secret versions
    def read(self, *, stage: str | None = None, version_id: str | None = None) -> Any:
        return self.read_dated(stage=stage, version_id=version_id)[0]

    def read_dated(self, *, stage: str | None = None, version_id: str | None = None) -> tuple[Any, datetime | None]:
        """A version's value (None when absent or not JSON) and when the version was made."""
        assert self._sm is not None
        kwargs: dict[str, Any] = {"SecretId": self._secret_id}
        if version_id:
            kwargs["VersionId"] = version_id
        if stage:
            kwargs["VersionStage"] = stage
        try:
            resp = self._sm.get_secret_value(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None, None
            raise
        created = resp.get("CreatedDate")
        try:
            return json.loads(resp.get("SecretString") or "null"), created
        except ValueError:
            return None, created

    def stages(self) -> dict[str, list[str]]:
        """version id -> its staging labels."""
        assert self._sm is not None
        resp = self._sm.describe_secret(SecretId=self._secret_id)
        return {k: list(v) for k, v in resp.get("VersionIdsToStages", {}).items()}

    def put_pending(self, version_id: str, value: dict[str, Any]) -> None:
        assert self._sm is not None
        self._sm.put_secret_value(
            SecretId=self._secret_id,
            ClientRequestToken=version_id,
            SecretString=json.dumps(value),
            VersionStages=["AWSPENDING"],
        )

    def promote(self, version_id: str, current_version_id: str | None) -> None:
        """Make `version_id` AWSCURRENT; Secrets Manager moves the old one to AWSPREVIOUS."""
        assert self._sm is not None
        kwargs: dict[str, Any] = {
            "SecretId": self._secret_id,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": version_id,
        }
        if current_version_id:
            kwargs["RemoveFromVersionId"] = current_version_id
        self._sm.update_secret_version_stage(**kwargs)
        self._sm.update_secret_version_stage(
            SecretId=self._secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version_id
        )

    def remove_stage(self, stage: str, version_id: str) -> None:
        """Take a staging label off a version (AWSPREVIOUS, when the previous key is retired)."""
        assert self._sm is not None
        self._sm.update_secret_version_stage(
            SecretId=self._secret_id, VersionStage=stage, RemoveFromVersionId=version_id
        )

    # -- published public keys
    def read_jwks(self) -> dict[str, Any]:
        assert self._ssm is not None
        try:
            resp = self._ssm.get_parameter(Name=self._param)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ParameterNotFound":
                return {"keys": []}
            raise
        value: dict[str, Any] = json.loads(resp["Parameter"]["Value"])
        return value

    def write_jwks(self, jwks: dict[str, Any]) -> None:
        assert self._ssm is not None
        self._ssm.put_parameter(Name=self._param, Value=json.dumps(jwks), Type="String", Overwrite=True)
