"""API keys in DynamoDB, keyed by their hash."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import boto3

from mediatasks.domain.keys import key_hash, new_api_key
from mediatasks.domain.tasks import now_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class KeyStore:
    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)

    def create(self, project_id: str, key: str | None = None) -> str:
        """Stores a key (a new random one unless given) for the project; returns the key itself."""
        key = key or new_api_key()
        self._table.put_item(
            Item={
                "key_hash": key_hash(key),
                "project_id": project_id,
                "created_at": now_ms(),
                "key_prefix": key[:8],
            },
            ConditionExpression="attribute_not_exists(key_hash)",
        )
        return key

    def project_of(self, key: str) -> str | None:
        digest = key_hash(key)
        item = self._table.get_item(Key={"key_hash": digest}).get("Item")
        if item is None or not hmac.compare_digest(str(item["key_hash"]), digest):
            return None
        return str(item["project_id"])


def add_to_usage_plan(key: str, project_id: str, usage_plan_id: str) -> None:
    """Registers the key's hash as an API Gateway key of the per-key usage plan: the authorizer
    names that hash as the caller's usage-plan key, so API Gateway throttles each key on its own."""
    apigateway = boto3.client("apigateway")
    created = apigateway.create_api_key(
        name=f"mediatasks-{project_id}-{key[:8]}", value=key_hash(key), enabled=True
    )
    apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=created["id"], keyType="API_KEY")
