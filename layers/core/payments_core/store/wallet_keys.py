"""Signing keys of the platform's custodial wallets: one Secrets Manager secret per wallet
(`<prefix><wallet id>`, the 0x-hex private key). Read on first use and kept in memory only; never
written to DynamoDB, the environment or a log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from payments_core.domain.chain_work import ChainError, ChainFailure

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class WalletKeyMissing(ChainError):
    """No secret for the wallet: terminal for its payment's chain work (an operator stores the key, then the
    integrator retries)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reverted=False, reason=ChainFailure.NO_SIGNING_KEY)


class WalletKeyStore:
    def __init__(self, client: SecretsManagerClient, prefix: str) -> None:
        self._sm = client
        self._prefix = prefix
        self._keys: dict[str, str] = {}

    def secret_id(self, wallet_id: str) -> str:
        return f"{self._prefix}{wallet_id}"

    def private_key(self, wallet_id: str) -> str:
        if wallet_id not in self._keys:
            try:
                value = self._sm.get_secret_value(SecretId=self.secret_id(wallet_id))["SecretString"]
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                    raise WalletKeyMissing(f"no signing key for wallet {wallet_id}") from None
                raise
            self._keys[wallet_id] = value.strip()
        return self._keys[wallet_id]

    def put(self, wallet_id: str, private_key: str) -> None:
        """Store a wallet's key (operator CLI, local stack)."""
        self._sm.create_secret(Name=self.secret_id(wallet_id), SecretString=private_key)
