"""One alert per event: conditional puts into a DynamoDB table with a TTL."""
from __future__ import annotations

import hashlib
import time
from typing import Any, Callable

# EventBridge retries for up to 24 hours and Lambda async retries for up to 6;
# two days covers both with margin.
DEFAULT_TTL_SECONDS = 2 * 24 * 3600
# DynamoDB allows a partition key of up to 2,048 bytes; longer keys are stored as a digest.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html (partition key length)
_KEY_BYTES = 1024


def stored_key(key: str) -> str:
    """The key as stored: itself when short, else its prefix and a SHA-256 digest of the whole."""
    if len(key.encode("utf-8")) <= _KEY_BYTES:
        return key
    return "%s:sha256:%s" % (key.split(":", 1)[0], hashlib.sha256(key.encode("utf-8")).hexdigest())


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
                Item={"event_id": {"S": stored_key(key)}, "expires_at": {"N": str(now + self.ttl_seconds)}},
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
                               Item={"event_id": {"S": stored_key(key)}, "expires_at": {"N": "0"}})
