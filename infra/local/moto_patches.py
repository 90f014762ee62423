"""Our patches to moto's DynamoDB and model bookkeeping, for the local stack, the tests and the bench.

moto is faithful to DynamoDB's semantics but was written for short tests, and three of its choices
make a long-running local stack grow without bound and slow down with every write (issue 15 #11):

1. **Every model object is kept for ever.** ``moto.core.common_models.BaseModel.__new__`` appends
   each instance (every DynamoDB item version, SQS message, table copy...) to its class's
   ``instances_tracked`` list, for moto's dashboard. Nothing is ever freed: 200 messages held 8 GB.
   Patched: the lists hold weak references (the dashboard and S3's reset still see live objects).
2. **A transaction deep-copies the whole table, once per item** (``transact_write_items`` keeps a
   snapshot to roll back to), so each write costs O(table) and the copies are never freed (1.).
   The snapshot also loses any write another thread made meanwhile if the transaction is rolled
   back. Patched: a journal of the items the transaction touches (a copy of each before it is
   changed) restores exactly those on cancellation, and one lock serializes DynamoDB operations
   so a transaction is all-or-nothing to every other request, as in DynamoDB.
3. **Every Query reads (and sorts) the whole table** to find one partition. Patched: candidates
   come from the partition itself (table query) or from a map of each global secondary index's
   partition values kept up to date on every write path (index query); moto's own code then
   filters, sorts, pages and projects them exactly as before.

Semantics are moto's (conditions, cancellation reasons, ``ALL_OLD``, validation errors), checked by
tests/integration/test_moto_patches.py. :func:`install` is idempotent; call it before moto is used.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from moto.core import common_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

# One lock for every DynamoDB backend: moto's server answers on many threads and its data
# structures are plain dicts. Reentrant: a transaction calls put/update/delete under it.
DYNAMODB_LOCK = threading.RLock()
_INSTALLED: list[bool] = []


def install() -> None:
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    _track_models_weakly()
    _serialize_dynamodb()
    _index_queries()
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- 1. model tracking
class WeakInstances:
    """What ``instances_tracked`` holds instead of a list: the live instances, weakly referenced."""

    def __init__(self) -> None:
        self._refs: dict[int, weakref.ref[Any]] = {}

    def append(self, instance: Any) -> None:
        key = id(instance)
        # A model class with __slots__ and no __weakref__ cannot be tracked: skip it.
        with contextlib.suppress(TypeError):
            self._refs[key] = weakref.ref(instance, functools.partial(self._forget, key))

    def _forget(self, key: int, _ref: object) -> None:
        self._refs.pop(key, None)

    def __iter__(self) -> Iterator[Any]:
        return iter([obj for ref in list(self._refs.values()) if (obj := ref()) is not None])

    def __len__(self) -> int:
        return len(self._refs)


def _track_models_weakly() -> None:
    base = common_models.BaseModel

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = super(base, cls).__new__(cls)  # type: ignore[misc]
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, WeakInstances):  # first instance, or reset by moto to []
            tracked = WeakInstances()
            cls.instances_tracked = tracked  # type: ignore[attr-defined]
        tracked.append(instance)
        return instance

    base.__new__ = __new__  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- 2. transactions
def _serialize_dynamodb() -> None:
    for name in (
        "put_item",
        "get_item",
        "delete_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
        "transact_get_items",
    ):
        original = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _locked(original))


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return locked


class _Journal:
    """The items a transaction touched, as they were before: undo restores exactly those."""

    def __init__(self) -> None:
        self._before: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._streams: dict[int, tuple[Table, int]] = {}

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        current = _stored_item(table, hash_key, range_key)
        # A copy: an Update changes the stored item in place.
        self._before.append((table, hash_key, range_key, copy.deepcopy(current)))
        if table.stream_shard is not None and id(table) not in self._streams:
            self._streams[id(table)] = (table, len(table.stream_shard.items))

    def undo(self) -> None:
        for table, hash_key, range_key, item in reversed(self._before):
            _store_item(table, hash_key, range_key, item)
        for table, length in self._streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]  # a cancelled transaction emits no records
        self._before.clear()


def _stored_item(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The stored item, without creating an empty partition as ``Table.get_item`` does."""
    partition: Any = table.items.get(hash_key)
    if partition is None:
        return None
    if table.has_range_key:
        return partition.get(range_key)  # type: ignore[no-any-return]
    return partition  # type: ignore[no-any-return]


def _store_item(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Item | None) -> None:
    if table.has_range_key:
        partition: Any = table.items.get(hash_key)
        if item is not None:
            table.items[hash_key][range_key] = item
        elif partition is not None:
            partition.pop(range_key, None)
            if not partition:
                del table.items[hash_key]
    elif item is not None:
        table.items[hash_key] = item  # type: ignore[assignment]
    else:
        table.items.pop(hash_key, None)
    _reindex(table, hash_key, range_key)


class _ConditionFailed(ConditionalCheckFailed):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__(item=item)
        self.old_item = item


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``transact_write_items`` with a journal instead of whole-table snapshots."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    if any(len(item) > 1 for item in transact_items):
        raise TransactWriteSingleOpException  # before anything is written
    with DYNAMODB_LOCK:
        journal = _Journal()
        targets: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        for item in transact_items:
            op_type, op = next(iter(item.items()))
            try:
                _transact_one(self, op_type, op, targets, journal)
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                journal.undo()
                raise
            except _ConditionFailed as exc:
                errors.append(("ConditionalCheckFailed", str(exc.message), exc.old_item))
            except Exception as exc:  # moto reports any other failure as that item's reason
                errors.append((type(exc).__name__, str(exc), None))
        if any(code is not None for code, _, _ in errors):
            journal.undo()
            raise TransactionCanceledException(errors)


def _transact_one(
    self: DynamoDBBackend, op_type: str, op: dict[str, Any], targets: set[tuple[str, str]], journal: _Journal
) -> None:
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    condition_expression = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    table = self.get_table(table_name)
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
    else:
        key = op["Key"]
    unique = (str(table_name), str(dict(sorted(key.items()))))
    if unique in targets:
        raise MultipleTransactionsException()
    targets.add(unique)

    hash_key, range_key = self.get_keys_value(table, key)
    current = _stored_item(table, hash_key, range_key)
    if condition_expression is not None:
        condition = get_filter_expression(condition_expression, names, values)
        if not condition.expr(current):
            all_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
            raise _ConditionFailed(current.to_json()["Attributes"] if all_old else None)  # type: ignore[union-attr]
    if op_type == "ConditionCheck":
        return
    journal.remember(table, hash_key, range_key)
    expression: dict[str, Any] = {
        "condition_expression": condition_expression,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type == "Put":
        self.put_item(table_name, op["Item"], **expression)
    elif op_type == "Delete":
        self.delete_item(table_name, key, **expression)
    else:
        self.update_item(table_name, key, update_expression=op["UpdateExpression"], **expression)


# ----------------------------------------------------------------------------- 3. queries
_ORIGINAL_QUERY = Table.query
PrimaryKey = tuple[DynamoType, DynamoType | None]
_GSI_MAPS: weakref.WeakKeyDictionary[Table, _GsiMaps] = weakref.WeakKeyDictionary()


class _GsiMaps:
    """For each global secondary index with one partition-key attribute: partition value -> the
    primary keys of the items in it. Only a shortlist: moto still checks every condition."""

    def __init__(self, table: Table) -> None:
        self.attributes: dict[str, str] = {}
        for index in table.global_indexes:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1:
                self.attributes[index.name] = hashes[0]
        self.partitions: dict[str, dict[tuple[str, Any], dict[PrimaryKey, None]]] = {}
        self.placed: dict[str, dict[PrimaryKey, tuple[str, Any]]] = {}
        for name in self.attributes:
            self.partitions[name], self.placed[name] = {}, {}
        for item in _every_item(table):
            self.place(item.hash_key, item.range_key, item)

    def place(self, hash_key: DynamoType, range_key: DynamoType | None, item: Item | None) -> None:
        primary = (hash_key, range_key)
        for name, attribute in self.attributes.items():
            before = self.placed[name].pop(primary, None)
            if before is not None:
                members = self.partitions[name].get(before, {})
                members.pop(primary, None)
                if not members:
                    self.partitions[name].pop(before, None)
            value = item.attrs.get(attribute) if item is not None else None
            if value is not None:
                # The value as it is now (an update may change the DynamoType in place later).
                frozen = (value.type, value.cast_value)
                self.partitions[name].setdefault(frozen, {})[primary] = None
                self.placed[name][primary] = frozen

    def members(self, index_name: str, value: DynamoType) -> list[PrimaryKey]:
        return list(self.partitions[index_name].get((value.type, value.cast_value), {}))


def _every_item(table: Table) -> Iterator[Item]:
    partition: Any
    for partition in table.items.values():
        if table.has_range_key:
            yield from partition.values()
        else:
            yield partition


def _reindex(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    maps = _GSI_MAPS.get(table)
    if maps is not None:
        maps.place(hash_key, range_key, _stored_item(table, hash_key, range_key))


def _candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
) -> list[Item] | None:
    """The items a query can match, in ``Table.all_items`` order; None: read the whole table."""
    if index_name is None:
        if hash_key is None:
            return None
        partition: Any = table.items.get(hash_key)
        found: list[Item] = []
        if partition is not None:
            found = list(partition.values()) if table.has_range_key else [partition]
    else:
        maps = _GSI_MAPS.get(table)
        if maps is None:
            maps = _GSI_MAPS[table] = _GsiMaps(table)
        attribute = maps.attributes.get(index_name)
        conditions = dict(hash_key_conditions or [])
        if attribute is None or attribute not in conditions:
            return None  # a local index or a multi-attribute key: moto's own path
        found = [
            item
            for primary in maps.members(index_name, conditions[attribute])
            if (item := _stored_item(table, *primary)) is not None
        ]
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _index_queries() -> None:
    original_put, original_delete = Table.put_item, Table.delete_item

    def query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
            candidates = _candidates(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
            if candidates is None:
                return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
            # moto's query starts from self.all_items(): hand it the shortlist for this call only.
            self.all_items = lambda: candidates  # type: ignore[method-assign]
            try:
                return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
            finally:
                del self.all_items

    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item: Item = original_put(self, *args, **kwargs)
        _reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            _reindex(self, hash_key, range_key)

    original_update = DynamoDBBackend.update_item

    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:  # an update changes the stored item in place, even when it fails half-way
            table = self.tables.get(table_name)
            if table is not None and table.hash_key_attr in key:
                hash_key, range_key = self.get_keys_value(table, key)
                _reindex(table, hash_key, range_key)

    def forget_indexes(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with DYNAMODB_LOCK:
                try:
                    return method(self, *args, **kwargs)
                finally:  # indexes added or removed: rebuild the maps at the next query
                    for table in self.tables.values():
                        _GSI_MAPS.pop(table, None)

        return wrapper

    Table.query = query  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _locked(update_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_table = forget_indexes(DynamoDBBackend.update_table)  # type: ignore[method-assign]
