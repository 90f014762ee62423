"""make bench: AWS calls, DynamoDB items and units, log bytes and dollars per operation, and the
cold import time of every handler module, side by side in one run -> bench/results.md.

Operations run on moto in this process, through the real handlers, from events/ samples.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "guichet",
        "POWERTOOLS_METRICS_NAMESPACE": "Guichet",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from bench import large_deliveries, prices, routing_scale, workspace_api  # noqa: E402
from bench.counter import Tally, counting  # noqa: E402
from infra import registry  # noqa: E402
from infra.local import moto_patches  # noqa: E402

moto_patches.install()

# What a naive webhook module does at import: every Powertools utility and a client, eagerly.
NAIVE_MODULE = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    "logger = Logger(); tracer = Tracer(); metrics = Metrics(); app = APIGatewayHttpResolver()\n"
    "sqs = boto3.client('sqs', region_name='eu-west-3')\n"
)


@dataclass
class Measure:
    operation: str
    function: str
    tally: Tally
    log_bytes: int
    via_http_api: bool
    sqs_consumer: bool = False

    def dollars_per_million(self) -> dict[str, float]:
        spec = registry.function(self.function)
        seconds = prices.ASSUMED_DURATION_MS[self.function] / 1000
        lam = prices.LAMBDA_REQUEST + spec.memory_mb / 1024 * seconds * prices.LAMBDA_ARM_GB_SECOND
        sqs_calls = sum(n for name, n in self.tally.calls.items() if name.startswith("sqs:"))
        if self.sqs_consumer:
            # The event source mapping receives and deletes in batches (2 requests per batch).
            sqs_calls += 2 / spec.batch_size
        parts = {
            "api": prices.HTTP_API_REQUEST if self.via_http_api else 0.0,
            "lambda": lam,
            "sqs": sqs_calls * prices.SQS_REQUEST,
            "dynamodb": self.tally.read_units * prices.DDB_READ_UNIT
            + self.tally.write_units * prices.DDB_WRITE_UNIT,
            "logs": self.log_bytes / 1e9 * prices.LOGS_PER_GB,
        }
        return {k: v * 1e6 for k, v in parts.items()}


def _capture(invoke: Callable[[], Any]) -> tuple[Any, Tally, int]:
    """Run one invocation, counting AWS calls and the bytes it logs (Logger and EMF metrics)."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger("guichet").handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(buffer) for h in handlers]
    try:
        with counting() as tally, contextlib.redirect_stdout(buffer):
            result = invoke()
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)
    return result, tally, len(buffer.getvalue().encode())


def _operations() -> tuple[list[Measure], list[ChannelMeasure]]:
    from moto import mock_aws

    from tests.support import LambdaContext, load_event, provision_moto, sqs_event

    measures: list[Measure] = []
    with mock_aws():
        env, handles = provision_moto()
        os.environ.update(env)
        sqs, queue_url = handles["sqs"], handles["queue_url"]

        from functions.agent_api import handler as api
        from functions.form_webhook import handler as form
        from functions.inbound_processor import handler as processor

        context = LambdaContext()
        # Warm each module once (wiring happens on the first call, as in a real cold start).
        form.handler(load_event("form_webhook/json_submission"), context)
        sqs.purge_queue(QueueUrl=queue_url)

        _, tally, logged = _capture(lambda: form.handler(load_event("form_webhook/json_submission"), context))
        measures.append(Measure("form webhook (POST /webhooks/form)", "form_webhook", tally, logged, True))

        [queued] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
        first = sqs_event([queued])
        _, tally, logged = _capture(lambda: processor.handler(first, context))
        measures.append(
            Measure(
                "process 1 message: new customer, new ticket", "inbound_processor", tally, logged, False, True
            )
        )

        envelope = json.loads(queued["Body"])
        envelope["dedup_key"] = "web_form:bench-second"
        envelope["payload"]["client_submission_id"] = "bench-second"
        second = sqs_event([{"MessageId": "bench-second", "Body": json.dumps(envelope)}])
        _, tally, logged = _capture(lambda: processor.handler(second, context))
        measures.append(
            Measure(
                "process 1 message: known customer, open ticket",
                "inbound_processor",
                tally,
                logged,
                False,
                True,
            )
        )

        _, tally, logged = _capture(lambda: processor.handler(second, context))
        measures.append(
            Measure("process a duplicate delivery", "inbound_processor", tally, logged, False, True)
        )
        measures.append(_impatient_message(handles, context, envelope["payload"]["phone"]))

        ticket_id = _first_ticket(api, context, load_event)
        event = load_event("agent_api/get_ticket")
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/tickets/{ticket_id}"
        event["pathParameters"] = {"ticket_id": ticket_id}
        api.handler(event, context)  # warm
        _, tally, logged = _capture(lambda: api.handler(event, context))
        measures.append(Measure("read a ticket with its messages", "agent_api", tally, logged, True))

        _, tally, logged = _capture(lambda: api.handler(load_event("agent_api/list_tickets"), context))
        measures.append(Measure("list tickets (25 per page)", "agent_api", tally, logged, True))

        channels = _channel_operations(handles, context)
        measures += _commerce_operations(handles, context)
    return measures, channels


def _impatient_message(handles: dict[str, Any], context: Any, phone: str) -> Measure:
    """Issue 11, item 1: the same customer writes again on another channel within the minute;
    the processor re-evaluates the ticket's priority, raises it and rewrites the ticket (its
    queue place and SLA deadlines follow), guarded by its version, with an audit entry."""
    from bench.channel_events import sms_from
    from functions.inbound_processor import handler as processor
    from functions.twilio_webhook import handler as twilio
    from tests.support import sqs_event

    sqs, queue_url = handles["sqs"], handles["queue_url"]
    sid = "SM" + "impatient".rjust(32, "0")
    assert twilio.handler(sms_from(phone, sid), context)["statusCode"] == 200
    # The form deliveries read above were never deleted: pick the SMS out of the queue.
    waiting = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    [queued] = [m for m in waiting if sid in m["Body"]]
    for message in waiting:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    _, tally, logged = _capture(lambda: processor.handler(sqs_event([queued]), context))
    operation = "process 1 message: known customer on another channel, priority re-evaluated and raised"
    return Measure(operation, "inbound_processor", tally, logged, False, True)


@dataclass
class ChannelMeasure:
    channel: str
    webhook: Measure | None  # None: no HTTP hop (SES -> SNS -> SQS)
    first: Measure  # processing a first message (new customer, new ticket)
    known: Measure  # processing a later message (known customer, open ticket)


def _channel_operations(handles: dict[str, Any], context: Any) -> list[ChannelMeasure]:
    """Per channel: the webhook (warm: the secret is cached) and the processor, from events/."""
    from bench.channel_events import SCENARIOS
    from functions.inbound_processor import handler as processor
    from tests.support import sqs_event

    sqs, queue_url = handles["sqs"], handles["queue_url"]
    results = []
    for scenario in SCENARIOS:
        deliveries = scenario.deliveries(handles)  # three: warm-up, first message, later message
        webhook_measure = None
        bodies = []
        for index, delivery in enumerate(deliveries):
            if scenario.function is None:
                bodies.append({"MessageId": f"{scenario.channel}-{index}", "Body": delivery})
                continue
            module = importlib.import_module(f"functions.{scenario.function}.handler")
            _, tally, logged = _capture(lambda m=module, d=delivery: m.handler(d, context))
            assert _, f"{scenario.channel}: the webhook refused the delivery"
            if index == 2:
                webhook_measure = Measure(scenario.channel, scenario.function, tally, logged, True)
            [queued] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=queued["ReceiptHandle"])
            bodies.append(queued)
        _capture(lambda b=bodies[0]: processor.handler(sqs_event([b]), context))  # warm-up
        processed = []
        for body in bodies[1:]:
            _, tally, logged = _capture(lambda b=body: processor.handler(sqs_event([b]), context))
            processed.append(Measure(scenario.channel, "inbound_processor", tally, logged, False, True))
        results.append(ChannelMeasure(scenario.channel, webhook_measure, processed[0], processed[1]))
    return results


# ------------------------------------------------------------ orders and commerce (issue 6)
def _commerce_operations(handles: dict[str, Any], context: Any) -> list[Measure]:
    """Commerce webhooks, syncs, the abandoned-cart sweep, the 360 view, the import (bench/commerce.py)."""
    from bench import commerce

    measured: list[Measure] = commerce.operations(handles, context, _capture, Measure)
    return measured


def _commerce_report(measures: list[Measure]) -> list[str]:
    from bench import commerce

    return commerce.report(measures)


def _first_ticket(api: Any, context: Any, load_event: Callable[[str], dict[str, Any]]) -> str:
    response = api.handler(load_event("agent_api/list_tickets"), context)
    ticket_id: str = json.loads(response["body"])["items"][0]["id"]
    return ticket_id


def _import_ms(module: str | None, source: str | None = None, runs: int = 7) -> float:
    """Median cold import time in a fresh interpreter (interpreter start-up excluded)."""
    target = f"import importlib; importlib.import_module({module!r})" if module else f"exec({source!r})"
    code = f"import time; t = time.perf_counter(); {target}; print((time.perf_counter() - t) * 1000)"
    samples = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def _channel_report(channels: list[ChannelMeasure]) -> list[str]:
    lines = [
        "",
        "## Per channel (issue: omnichannel ingestion)",
        "",
        "Webhook: one warm invocation (the signing secret is cached per container for 5 minutes; a cold",
        "container adds one `secretsmanager:GetSecretValue`). Processing: one message of a known customer",
        "joining their open ticket, then (in brackets) a first message creating customer and ticket.",
        "Targets: webhook 1 AWS call; processor at most 3 reads and 8 write units per message.",
        "",
        "| channel | webhook AWS calls | processor reads (first) | items read | write units (first)"
        " | S3 calls | $ per million messages |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in channels:

        def reads(m: Measure) -> int:
            return sum(
                n for name, n in m.tally.calls.items() if name in ("dynamodb:GetItem", "dynamodb:Query")
            )

        webhook = (
            "n/a (SES, SNS)"
            if c.webhook is None
            else ", ".join(f"{name} {n}" for name, n in sorted(c.webhook.tally.calls.items()))
        )
        s3 = sum(n for name, n in c.known.tally.calls.items() if name.startswith("s3:"))
        dollars = sum(c.known.dollars_per_million().values()) + (
            sum(c.webhook.dollars_per_million().values()) if c.webhook else 0.0
        )
        lines.append(
            f"| {c.channel} | {webhook} | {reads(c.known)} ({reads(c.first)}) | {c.known.tally.items_read}"
            f" | {c.known.tally.write_units:g} ({c.first.tally.write_units:g}) | {s3} | {dollars:.2f} |"
        )
    return lines


def _report(
    measures: list[Measure], channels: list[ChannelMeasure], imports: list[tuple[str, float]], naive_ms: float
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (bench/__main__.py). AWS calls and DynamoDB items are counted on moto",
        "through the real handlers; capacity units are computed from item sizes as DynamoDB bills them",
        "(moto does not report consumed capacity). Dollars use bench/prices.py (../shared/cost-model.md);",
        "Lambda duration is an assumption per function (bench/prices.py), not a moto timing.",
        "",
        "## Per operation",
        "",
        "| operation | AWS calls | items read | read units | items written | write units | log bytes"
        " | $ per million |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        calls = ", ".join(f"{name} {n}" for name, n in sorted(m.tally.calls.items())) or "none"
        total = sum(m.dollars_per_million().values())
        t = m.tally
        lines.append(
            f"| {m.operation} | {calls} | {t.items_read} | {t.read_units:g} | {t.items_written}"
            f" | {t.write_units:g} | {m.log_bytes} | {total:.2f} |"
        )
    lines += ["", "## Dollars per million operations, by service", ""]
    lines += ["| operation | API | Lambda | SQS | DynamoDB | Logs |", "|---|---|---|---|---|---|"]
    for m in measures:
        d = m.dollars_per_million()
        lines.append(
            f"| {m.operation} | {d['api']:.2f} | {d['lambda']:.2f} | {d['sqs']:.2f} | {d['dynamodb']:.2f}"
            f" | {d['logs']:.2f} |"
        )
    inbound = [m for m in measures if m.function == "form_webhook"] + [
        m for m in measures if m.operation.startswith("process 1 message: known")
    ]
    per_message = sum(sum(m.dollars_per_million().values()) for m in inbound)
    lines += [
        "",
        "One inbound form message end to end (webhook + processing, known customer):"
        f" **${per_message:.2f} per million** (cost-model.md: floor about $3.1, realistic buffered"
        " design about $9.8).",
        "",
        *_channel_report(channels),
        *_commerce_report(measures),
        "",
        "## Cold import time of each handler module (fresh interpreter, median of 7)",
        "",
        "| module | ms | vs naive module |",
        "|---|---|---|",
    ]
    for module, ms in imports:
        lines.append(f"| {module} | {ms:.0f} | {ms / naive_ms:.0%} |")
    lines.append(f"| naive module (boto3 + Logger, Tracer, Metrics, event handler) | {naive_ms:.0f} | 100% |")
    return "\n".join(lines) + "\n"


def _order_workflow_report() -> list[str]:
    """Issue 6, items 4-8, apart from the rest: one order through the five-stage workflow on moto
    (its own moto session, the real ASL and handlers; see bench/order_workflow.py)."""
    from bench import order_workflow

    return order_workflow.report_lines(*order_workflow.measure())


def _replies_report() -> list[str]:
    """Issue 5, items 6-7, apart from the rest: replies and canned responses in their own moto
    session, the providers answered by a local HTTP server (see bench/replies.py)."""
    from bench import replies

    return replies.report_lines(replies.measure())


def _local_stack_report() -> list[str]:
    """Issue 15 #11: the local stack's memory and throughput over 10,000 messages, last (it takes
    minutes; BENCH_STACK_MESSAGES shortens it). See bench/local_stack.py."""
    from bench import local_stack

    return local_stack.report_lines(local_stack.measure())


def main() -> None:
    measures, channels = _operations()
    naive = _import_ms(None, source=NAIVE_MODULE)
    imports = [(spec.module, _import_ms(spec.module)) for spec in registry.FUNCTIONS]
    report = _report(measures, channels, imports, naive)
    report += "\n".join(_order_workflow_report()) + "\n"
    report += "\n".join(routing_scale.report_lines(routing_scale.measure())) + "\n"
    report += "\n".join(_replies_report()) + "\n"
    report += "\n".join(workspace_api.report_lines(workspace_api.measure())) + "\n"
    report += "\n".join(large_deliveries.report_lines(large_deliveries.measure())) + "\n"
    report += "\n".join(_local_stack_report()) + "\n"
    (ROOT / "bench" / "results.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
