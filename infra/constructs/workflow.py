"""The registry's Step Functions state machines (infra/registry.py ``STATE_MACHINES``).

Each is built from its ASL file (``DefinitionBody.from_string``: inlined in the template, no
asset) with the declared substitutions: ``${<Task>FunctionArn}`` -> that function's ARN, the
same values the local stack substitutes. Standard type (the installation waits days for a
technician: ``.waitForTaskToken``), X-Ray tracing, and logging of ALL events to its own log
group **without execution data**: inputs and outputs carry task tokens (credentials to move an
order on) and order ids, and error causes may quote customer data; the event history with
state names, error names and timings is what operations need.

Its role may invoke its task functions and nothing else (plus the log delivery and X-Ray calls
that AWS only allows on ``*``). The functions' ``statemachine:<name>`` grants are applied here,
after the state machine exists: ``start`` -> ``states:StartExecution`` on it, ``task_response``
-> ``SendTaskSuccess/Failure/Heartbeat`` (given to the API that receives the callbacks, never
to a task function, which would make the stack circular).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import registry
from infra.constructs.resources import Resources, acknowledge, logical_id, pascal
from infra.registry import StateMachineSpec

ROOT = Path(__file__).resolve().parents[2]
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        resources: Resources,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for spec in registry.STATE_MACHINES:
            machine = self._state_machine(spec, functions)
            self.state_machines[spec.name] = machine
            resources.state_machines[spec.name] = machine
        self._grant(functions)

    def _state_machine(
        self, spec: StateMachineSpec, functions: dict[str, lambda_.Function]
    ) -> sfn.StateMachine:
        name = pascal(spec.name)
        missing = [task for task in spec.tasks if task not in functions]
        if missing:
            raise ValueError(f"state machine {spec.name}: tasks {missing} are not registry functions")
        # Under /aws/vendedlogs/: Step Functions (like every vended log source) then needs no
        # entry in the account's CloudWatch Logs resource policy, whose 5,120-character limit
        # a few state machines with arbitrary log group names exhaust.
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-{spec.name}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.log_groups[spec.name] = log_group
        tasks = {task: functions[task] for task in spec.tasks}
        substitutions = {
            placeholder: tasks[ref.resource.partition(":")[2]].function_arn
            for placeholder, ref in spec.substitutions.items()
        }
        machine = sfn.StateMachine(
            self,
            name,
            comment=spec.description,
            definition_body=sfn.DefinitionBody.from_string((ROOT / spec.definition).read_text()),
            definition_substitutions=substitutions,
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        # Like aws-lambda's Function, StateMachine adds DependsOn on its role, which RoleArn's
        # GetAtt already implies: cfn-lint W3005, harmless; ignored on this resource only.
        machine.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        for function in tasks.values():
            function.grant_invoke(machine.role)
        role = machine.role
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery (logs:CreateLogDelivery, GetLogDelivery, ListLogDeliveries, "
            "PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups...) and X-Ray "
            "(PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) support no "
            "resource-level permission: AWS requires Resource '*' for them.",
        )
        for task, function in tasks.items():
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical_id(function)}.Arn>:*]",
                f"Invoking {task}'s versions and aliases (grant_invoke covers '<arn>:*'); only the "
                "state machine's declared task functions are reachable.",
            )
        return machine

    def _grant(self, functions: dict[str, lambda_.Function]) -> None:
        for spec in registry.FUNCTIONS:
            for variable, value in spec.env.items():
                if isinstance(value, registry.Ref) and value.resource.startswith("statemachine:"):
                    target = self.state_machines[value.resource.partition(":")[2]]
                    functions[spec.name].add_environment(variable, target.state_machine_arn)
            for grant in spec.grants:
                kind, _, name = grant.resource.partition(":")
                if kind != "statemachine":
                    continue
                machine = self.state_machines.get(name)
                if machine is None:
                    raise ValueError(f"{spec.name}: grant on undeclared state machine {name!r}")
                if (
                    name
                    and spec.name in registry.state_machine(name).tasks
                    and grant.access == "task_response"
                ):
                    raise ValueError(
                        f"{spec.name} is a task of {name}: answering its callbacks from a task makes the "
                        "stack circular; grant task_response to the function that receives the callback"
                    )
                function = functions[spec.name]
                if grant.access == "start":
                    machine.grant_start_execution(function)
                elif grant.access == "task_response":
                    machine.grant_task_response(function)
                else:
                    raise NotImplementedError(f"no grant for {grant.access!r} on a state machine")
