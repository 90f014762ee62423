"""The SQS event-source mapping of each consuming function (moto has none of its own).

Like Lambda's poller: receive up to ``batch_size`` messages (all attributes, so
``ApproximateReceiveCount`` counts), invoke the function with the SQS event in Lambda's exact
record shape, then delete the records that did not fail. The handler reports failures with
Powertools' partial-batch response (``{"batchItemFailures": [{"itemIdentifier": id}]}``,
``ReportBatchItemFailures`` on the mapping); a raised error, or an identifier that is not in the
batch, fails the whole batch, as in AWS.

Failed messages are made visible again after ~1 s (instead of the queue's visibility timeout) so
retries happen quickly locally; after ``maxReceiveCount`` receives moto itself moves a message to
``<queue>-dlq`` on the next receive (checked in moto 5.2's ``SQSBackend.receive_message``), which
is what the redrive policy does in AWS.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from typing import Any

from infra.local.log import log
from infra.local.resources import QueueInfo
from infra.registry import FunctionSpec

RETRY_VISIBILITY_S = 1
WAIT_TIME_S = 1  # short long-poll: responsive shutdown, no busy loop


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """boto3's MessageAttributes -> the Lambda SQS record's ``messageAttributes``."""
    converted: dict[str, Any] = {}
    for name, attr in attributes.items():
        value: dict[str, Any] = {
            "stringListValues": list(attr.get("StringListValues", [])),
            "binaryListValues": [base64.b64encode(v).decode() for v in attr.get("BinaryListValues", [])],
            "dataType": attr["DataType"],
        }
        if "StringValue" in attr:
            value = {"stringValue": attr["StringValue"], **value}
        if "BinaryValue" in attr:
            value = {"binaryValue": base64.b64encode(attr["BinaryValue"]).decode(), **value}
        converted[name] = value
    return converted


def sqs_event(messages: Sequence[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends (one record per message)."""
    records = []
    for message in messages:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": lambda_message_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message["MD5OfBody"],
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
        records.append(record)
    return {"Records": records}


def failed_ids(invocation_ok: bool, result: Any, message_ids: Sequence[str]) -> set[str]:
    """Which messages to retry, per Lambda's ReportBatchItemFailures rules."""
    everything = set(message_ids)
    if not invocation_ok:
        return everything
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in everything:
            return everything  # an invalid response fails the whole batch
        failed.add(identifier)
    return failed


Invoke = Callable[[str, dict[str, Any]], Any]


class QueuePoller(threading.Thread):
    def __init__(
        self,
        spec: FunctionSpec,
        queue: QueueInfo,
        *,
        sqs: Any,
        invoke: Invoke,
        region: str,
        stop: threading.Event,
    ):
        super().__init__(name=f"poller-{spec.name}", daemon=True)
        self.spec = spec
        self.queue = queue
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._stopping = stop

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # moto restarting, a bug here: report and keep polling
                log(f"poller {self.spec.name}: {type(exc).__name__}: {exc}")
                self._stopping.wait(1)

    def poll_once(self) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=max(1, min(self.spec.batch_size, 10)),
            WaitTimeSeconds=WAIT_TIME_S,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.queue.arn, self._region)
        invocation = self._invoke(self.spec.name, event)
        ids = [m["MessageId"] for m in messages]
        failed = failed_ids(invocation.ok, invocation.result, ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if retry:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": RETRY_VISIBILITY_S,
                    }
                    for i, m in enumerate(retry)
                ],
            )
        log(
            f"{self.queue.name} -> {self.spec.name}: {len(messages)} received, "
            f"{len(done)} done, {len(retry)} to retry"
        )
        return len(messages)
