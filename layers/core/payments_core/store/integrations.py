"""An integration's status in the catalog, read and written alone: the integrator authorizer reads only
`status` (GetItem with a projection, under a `dynamodb:LeadingKeys` condition on `integration#*`), the
operator CLI disables and enables (a conditional UpdateItem: never creates an entry).

Kept apart from store.catalog so that the authorizer imports neither the catalog store nor its codec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoIntegrationStatusStore:
    """Implements payments_core.domain.stores.IntegrationStatusStore on the catalog table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def status(self, integration_id: str) -> str | None:
        """The integration's status, None when there is no such integration."""
        resp = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"integration#{integration_id}"}},
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
        )
        item = resp.get("Item")
        if item is None:
            return None
        return item.get("status", {}).get("S", "active")

    def set_status(self, integration_id: str, status: str) -> bool:
        """Set the status of an existing integration; False when there is none."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"integration#{integration_id}"}},
                UpdateExpression="SET #s = :s",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
