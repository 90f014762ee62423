"""The transaction helpers every store of the single table uses (defined once)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import to_item
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.domain.common import iso
from shared.domain.errors import Duplicate, IdentityTaken, StaleWrite
from shared.domain.timeline import TimelineEntry


class TableOperations:
    """Builds TransactWriteItems entries for the table named ``_name`` and runs them on ``_client``."""

    _name: str
    _client: Any

    def _put(
        self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._name, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _update(
        self,
        item_keys: dict[str, str],
        expression: str,
        condition: str | None,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": item_keys,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if condition:
            update["ConditionExpression"] = condition
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    @staticmethod
    def _timeline_item(customer_id: str, entry: TimelineEntry) -> dict[str, Any]:
        """A customer's timeline entry: one timeline per customer, whichever store writes it."""
        return to_item(
            entry,
            "timeline",
            {
                PARTITION_KEY: keys.customer_pk(customer_id),
                SORT_KEY: keys.timeline_sk(iso(entry.at), entry.event_id),
            },
        )

    def _transact(
        self,
        operations: list[dict[str, Any]],
        dedup_key: str | None = None,
        identities: list[tuple[str, str]] | None = None,
    ) -> None:
        """Run a transaction; its first operation is the dedup record when ``dedup_key`` is set,
        followed by one identity claim per entry of ``identities``. Cancellation reasons become
        Duplicate, IdentityTaken or StaleWrite (a Conflict)."""
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            failed = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
            if dedup_key and failed and failed[0] == "ConditionalCheckFailed":
                raise Duplicate(dedup_key) from error
            offset = 1 if dedup_key else 0
            taken = [
                identity
                for position, identity in enumerate(identities or [], start=offset)
                if position < len(failed) and failed[position] == "ConditionalCheckFailed"
            ]
            if taken:
                raise IdentityTaken(taken) from error
            if any(c in ("ConditionalCheckFailed", "TransactionConflict") for c in failed):
                raise StaleWrite("a concurrent write changed the records; re-read and retry") from error
            raise
