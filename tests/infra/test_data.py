"""The DynamoDB table matches shared/adapters/dynamodb/schema.py."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.dynamodb import schema
from tests.infra.template import Synthesized


@pytest.fixture(scope="module")
def table(synth: Synthesized) -> dict[str, Any]:
    tables = synth.of_type("AWS::DynamoDB::Table")
    assert list(tables) == [synth.id_of("table")]
    return next(iter(tables.values()))


def test_keys_match_the_schema(table: dict[str, Any]) -> None:
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
    ]
    definitions = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert definitions == dict.fromkeys(schema.key_attributes(), "S")


def test_indexes_match_the_schema(table: dict[str, Any]) -> None:
    indexes = {gsi["IndexName"]: gsi for gsi in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in schema.INDEXES}
    for index in schema.INDEXES:
        gsi = indexes[index.name]
        assert gsi["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        if index.projection is None:
            assert gsi["Projection"] == {"ProjectionType": "ALL"}
        else:
            assert gsi["Projection"]["ProjectionType"] == "INCLUDE"
            assert sorted(gsi["Projection"]["NonKeyAttributes"]) == sorted(index.projection)


def test_on_demand_protected_and_expiring(table: dict[str, Any]) -> None:
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_stack_is_tagged(table: dict[str, Any]) -> None:
    from infra.stack import TAGS

    tags = {tag["Key"]: tag["Value"] for tag in table["Properties"]["Tags"]}
    assert TAGS.items() <= tags.items()
