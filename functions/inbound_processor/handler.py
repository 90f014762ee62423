"""Consumes the inbound queue: each record is one verified delivery (partial batch failures).

A record that raises is reported as failed; SQS redelivers it and, after the queue's
maxReceiveCount (5), moves it to the dead-letter queue. Nothing is lost.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.services.inbound_router import decode_record, process_envelope
from shared.settings import ProcessorSettings, load

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
_wired: tuple[DynamoRepository, SystemClock] | None = None


def _wire() -> tuple[DynamoRepository, SystemClock]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(ProcessorSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        _wired = (DynamoRepository(table), SystemClock())
    return _wired


def record_handler(record: SQSRecord) -> None:
    repo, clock = _wire()
    envelope = decode_record(record.body, clock)
    results = process_envelope(repo, clock, envelope, record.message_id)
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
        event=event, record_handler=record_handler, processor=processor, context=context
    )
