"""SQS partial batch responses where every failed record is logged once at ERROR and counted.

Powertools' ``BatchProcessor`` reports failures at DEBUG, or, given a logger, as a WARNING with
the traceback and the exception's message. Messages can quote what failed to parse (pydantic's
errors carry the input values: names, addresses, message text), so this processor logs the
record's ids, the exception's type and, for our own payload errors (written to name fields,
never content), their reason; never the body nor an arbitrary exception's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.adapters.channels.errors import ChannelPayloadError

FAILED_METRIC = "FailedRecords"


def _error_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)  # botocore ClientError
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def failure_fields(error: BaseException) -> dict[str, str]:
    """What may be logged about a failure: its type, AWS error code, and our own reasons."""
    fields = {"error_type": type(error).__name__}
    code = _error_code(error)
    if code:
        fields["error_code"] = code
    if isinstance(error, ChannelPayloadError):
        fields["reason"] = str(error)[:300]
    return fields


class ReportingBatchProcessor(BatchProcessor):
    """``describe(record)`` gives the ids to log for a record (message id, channel, reference)."""

    def __init__(
        self, logger: Logger, metrics: Metrics, describe: Callable[[SQSRecord], dict[str, str]]
    ) -> None:
        # No logger for the base class: its warning would carry the exception's message.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._logger = logger
        self._metrics = metrics
        self._describe = describe

    def failure_handler(self, record: Any, exception: Any) -> Any:
        entry = super().failure_handler(record, exception)
        error: BaseException = exception[1]
        ids = self._describe(record) if isinstance(record, SQSRecord) else {}
        self._logger.error("record failed", extra={**ids, **failure_fields(error)})
        self._metrics.add_metric(name=FAILED_METRIC, unit=MetricUnit.Count, value=1)
        return entry
