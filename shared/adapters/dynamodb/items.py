"""Mapping between domain models and DynamoDB items (keys live in keys.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

from shared.adapters.dynamodb.schema import key_attributes

M = TypeVar("M", bound=BaseModel)

# The item's kind. Not "type": domain models have fields called type (a ticket's request type).
ENTITY = "entity"

# Bookkeeping attributes that are not part of any domain model.
META_ATTRIBUTES = frozenset({*key_attributes(), ENTITY, "version", "expires_at", "delivery_rank"})


def to_item(model: BaseModel, kind: str, keys: dict[str, str], version: int | None = None) -> dict[str, Any]:
    """A domain model as an item: JSON-mode dump (Decimal -> str, datetime -> ISO) plus keys."""
    item: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    item.update(keys)
    item[ENTITY] = kind
    if version is not None:
        item["version"] = version
    return item


def _plain(value: Any) -> Any:
    """The resource layer returns every number as Decimal; domain ints want ints back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: dict[str, Any], model: type[M]) -> M:
    fields = {k: _plain(v) for k, v in item.items() if k not in META_ATTRIBUTES}
    return model.model_validate(fields)


def version_of(item: dict[str, Any]) -> int:
    return int(item.get("version", 0))


_DATETIME = TypeAdapter(datetime)


def iso_json(moment: datetime) -> str:
    """A datetime exactly as to_item stores it (pydantic's JSON form), for update expressions."""
    return str(_DATETIME.dump_python(moment, mode="json"))
