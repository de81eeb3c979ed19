"""One alert per event: conditional puts into a DynamoDB table with a TTL."""
from __future__ import annotations

import time
from typing import Any, Callable

# EventBridge retries for up to 24 hours and Lambda async retries for up to 6;
# two days covers both with margin.
DEFAULT_TTL_SECONDS = 2 * 24 * 3600


class Deduplicator:
    """Claims keys in a table whose string hash key is ``event_id`` and TTL attribute ``expires_at``."""

    def __init__(self, dynamodb_client: Any, table_name: str, ttl_seconds: int = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.dynamodb = dynamodb_client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def claim(self, key: str) -> bool:
        """True when this call is the first to claim the key; False for a repeat."""
        now = int(self.clock())
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={"event_id": {"S": key}, "expires_at": {"N": str(now + self.ttl_seconds)}},
                # TTL deletion lags by up to two days, so an expired item counts as absent.
                ConditionExpression="attribute_not_exists(event_id) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, key: str) -> None:
        """Forget a claim so a retry after a failed publish can send the alert.

        The claim is overwritten as already expired rather than deleted, so the
        function needs dynamodb:PutItem only."""
        self.dynamodb.put_item(TableName=self.table_name,
                               Item={"event_id": {"S": key}, "expires_at": {"N": "0"}})
