"""Workflow step Incident: what a step could not handle becomes a back-office ticket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import StepEvent, step_errors, step_ports
from shared.services import order_workflow
from shared.services.order_workflow import StepPorts
from shared.settings import WorkflowStepSettings, load

logger = Logger()
_wired: StepPorts | None = None


def _ports() -> StepPorts:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        _wired = step_ports(load(WorkflowStepSettings))
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = StepEvent.model_validate(event)
    logger.append_keys(order_id=step.order_id, execution=step.execution)
    with step_errors():
        result = order_workflow.incident(_ports(), step.order_id, step.failure or {}, step.execution or "")
    # The stage and error name only (causes may quote customer data).
    logger.warning(
        "order workflow incident", extra={"stage": result.get("stage"), "error": result.get("error")}
    )
    return result
