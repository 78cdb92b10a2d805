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
