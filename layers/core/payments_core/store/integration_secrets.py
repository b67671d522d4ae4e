"""Integrations' client-secret hashes, in a table of their own (IntegrationSecretsTable) that only the token
endpoint reads: the catalog, which every function reads parts of, holds no hash.

Keyed like the integration's catalog entry (`pk = integration#<client id>`), so that the token endpoint reads
both in one BatchGetItem and one `dynamodb:LeadingKeys` pattern (`integration#*`) covers both tables' keys.
See docs/decisions/integration-secrets-table.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from payments_core.domain.stores import SecretHashExists
from payments_core.store.batch import PendingRead, TableRead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def secret_key(client_id: str) -> str:
    return f"integration#{client_id}"


class DynamoSecretHashStore:
    """Implements payments_core.domain.stores.SecretHashStore on the integration secrets table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def put_new(self, client_id: str, secret_hash: str) -> None:
        """Store a new integration's hash; never overwrites one (a client id is written once)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={"pk": {"S": secret_key(client_id)}, "secret_hash": {"S": secret_hash}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise SecretHashExists(f"integration {client_id} already has a secret") from None
            raise

    def read_hash(self, client_id: str) -> PendingRead[str | None]:
        """The hash, as a pending read (the token endpoint makes it together with the catalog's, `read_both`)."""

        def answer(items: list[dict[str, dict[str, str]]]) -> str | None:
            return items[0]["secret_hash"]["S"] if items else None

        read = TableRead([{"pk": {"S": secret_key(client_id)}}], projection="secret_hash")
        return PendingRead(answer, self._db, self._table, read)
