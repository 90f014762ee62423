"""Count AWS calls, DynamoDB items and capacity units, by wrapping botocore's API entry point.

Capacity units are computed from item sizes the way DynamoDB bills them (reads: 4 KB units,
eventually consistent = half; writes: 1 KB units, transactions = double; each GSI whose keys the
item carries costs its own write units), because moto does not report consumed capacity.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.client import BaseClient

from shared.adapters.dynamodb.schema import INDEXES


def _value_size(value: Any) -> int:
    """DynamoDB's documented sizing: strings by UTF-8 length, numbers about one byte per two
    significant digits plus one, booleans and nulls one byte, lists and maps three bytes plus one
    per element (and their names)."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(value).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(_value_size(v) + 1 for v in value)
    return len(str(value).encode())


def _size(item: dict[str, Any]) -> int:
    """The item's size as DynamoDB bills it: each attribute's name plus its value."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _gsis(item: dict[str, Any], touched: set[str] | None = None) -> int:
    """Indexes a write to ``item`` must update: those whose keys it carries and, for an update,
    whose keys or projected attributes the update touches (ALL projection: any attribute)."""
    count = 0
    for idx in INDEXES:
        if idx.partition_key not in item or idx.sort_key not in item:
            continue
        if (
            touched is None
            or idx.projection is None
            or touched & {idx.partition_key, idx.sort_key, *idx.projection}
        ):
            count += 1
    return count


def _write_units(item: dict[str, Any], touched: set[str] | None = None) -> float:
    units = math.ceil(_size(item) / 1024)
    return units * (1 + _gsis(item, touched))


_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b")


def _touched(update: dict[str, Any]) -> set[str]:
    """Top-level attributes an UpdateExpression writes (``#name`` placeholders resolved)."""
    names = update.get("ExpressionAttributeNames", {})
    parts = _CLAUSE.split(update["UpdateExpression"])
    touched: set[str] = set()
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        for action in body.split(","):
            target = action.split("=", 1)[0] if keyword == "SET" else action.strip().split(" ", 1)[0]
            root = re.split(r"[.\[]", target.strip(), maxsplit=1)[0]
            if root:
                touched.add(names.get(root, root))
    return touched


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    read_units: float = 0.0
    items_written: int = 0
    write_units: float = 0.0

    def add(self, other: Tally) -> None:
        self.calls.update(other.calls)
        self.items_read += other.items_read
        self.read_units += other.read_units
        self.items_written += other.items_written
        self.write_units += other.write_units


class _Recorder:
    def __init__(self) -> None:
        self.tally = Tally()
        self._original = BaseClient._make_api_call

    def call(self, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        self.tally.calls[f"{service}:{operation}"] += 1
        response = self._original(client, operation, params)
        if service == "dynamodb":
            self._dynamodb(client, operation, params, response)
        return response

    def _dynamodb(self, client: BaseClient, operation: str, params: dict[str, Any], response: Any) -> None:
        t = self.tally
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            item = response.get("Item")
            t.items_read += 1 if item else 0
            t.read_units += max(1, math.ceil(_size(item or {}) / 4096)) * factor
        elif operation == "Query":
            items = response.get("Items", [])
            t.items_read += len(items)
            t.read_units += max(1, math.ceil(sum(_size(i) for i in items) / 4096)) * factor
        elif operation == "PutItem":
            t.items_written += 1
            t.write_units += _write_units(params["Item"])
        elif operation == "UpdateItem":
            t.items_written += 1
            after = self._read_back(client, params)
            t.write_units += _write_units(after, _touched(params))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                t.items_written += 1
                if "Put" in entry:
                    t.write_units += 2 * _write_units(entry["Put"]["Item"])
                elif "Update" in entry:
                    after = self._read_back(client, entry["Update"])
                    t.write_units += 2 * _write_units(after, _touched(entry["Update"]))

    def _read_back(self, client: BaseClient, update: dict[str, Any]) -> dict[str, Any]:
        """An updated item's size decides its cost: read it back, outside the tally."""
        got = self._original(client, "GetItem", {"TableName": update["TableName"], "Key": update["Key"]})
        item: dict[str, Any] = got.get("Item", {})
        return item


@contextmanager
def counting() -> Iterator[Tally]:
    recorder = _Recorder()

    def wrapped(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        return recorder.call(client, operation, params)

    BaseClient._make_api_call = wrapped  # type: ignore[method-assign]
    try:
        yield recorder.tally
    finally:
        BaseClient._make_api_call = recorder._original  # type: ignore[method-assign]
