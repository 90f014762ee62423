"""Workflow step Preparation: reserve stock, declare to provisioning, serials; alert "prepared"
(or "back_order" and raise OutOfStock: the state machine waits and comes back)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import StepEvent, step_errors, step_ports
from shared.services import order_workflow
from shared.services.order_workflow import StepPorts
from shared.settings import PreparationSettings, load

logger = Logger()
_wired: tuple[StepPorts, PreparationSettings] | None = None


def _ports() -> tuple[StepPorts, PreparationSettings]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(PreparationSettings)
        _wired = (step_ports(settings), settings)
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = StepEvent.model_validate(event)
    logger.append_keys(order_id=step.order_id, execution=step.execution)
    ports, settings = _ports()
    with step_errors():
        result = order_workflow.preparation(ports, step.order_id, settings.back_order_max_waits)
    logger.info("preparation done")
    return result
