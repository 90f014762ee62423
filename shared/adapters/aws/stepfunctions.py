"""The order workflow's state machine behind the ``WorkflowEngine`` port."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.domain.errors import Conflict

# The execution moved on (timed out, was answered, or stopped): the caller is told, not retried.
_GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class StepFunctionsEngine:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Executions are named (after the order): a second start of the same name is a no-op."""
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def send_success(self, token: str, output: dict[str, Any]) -> None:
        self._answer(lambda: self._client.send_task_success(taskToken=token, output=json.dumps(output)))

    def send_failure(self, token: str, error: str, cause: str) -> None:
        self._answer(lambda: self._client.send_task_failure(taskToken=token, error=error, cause=cause))

    @staticmethod
    def _answer(call: Any) -> None:
        try:
            call()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _GONE:
                raise Conflict("the workflow is no longer waiting for this answer") from error
            raise


class SatisfactionViaWorkflow:
    """``shared.order_ports.SatisfactionStarter`` for the e-commerce sync: a delivered platform
    order enters the order workflow directly at its Satisfaction stage (``"entry":
    "satisfaction"``), in an execution named after the order. The sync needs no email or SMS
    permission, only ``states:StartExecution``; a repeated call finds the execution and does
    nothing; the survey, its alert and its reminders are the workflow's."""

    def __init__(self, engine: StepFunctionsEngine) -> None:
        self._engine = engine

    def start_satisfaction(self, order_id: str) -> None:
        self._engine.start(order_id, {"order_id": order_id, "entry": "satisfaction"})


def satisfaction_starter(client: Any, state_machine_arn: str) -> SatisfactionViaWorkflow:
    """What the processor installs with ``shared.order_ports.use_satisfaction_starter`` (its
    function then needs ORDER_WORKFLOW_ARN and ``Grant("statemachine:order_workflow", "start")``)."""
    return SatisfactionViaWorkflow(StepFunctionsEngine(client, state_machine_arn))
