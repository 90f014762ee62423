"""Drive the inbound queue like Lambda's SQS event source mapping, in-process on moto.

Receive up to 10 messages (with their attributes, so ApproximateReceiveCount counts), invoke the
processor with Lambda's record shape, delete what did not fail; failed messages become visible
again (the test queue's visibility timeout is 0) and moto moves a message to the DLQ on the
receive after its maxReceiveCount, as the redrive policy does. A raised error (a crashed
invocation) fails the whole batch, as in AWS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local.poller import failed_ids, sqs_event
from tests.support import LambdaContext

QUEUE_ARN = "arn:aws:sqs:eu-west-3:123456789012:guichet-inbound"


@dataclass
class ClockedContext(LambdaContext):
    """A Lambda context whose remaining time runs down by ``cost_ms`` at each look."""

    remaining_ms: int = 10_000
    cost_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        left = self.remaining_ms
        self.remaining_ms -= self.cost_ms
        return left


@dataclass
class RunStats:
    invocations: int = 0
    crashed: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    receive_counts: Counter[str] = field(default_factory=Counter)


def queue_messages(aws: dict[str, Any], url_key: str = "queue_url") -> list[dict[str, Any]]:
    """Every message now visible on a queue (received, then made visible again)."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        batch = (
            aws["sqs"]
            .receive_message(
                QueueUrl=aws[url_key],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            )
            .get("Messages", [])
        )
        if not batch:
            break
        for message in batch:
            found[message["MessageId"]] = message
    for message in found.values():
        aws["sqs"].change_message_visibility(
            QueueUrl=aws[url_key], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return list(found.values())


def run_queue(
    aws: dict[str, Any],
    handler: Callable[[dict[str, Any], Any], Any],
    *,
    context: Callable[[], Any] = LambdaContext,
    before_invoke: Callable[[dict[str, Any]], None] | None = None,
    max_invocations: int = 10_000,
) -> RunStats:
    """Invoke ``handler`` on the queue until it is empty. ``before_invoke(event)`` may raise to
    stand for a consumer that crashed before answering (the whole batch is then retried)."""
    stats = RunStats()
    sqs, url = aws["sqs"], aws["queue_url"]
    while stats.invocations < max_invocations:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return stats
        stats.invocations += 1
        stats.received += len(messages)
        for message in messages:
            stats.receive_counts[message["MessageId"]] += 1
        event = sqs_event(messages, QUEUE_ARN, "eu-west-3")
        ok, result = True, None
        try:
            if before_invoke is not None:
                before_invoke(event)
            result = handler(event, context())
        except Exception:
            ok = False
            stats.crashed += 1
        failed = failed_ids(ok, result, [m["MessageId"] for m in messages])
        stats.failed += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for message in done:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        stats.deleted += len(done)
    raise AssertionError(f"the queue was not empty after {max_invocations} invocations")
