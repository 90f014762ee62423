"""Consumes the inbound queue: each record is one verified delivery (partial batch failures).

A record that raises is reported as failed; SQS redelivers it and, after the queue's
maxReceiveCount (5), moves it to the dead-letter queue. Nothing is lost.

A claim check is read back from S3 first. A delivery of several events (Meta batches) is split
and its pieces go back on the queue, one record per event (shared/services/fan_out.py). A record
reached when less than RECORD_RESERVE_S of the invocation is left goes back on the queue as it
is, not counted as a receive, rather than risk the timeout that would fail the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.adapters.aws import claim_check
from shared.adapters.aws.batch import ReportingBatchProcessor
from shared.adapters.aws.s3_blobs import S3Blobs
from shared.adapters.aws.sqs import SqsBatchSender
from shared.adapters.aws.stepfunctions import satisfaction_starter
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.order_ports import use_satisfaction_starter
from shared.services import team_config
from shared.services.email_intake import EmailPolicy, email_events
from shared.services.fan_out import RECORD_RESERVE_S, fan_out, pieces_of
from shared.services.inbound_router import Parser, decode_record, parsers_with, process_envelope, record_ids
from shared.settings import ProcessorSettings, load

logger = Logger()
metrics = Metrics()


def _describe(record: SQSRecord) -> dict[str, str]:
    attribute = (record.message_attributes.get("channel") or {}).get("stringValue")
    return {
        "message_id": record.message_id,
        "receive_count": record.attributes.approximate_receive_count,
        **record_ids(record.body, attribute),
    }


# Every failed record (even when all failed) is reported, logged once at ERROR with its ids and
# counted (FailedRecords); SQS retries it and moves it to the DLQ after maxReceiveCount.
processor = ReportingBatchProcessor(logger, metrics, _describe)


@dataclass(frozen=True)
class _Wiring:
    repo: DynamoRepository
    orders: OrderRepository
    clock: SystemClock
    parsers: dict[Any, Parser]
    s3: Any
    payloads_bucket: str
    queue: SqsBatchSender


_wired: _Wiring | None = None
_config: team_config.CachedConfig | None = None


def _team_config() -> team_config.CachedConfig:
    """The team's rules for new tickets, re-read at most once a minute per container."""
    global _config  # noqa: PLW0603 (one cache per cold start)
    if _config is None:
        store = DynamoConfigStore(boto3.resource("dynamodb").Table(load(ProcessorSettings).table_name))
        _config = team_config.CachedConfig(lambda: team_config.load(store, on_invalid=_invalid_config))
    return _config


def _invalid_config(kind: str, problem: str) -> None:
    logger.warning("stored configuration ignored", extra={"kind": kind, "problem": problem})


def _wire() -> _Wiring:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(ProcessorSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        policy = EmailPolicy(
            topic_arn=settings.inbound_email_topic_arn,
            bucket=settings.attachments_bucket,
            prefix=settings.inbound_email_prefix,
            support_domains=tuple(d for d in settings.support_email_domains.split(",") if d),
        )
        s3 = boto3.client("s3")
        blobs = S3Blobs(s3, settings.attachments_bucket)
        parsers = parsers_with(partial(email_events, policy=policy, blobs=blobs))
        if settings.order_workflow_arn:  # delivered e-commerce orders -> the satisfaction stage
            use_satisfaction_starter(
                satisfaction_starter(boto3.client("stepfunctions"), settings.order_workflow_arn)
            )
        queue = SqsBatchSender(boto3.client("sqs"), s3, settings.inbound_queue_url, settings.payloads_bucket)
        _wired = _Wiring(
            DynamoRepository(table),
            OrderRepository(table),
            SystemClock(),
            parsers,
            s3,
            settings.payloads_bucket,
            queue,
        )
    return _wired


def record_handler(record: SQSRecord, lambda_context: Any) -> None:
    wiring = _wire()

    def seconds_left() -> float:
        return float(lambda_context.get_remaining_time_in_millis()) / 1000

    if seconds_left() < RECORD_RESERVE_S:
        channel = (record.message_attributes.get("channel") or {}).get("stringValue") or "unknown"
        wiring.queue.send_all([(record.body, channel)])
        metrics.add_metric(name="DeferredRecords", unit=MetricUnit.Count, value=1)
        logger.info("record deferred: the invocation's time ran short", extra=_describe(record))
        return
    body = claim_check.resolve(record.body, wiring.s3, wiring.payloads_bucket)
    envelope = decode_record(body, wiring.clock)
    pieces = pieces_of(envelope)
    if pieces:
        split = fan_out(envelope, pieces, wiring.queue, seconds_left)
        metrics.add_metric(name="DeliveriesSplit", unit=MetricUnit.Count, value=1)
        logger.info(
            "delivery split: one record per event",
            extra={
                "channel": envelope.channel.value,
                "reference": envelope.reference,
                "events": split.pieces,
                "enqueued": split.enqueued,
                "continued": split.continued,
            },
        )
        return
    results = process_envelope(
        wiring.repo,
        wiring.clock,
        envelope,
        record.message_id,
        parsers=wiring.parsers,
        playbook=_team_config().playbook(),
        orders=wiring.orders,
    )
    for result in results:
        if result.duplicate:
            metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
            logger.info("duplicate delivery ignored", extra={"channel": envelope.channel.value})
            continue
        metrics.add_metric(name="MessagesRecorded", unit=MetricUnit.Count, value=1)
        logger.info(
            "message recorded",
            extra={
                "channel": envelope.channel.value,
                "ticket_id": result.ticket_id,
                "message_id": result.message_id,
                "created_ticket": result.created_ticket,
                "created_customer": result.created_customer,
            },
        )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
