"""The team configuration in the single table (docs/data-model.md, "Team configuration").

One partition, ``CONFIG``: the document in force per kind at ``CURRENT#<kind>`` (a handful of
items, all read by one Query) and every version ever written at ``HISTORY#<kind>#<version>``
(who changed what, and the text to restore). A write is one transaction: the current item,
guarded by the version the editor read (optimistic concurrency), and its history entry.
A reset to the defaults is a version like any other, without a document, so versions only grow
and a history entry is never overwritten. No Scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.dynamodb.items import iso_json
from shared.adapters.dynamodb.operations import TableOperations
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.config_ports import StoredDocument
from shared.domain.errors import Conflict

CONFIG_PK = "CONFIG"
CURRENT_PREFIX = "CURRENT#"
HISTORY_PREFIX = "HISTORY#"


def current_sk(kind: str) -> str:
    return f"{CURRENT_PREFIX}{kind}"


def history_sk(kind: str, version: int) -> str:
    return f"{HISTORY_PREFIX}{kind}#{version:08d}"


class DynamoConfigStore(TableOperations):
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    def current(self) -> list[StoredDocument]:
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": CONFIG_PK, ":prefix": CURRENT_PREFIX},
        )
        return [_document(item) for item in response.get("Items", [])]

    def get(self, kind: str) -> StoredDocument | None:
        item = self._table.get_item(
            Key={PARTITION_KEY: CONFIG_PK, SORT_KEY: current_sk(kind)}, ConsistentRead=True
        ).get("Item")
        return _document(item) if item else None

    def history(self, kind: str, limit: int) -> list[StoredDocument]:
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": CONFIG_PK, ":prefix": f"{HISTORY_PREFIX}{kind}#"},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_document(item) for item in response.get("Items", [])]

    def write(
        self, kind: str, document: str | None, expected_version: int, by: str, at: datetime
    ) -> StoredDocument:
        version = expected_version + 1
        fields: dict[str, Any] = {
            "kind": kind,
            "version": version,
            "updated_at": iso_json(at),
            "updated_by": by,
        }
        if document is not None:
            fields["document"] = document
        current = {PARTITION_KEY: CONFIG_PK, SORT_KEY: current_sk(kind), "entity": "config", **fields}
        history = {
            PARTITION_KEY: CONFIG_PK,
            SORT_KEY: history_sk(kind, version),
            "entity": "config_history",
            "action": "saved" if document is not None else "reset",
            **fields,
        }
        if expected_version == 0:
            guard = self._put(current, f"attribute_not_exists({PARTITION_KEY})")
        else:
            guard = self._put(current, "version = :expected", {":expected": expected_version})
        try:
            self._transact([guard, self._put(history, f"attribute_not_exists({PARTITION_KEY})")])
        except Conflict as error:
            stored = self.get(kind)
            now_at = stored.version if stored else 0
            raise Conflict(
                f"the {kind.replace('_', ' ')} changed since version {expected_version} "
                f"(now version {now_at}): read it again and apply your change to that version"
            ) from error
        return StoredDocument(kind=kind, version=version, document=document, updated_at=at, updated_by=by)


def _document(item: dict[str, Any]) -> StoredDocument:
    updated_at = item.get("updated_at")
    return StoredDocument(
        kind=str(item["kind"]),
        version=int(item["version"]),
        document=str(item["document"]) if "document" in item else None,
        updated_at=datetime.fromisoformat(str(updated_at).replace("Z", "+00:00")) if updated_at else None,
        updated_by=str(item["updated_by"]) if item.get("updated_by") else None,
        action=str(item["action"]) if item.get("action") else None,
    )
