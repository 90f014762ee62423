"""The transaction item builders every store of the single table uses (defined once)."""

from __future__ import annotations

from typing import Any


class TableOperations:
    """Builds TransactWriteItems entries for the table named ``_name``."""

    _name: str

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
