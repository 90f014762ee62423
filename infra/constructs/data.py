"""The single DynamoDB table, built from shared/adapters/dynamodb/schema.py."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from shared.adapters.dynamodb import schema


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(schema.PARTITION_KEY),
            sort_key=_string(schema.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            # Encrypted at rest with the AWS-owned key (no KMS request charges).
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema.INDEXES:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string(index.partition_key),
                sort_key=_string(index.sort_key),
                projection_type=(
                    dynamodb.ProjectionType.ALL
                    if index.projection is None
                    else dynamodb.ProjectionType.INCLUDE
                ),
                non_key_attributes=None if index.projection is None else list(index.projection),
            )
