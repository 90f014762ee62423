"""Workflow step Billing: ``bill`` issues the invoice (or raises BillingBlocked); ``hold`` opens
the back-office ticket listing the blocking lines and keeps the task token (or raises
BillingReady when nothing blocks any more)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import StepEvent, step_errors, step_ports
from shared.services import order_workflow
from shared.services.order_workflow import StepPorts
from shared.settings import BillingSettings, load

logger = Logger()
_wired: StepPorts | None = None


def _ports() -> StepPorts:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        _wired = step_ports(load(BillingSettings))
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = StepEvent.model_validate(event)
    logger.append_keys(order_id=step.order_id, execution=step.execution, action=step.action)
    with step_errors():
        if step.action == "hold":
            if not step.task_token:
                raise ValueError("the hold action needs the task token")
            result = order_workflow.billing_hold(_ports(), step.order_id, step.task_token)
        else:
            result = order_workflow.billing(_ports(), step.order_id)
    logger.info("billing step done")
    return result
