"""Workflow step Satisfaction: the tokenised survey link, sent once (alert "survey")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import StepEvent, satisfaction_service, step_errors, step_ports
from shared.services.satisfaction import SatisfactionService
from shared.settings import WorkflowStepSettings, load

logger = Logger()
_wired: SatisfactionService | None = None


def _service() -> SatisfactionService:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        _wired = satisfaction_service(step_ports(load(WorkflowStepSettings)))
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = StepEvent.model_validate(event)
    logger.append_keys(order_id=step.order_id, execution=step.execution)
    with step_errors():
        sent = _service().send_survey(step.order_id)
    logger.info("satisfaction step done", extra={"survey_sent": sent})
    return {"survey_sent": sent}
