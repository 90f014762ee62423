"""The transaction helpers every store of the single table uses (defined once)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import to_item
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.domain.common import iso
from shared.domain.errors import Conflict, Duplicate, IdentityTaken, StaleWrite
from shared.domain.timeline import TimelineEntry

BATCH_GET_MAX = 100  # DynamoDB's BatchGetItem limit


class TableOperations:
    """Builds TransactWriteItems entries for the table named ``_name`` and runs them on ``_client``."""

    _name: str
    _client: Any

    def _read_by_keys(
        self, item_keys: list[dict[str, str]], projection: str | None = None
    ) -> list[dict[str, Any]]:
        """BatchGetItem (the resource's client (de)serialises values), retrying unprocessed keys;
        what is found, in no particular order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(item_keys), BATCH_GET_MAX):
            request: dict[str, Any] = {"Keys": item_keys[start : start + BATCH_GET_MAX]}
            if projection:
                request["ProjectionExpression"] = projection
            pending: dict[str, Any] = {self._name: request}
            for _ in range(8):
                response = self._client.batch_get_item(RequestItems=pending)
                found += response.get("Responses", {}).get(self._name, [])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise Conflict("DynamoDB kept keys unprocessed; retry later")
        return found

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
