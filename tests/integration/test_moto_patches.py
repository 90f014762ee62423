"""Our moto patches (infra/local/moto_patches.py) keep DynamoDB's semantics and drop moto's costs.

Transactions stay all-or-nothing with their condition checks and cancellation reasons; a write no
longer copies the table; model objects are freed; a Query answers from the partition (or the
index partition) it names, and gives exactly what moto's whole-table path gives.
"""

from __future__ import annotations

import contextlib
import gc
import random
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from infra.local import moto_patches
from shared.adapters.dynamodb.schema import create_table_kwargs

TABLE = "patched"


@pytest.fixture
def ddb() -> Any:
    moto_patches.install()  # tests/conftest.py does it too; the test must not depend on that
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3")
        client.create_table(**create_table_kwargs(TABLE))
        yield client


def _put(client: Any, pk: str, sk: str, **attrs: str | int) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in attrs.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    client.put_item(TableName=TABLE, Item=item)


def _get(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")  # type: ignore[no-any-return]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _transaction(fail_check: bool) -> list[dict[str, Any]]:
    """A new item, a counter increment, a delete, and a condition check that passes or not."""
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"pk": {"S": "T#1"}, "sk": {"S": "NEW"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": _key("T#1", "COUNTER"),
                "UpdateExpression": "ADD n :one SET label = :label",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":label": {"S": "changed"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": _key("T#1", "GONE")}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": _key("T#1", "GUARD"),
                "ConditionExpression": "#s = :open",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":open": {"S": "closed" if fail_check else "open"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]


def _seed(client: Any) -> None:
    _put(client, "T#1", "COUNTER", n=41, label="before")
    _put(client, "T#1", "GONE", note="still here")
    _put(client, "T#1", "GUARD", status="open")


def test_a_cancelled_transaction_changes_nothing_and_says_which_check_failed(ddb: Any) -> None:
    _seed(ddb)
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=_transaction(fail_check=True))
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["status"] == {"S": "open"}  # ALL_OLD
    assert _get(ddb, "T#1", "NEW") is None
    assert _get(ddb, "T#1", "COUNTER") == {
        "pk": {"S": "T#1"},
        "sk": {"S": "COUNTER"},
        "n": {"N": "41"},
        "label": {"S": "before"},
    }
    assert _get(ddb, "T#1", "GONE") is not None


def test_a_transaction_whose_checks_pass_applies_every_item(ddb: Any) -> None:
    _seed(ddb)
    ddb.transact_write_items(TransactItems=_transaction(fail_check=False))
    assert _get(ddb, "T#1", "NEW") is not None
    counter = _get(ddb, "T#1", "COUNTER")
    assert counter is not None
    assert counter["n"] == {"N": "42"}
    assert counter["label"] == {"S": "changed"}
    assert _get(ddb, "T#1", "GONE") is None


def test_a_put_guarded_by_its_own_condition_fails_on_an_existing_item(ddb: Any) -> None:
    """The idempotency guard the processor relies on: a second identical Put is cancelled."""
    _seed(ddb)
    ddb.transact_write_items(TransactItems=_transaction(fail_check=False)[:1])
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=_transaction(fail_check=False)[:2])
    assert [r["Code"] for r in caught.value.response["CancellationReasons"]] == [
        "ConditionalCheckFailed",
        "None",
    ]
    assert _get(ddb, "T#1", "COUNTER")["n"] == {"N": "41"}  # type: ignore[index]


def test_an_update_that_fails_while_applying_rolls_back_the_items_before_it(ddb: Any) -> None:
    _seed(ddb)
    failing = {
        "Update": {
            "TableName": TABLE,
            "Key": _key("T#1", "GUARD"),
            "UpdateExpression": "ADD #s :one",  # status is a string: ADD of a number fails
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    items = [*_transaction(fail_check=False)[:2], failing]
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=items)
    assert _get(ddb, "T#1", "NEW") is None
    assert _get(ddb, "T#1", "COUNTER")["n"] == {"N": "41"}  # type: ignore[index]
    assert _get(ddb, "T#1", "GUARD")["status"] == {"S": "open"}  # type: ignore[index]


def test_two_operations_on_one_item_are_refused_before_anything_is_written(ddb: Any) -> None:
    _seed(ddb)
    twice = {"Delete": {"TableName": TABLE, "Key": _key("T#1", "COUNTER")}}
    items = [*_transaction(fail_check=False)[:2], twice]
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=items)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in caught.value.response["Error"]["Message"]
    assert _get(ddb, "T#1", "NEW") is None
    assert _get(ddb, "T#1", "COUNTER")["n"] == {"N": "41"}  # type: ignore[index]


def test_a_transaction_copies_the_items_it_touches_not_the_table(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto deep-copied the whole table once per transaction item: O(table) per write."""
    _seed(ddb)
    for n in range(300):
        _put(ddb, f"C#{n}", "PROFILE", name=f"customer {n}")

    def refuse(self: Table, memo: Any) -> Table:
        raise AssertionError("the whole table was copied")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    copied: list[Item] = []
    original = Item.__deepcopy__ if hasattr(Item, "__deepcopy__") else None
    assert original is not None

    def counting(self: Item, memo: Any) -> Item:
        copied.append(self)
        return original(self, memo)  # type: ignore[no-any-return]

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=_transaction(fail_check=True))
    ddb.transact_write_items(TransactItems=_transaction(fail_check=False))
    # Each transaction copies at most the three items it writes (before changing them).
    assert len([c for c in copied if c.hash_key == DynamoType({"S": "T#1"})]) <= 6
    assert all(c.hash_key == DynamoType({"S": "T#1"}) for c in copied)


def test_a_cancelled_transaction_never_undoes_a_concurrent_write(ddb: Any) -> None:
    """moto restored a whole-table snapshot on cancellation, erasing what other threads wrote
    meanwhile (the local stack serves requests on many threads)."""
    for n in range(400):
        _put(ddb, f"BULK#{n}", "ITEM", filler="x" * 50)
    _seed(ddb)
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            _put(ddb, "WRITER", f"{n:05d}")
            written.append(f"{n:05d}")
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(15):
            with pytest.raises(ClientError):
                ddb.transact_write_items(TransactItems=_transaction(fail_check=True))
    finally:
        stop.set()
        thread.join()
    stored = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "WRITER"}},
    )["Items"]
    assert written
    assert sorted(i["sk"]["S"] for i in stored) == written


def test_moto_model_objects_are_freed_once_nothing_uses_them(ddb: Any) -> None:
    """moto kept every item version, message and table copy it ever made (8 GB for 200 messages)."""
    for n in range(500):
        _put(ddb, "P", f"{n:04d}", n=n)
        ddb.update_item(
            TableName=TABLE,
            Key=_key("P", f"{n:04d}"),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    for n in range(500):
        ddb.delete_item(TableName=TABLE, Key=_key("P", f"{n:04d}"))
    gc.collect()
    alive = [item for item in Item.instances_tracked if item.hash_key == DynamoType({"S": "P"})]  # type: ignore[attr-defined]
    assert len(alive) < 10


# ----------------------------------------------------------------------------- indexed queries
def _random_writes(client: Any, rng: random.Random, count: int) -> None:
    """Puts, updates moving items between index partitions, removals of index keys, deletes,
    transactions: every write path the index maps must follow."""
    for _ in range(count):
        pk, sk = f"P#{rng.randrange(8)}", f"S#{rng.randrange(12)}"
        choice = rng.random()
        if choice < 0.35:
            item = {"pk": {"S": pk}, "sk": {"S": sk}}
            if rng.random() < 0.8:
                item["gsi1pk"] = {"S": f"G#{rng.randrange(4)}"}
                item["gsi1sk"] = {"S": f"{rng.randrange(100):03d}"}
            client.put_item(TableName=TABLE, Item=item)
        elif choice < 0.6:
            client.update_item(
                TableName=TABLE,
                Key=_key(pk, sk),
                UpdateExpression="SET gsi1pk = :g, gsi1sk = :s",
                ExpressionAttributeValues={
                    ":g": {"S": f"G#{rng.randrange(4)}"},
                    ":s": {"S": f"{rng.randrange(100):03d}"},
                },
            )
        elif choice < 0.7:
            client.update_item(TableName=TABLE, Key=_key(pk, sk), UpdateExpression="REMOVE gsi1pk")
        elif choice < 0.85:
            client.delete_item(TableName=TABLE, Key=_key(pk, sk))
        else:
            other = f"S#{rng.randrange(12, 20)}"
            items: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key(pk, sk),
                        "UpdateExpression": "SET gsi1pk = :g, gsi1sk = :s",
                        "ExpressionAttributeValues": {":g": {"S": "G#0"}, ":s": {"S": "500"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": pk}, "sk": {"S": other}, "gsi1pk": {"S": "G#1"}},
                        "ConditionExpression": "attribute_not_exists(pk)"
                        if rng.random() < 0.5
                        else "attribute_exists(pk)",
                    }
                },
            ]
            with contextlib.suppress(ClientError):  # cancelled: the maps must follow the undo too
                client.transact_write_items(TransactItems=items)


def _whole_table_query(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The same Query through moto's original path (every item of the table)."""
    real_query = moto_patches._ORIGINAL_QUERY

    def unpatched(self: Table, *args: Any, **kw: Any) -> Any:
        return real_query(self, *args, **kw)

    saved = Table.query
    Table.query = unpatched  # type: ignore[method-assign]
    try:
        return client.query(**kwargs)["Items"]  # type: ignore[no-any-return]
    finally:
        Table.query = saved  # type: ignore[method-assign]


def test_queries_answer_exactly_what_the_whole_table_path_answers(ddb: Any) -> None:
    rng = random.Random(15)
    for _round in range(6):
        _random_writes(ddb, rng, 60)
        for group in range(4):
            for forward in (True, False):
                query = {
                    "TableName": TABLE,
                    "IndexName": "GSI1",
                    "KeyConditionExpression": "gsi1pk = :g AND gsi1sk >= :from",
                    "ExpressionAttributeValues": {":g": {"S": f"G#{group}"}, ":from": {"S": "020"}},
                    "ScanIndexForward": forward,
                }
                assert ddb.query(**query)["Items"] == _whole_table_query(ddb, **query)
        for partition in range(8):
            query = {
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": {"S": f"P#{partition}"}, ":s": {"S": "S#1"}},
            }
            assert ddb.query(**query)["Items"] == _whole_table_query(ddb, **query)


def test_an_index_query_pages_like_moto(ddb: Any) -> None:
    for n in range(30):
        _put(ddb, f"P#{n}", "X", gsi1pk="G", gsi1sk=f"{n % 7:02d}")
    query: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": "GSI1",
        "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "G"}},
        "Limit": 4,
    }
    pages: list[Any] = []
    while True:
        page = ddb.query(**query)
        pages += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    query.pop("ExclusiveStartKey")
    query.pop("Limit")
    assert pages == _whole_table_query(ddb, **query)
    assert len(pages) == 30
