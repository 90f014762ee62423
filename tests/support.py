"""Test helpers shared by every level: sample events, a Lambda context, a fixed clock."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """``load_event("form_webhook/json_submission")`` -> a fresh copy of events/<name>.json."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


@dataclass
class LambdaContext:
    function_name: str = "guichet-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-3:123456789012:function:guichet-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class FixedClock:
    moment: datetime = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment = self.moment + timedelta(**delta)


def provision_moto() -> tuple[dict[str, str], dict[str, Any]]:
    """Inside an active ``mock_aws``: the resources the handlers use, from the declarations.

    Returns (the environment the functions read, handles for tests). Used by the integration
    fixture and by the benchmark, so both run the handlers against the same setup.
    """
    import boto3

    from infra import registry
    from shared.adapters.dynamodb.schema import create_table_kwargs

    boto3.client("dynamodb").create_table(**create_table_kwargs("guichet-test"))
    sqs = boto3.client("sqs")
    spec = next(q for q in registry.QUEUES if q.name == "inbound")
    dlq_url = sqs.create_queue(QueueName="guichet-inbound-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
    queue_url = sqs.create_queue(
        QueueName="guichet-inbound",
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "0"},
    )["QueueUrl"]
    for bucket in ("guichet-attachments", "guichet-payloads"):
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
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
        "PAYLOADS_BUCKET": "guichet-payloads",
        "INBOUND_EMAIL_TOPIC_ARN": topic_arn,
        "INBOUND_EMAIL_PREFIX": registry.EMAIL_RECEIPT.prefix,
        "WEBHOOK_SECRETS_ARN": secret_arn,
        # The published Twilio samples are signed for this host.
        "PUBLIC_BASE_URL": "https://api.example.com",
    }
    handles = {
        "table": boto3.resource("dynamodb").Table("guichet-test"),
        "sqs": sqs,
        "queue_url": queue_url,
        "dlq_url": dlq_url,
        "topic_arn": topic_arn,
        "bucket": "guichet-attachments",
        "payloads_bucket": "guichet-payloads",
    }
    return env, handles


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Lambda event the SQS event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m.get("ReceiptHandle", ""),
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:guichet-inbound",
                "awsRegion": "eu-west-3",
            }
            for m in messages
        ]
    }


def api_event(
    sample: str,
    method: str,
    path: str,
    *,
    query: str = "",
    body: dict[str, Any] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2.0 sample (``events/<sample>.json``) turned into a request for another
    route of the same function: method, path, query, JSON body and JWT claims replaced."""
    event = load_event(sample)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&") if p) or None
    event.pop("pathParameters", None)
    event.pop("body", None)
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    if claims:
        event["requestContext"]["authorizer"]["jwt"]["claims"].update(claims)
    return event
