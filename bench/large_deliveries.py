"""Large and batched Meta deliveries for `make bench` (issue 15, items 2-3): AWS calls on the
webhook and in the processor's first stage, per delivery and per message.

Its own moto session. A WhatsApp delivery of n messages (signed as Meta signs) goes through
meta_webhook, then the processor's first stage splits it into one queue record per message
(shared/services/fan_out.py). moto's SendMessageBatch costs O(queue length) per message, so
here it is answered without storing (what is measured is the number of calls, not moto).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from typing import Any

from bench.counter import Tally, counting
from shared.adapters.channels.signatures import hmac_sha256_hex

SIZES = (1, 10, 100, 1000)


@dataclass
class Row:
    messages: int
    body_bytes: int
    webhook: Tally
    split: Tally | None  # None: one event, processed at once (no split stage)


def _delivery(count: int, text_chars: int) -> dict[str, Any]:
    from tests.support import load_event

    event = load_event("meta_webhook/whatsapp_message_text")
    body = json.loads(event["body"])
    value = body["entry"][0]["changes"][0]["value"]
    template, contact = value["messages"][0], value["contacts"][0]
    value["messages"], value["contacts"] = [], []
    for n in range(count):
        sender = f"33612{n:06d}"
        text = {"body": "Bonjour, où en est ma commande ? " * (text_chars // 33)}
        message = {**copy.deepcopy(template), "from": sender, "id": f"wamid.b{n}", "text": text}
        value["messages"].append(message)
        value["contacts"].append({**contact, "wa_id": sender})
    raw = json.dumps(body).encode()  # Meta's escaped-unicode JSON
    event["body"] = raw.decode()
    event["headers"]["x-hub-signature-256"] = "sha256=" + hmac_sha256_hex("TEST_APP_SECRET", raw)
    return event


def measure() -> list[Row]:
    from moto import mock_aws

    with mock_aws():
        return _measure()


def _measure() -> list[Row]:
    from botocore.client import BaseClient

    from functions.inbound_processor import handler as processor
    from functions.meta_webhook import handler as webhook
    from tests.support import LambdaContext, provision_moto, sqs_event

    env, handles = provision_moto()
    os.environ.update(env)
    webhook._wired, processor._wired = None, None  # a fresh container for this moto session
    context = LambdaContext()
    sqs, url = handles["sqs"], handles["queue_url"]
    webhook.handler(_delivery(1, 100), context)  # warm: the secret is read and cached
    sqs.purge_queue(QueueUrl=url)
    original = BaseClient._make_api_call

    def unstored_batches(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "SendMessageBatch":
            return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in params["Entries"]]}
        return original(client, operation, params)

    rows = []
    for size in SIZES:
        # ~2.4 KB of text a message: 1,000 messages make a delivery near Meta's 3 MB limit.
        event = _delivery(size, 2_400)
        with counting() as hook:
            assert webhook.handler(event, context)["statusCode"] == 200
        [queued] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=queued["ReceiptHandle"])
        split = None
        if size > 1:
            BaseClient._make_api_call = unstored_batches  # type: ignore[method-assign]
            try:
                with counting() as split:
                    assert processor.handler(sqs_event([queued]), context) == {"batchItemFailures": []}
            finally:
                BaseClient._make_api_call = original  # type: ignore[method-assign]
        rows.append(Row(size, len(event["body"].encode()), hook, split))
    return rows


def _calls(tally: Tally) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(tally.calls.items())) or "none"


def report_lines(rows: list[Row]) -> list[str]:
    lines = [
        "",
        "## Large and batched Meta deliveries (issue 15, items 2-3)",
        "",
        "A WhatsApp delivery of n messages: the webhook (warm) stores a body over the queue's",
        "256 KiB message limit in S3 and enqueues a pointer (claim check); the processor's first",
        "stage reads it back and splits the delivery into one queue record per message, ten per",
        "SendMessageBatch. Each record is then processed as a one-message delivery (the per-channel",
        "table above), plus the event source mapping's receive and delete (2 calls per 10 records).",
        "",
        "| messages | body | webhook AWS calls | split stage AWS calls | calls per message (both) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        split_calls = sum(row.split.calls.values()) if row.split else 0
        per_message = (sum(row.webhook.calls.values()) + split_calls) / row.messages
        lines.append(
            f"| {row.messages} | {row.body_bytes / 1024:,.0f} KiB | {_calls(row.webhook)} | "
            f"{_calls(row.split) if row.split else 'none (processed at once)'} | {per_message:.2f} |"
        )
    lines += [
        "",
        "The alternative, splitting in the webhook (SendMessageBatch there), makes the same number",
        "of SQS calls but all of them inside the sender's response window: 100 sequential calls",
        "for a 1,000-message delivery, against Meta's unpublished timeout (3 to 20 s seen) and",
        "the function's 5 s; a failure midway answers 500 and Meta resends the whole delivery.",
        "The first-stage split keeps the webhook at 1 call (2 with a claim check) for any size.",
    ]
    return lines
