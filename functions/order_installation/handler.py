"""Workflow step Installation, four actions of one stage:

* ``await``: keep the task token while the execution waits for the technician's report;
* ``validated``: every test passed (lines billable, alert "installed");
* ``failed``: a test failed (tech ticket, new visit, alert "rescheduled");
* ``timeout``: no report in time (escalation ticket; InstallationAbandoned after the last one).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import StepEvent, step_errors, step_ports
from shared.services import order_workflow
from shared.services.order_workflow import StepPorts
from shared.settings import InstallationSettings, load

logger = Logger()
_wired: tuple[StepPorts, InstallationSettings] | None = None


def _ports() -> tuple[StepPorts, InstallationSettings]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(InstallationSettings)
        _wired = (step_ports(settings), settings)
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = StepEvent.model_validate(event)
    logger.append_keys(order_id=step.order_id, execution=step.execution, action=step.action)
    ports, settings = _ports()
    with step_errors():
        if step.action == "await":
            if not step.task_token:
                raise ValueError("the await action needs the task token")
            result = order_workflow.await_commissioning(ports, step.order_id, step.task_token)
        elif step.action == "validated":
            result = order_workflow.commissioned(ports, step.order_id)
        elif step.action == "failed":
            result = order_workflow.commissioning_failed(ports, step.order_id)
        elif step.action == "timeout":
            result = order_workflow.commissioning_timeout(ports, step.order_id, settings.max_escalations)
        else:
            raise ValueError(f"unknown installation action {step.action!r}")
    logger.info("installation step done")
    return result
