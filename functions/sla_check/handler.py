"""Scheduled every few minutes: warn on SLAs due soon, escalate breaches (shared/services/sla_check)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger

from shared.adapters.aws.sns_notifier import SnsNotifier
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.services.sla_check import check_slas
from shared.settings import SlaCheckSettings, load

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = load(SlaCheckSettings)
    repo = DynamoRepository(boto3.resource("dynamodb").Table(settings.table_name))
    notifier = SnsNotifier(boto3.client("sns"), settings.supervisors_topic_arn)
    report = check_slas(repo, SystemClock(), notifier)
    logger.info("sla check", extra={"warned": len(report.warned), "escalated": len(report.escalated)})
    return {"warned": report.warned, "escalated": report.escalated}
