"""Fixtures for the unit and integration levels (e2e has its own in tests/e2e/conftest.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

# Fake credentials before any boto3 client exists: no test may reach real AWS.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[_name] = "testing"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Guichet")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "guichet")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")

from tests.support import LambdaContext  # noqa: E402


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the table (from the schema declaration) and the inbound queue with its DLQ.

    Handlers wire their clients lazily, once per module: the wiring is reset per test.
    """
    import boto3
    from moto import mock_aws

    from infra import registry
    from shared.adapters.dynamodb.schema import create_table_kwargs

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**create_table_kwargs("guichet-test"))
        sqs = boto3.client("sqs")
        spec = next(q for q in registry.QUEUES if q.name == "inbound")
        dlq_url = sqs.create_queue(QueueName="guichet-inbound-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue_url = sqs.create_queue(
            QueueName="guichet-inbound",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                ),
                "VisibilityTimeout": "0",
            },
        )["QueueUrl"]
        boto3.client("s3").create_bucket(
            Bucket="guichet-attachments", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        topic_arn = boto3.client("sns").create_topic(Name="guichet-inbound-email")["TopicArn"]
        secrets = next(spec for spec in registry.SECRETS if spec.name == "webhooks")
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="guichet/webhooks",
            SecretString=json.dumps({key: default for key, (_, default) in secrets.keys.items()}),
        )["ARN"]
        env = {
            "TABLE_NAME": "guichet-test",
            "INBOUND_QUEUE_URL": queue_url,
            "ATTACHMENTS_BUCKET": "guichet-attachments",
            "INBOUND_EMAIL_TOPIC_ARN": topic_arn,
            "EMAIL_RECEIPT_RULE": registry.EMAIL_RECEIPT.rule_name,
            "WEBHOOK_SECRETS_ARN": secret_arn,
            # The published Twilio samples are signed for this host.
            "PUBLIC_BASE_URL": "https://api.example.com",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for module in (
            "functions.form_webhook.handler",
            "functions.inbound_processor.handler",
            "functions.agent_api.handler",
            "functions.meta_webhook.handler",
            "functions.twilio_webhook.handler",
        ):
            mod = __import__(module, fromlist=["handler"])
            for attribute in ("_wired", "_repo"):
                if hasattr(mod, attribute):
                    monkeypatch.setattr(mod, attribute, None)
        yield {
            "table": boto3.resource("dynamodb").Table("guichet-test"),
            "sqs": sqs,
            "queue_url": queue_url,
            "dlq_url": dlq_url,
            "topic_arn": topic_arn,
            "bucket": "guichet-attachments",
        }


@pytest.fixture(autouse=True)
def _no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any DynamoDB Scan issued by code under test fails the test (no Scan on request paths).

    Wraps botocore's single entry point for API calls, so it holds for every client and
    session (moto replaces boto3's default session, so a session event hook would not).
    """
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def guarded(self: Any, operation_name: str, api_params: Any) -> Any:
        if operation_name == "Scan" and self.meta.service_model.service_name == "dynamodb":
            raise AssertionError("DynamoDB Scan was called: request paths must use keys or indexes")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", guarded)
