"""Every Lambda function of infra/registry.py, made by one factory.

Each function gets: its own role (no managed policy: its log group, X-Ray, and exactly the
registry's grants), its own log group with a retention, the shared dependency layer, active
tracing, the registry's memory and timeout, and an environment of ``COMMON_ENV`` plus its
declared variables with each ``Ref`` resolved to a CDK token. ``consumes`` becomes an SQS
event source reporting partial batch failures; ``schedules`` become EventBridge rules.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import build, registry
from infra.constructs.resources import Resources, acknowledge, pascal
from infra.registry import FunctionSpec, Grant

RUNTIME = lambda_.Runtime(build.LAMBDA_RUNTIME, lambda_.RuntimeFamily.PYTHON)
ARCHITECTURE = lambda_.Architecture.ARM_64  # the layer's wheels are manylinux aarch64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def environment(spec: FunctionSpec, resources: Resources) -> dict[str, str]:
    """``COMMON_ENV`` plus the spec's variables, each ``Ref`` resolved to a CDK token and each
    literal replaced by its deployment value when the CDK context gives one."""
    env = dict(registry.COMMON_ENV)
    for name, value in spec.env.items():
        if isinstance(value, registry.Ref) and value.resource.startswith("statemachine:"):
            continue  # set by infra/constructs/workflow.py: the state machine is built after us
        if isinstance(value, str):
            env[name] = resources.env_overrides.get(name, value)
        else:
            env[name] = resources.attribute(value)
    return env


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: Resources,
        code_dir: Path,
        layer_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self._resources = resources
        self._code = lambda_.Code.from_asset(str(code_dir))
        self.layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=[".stamp"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Runtime dependencies of pyproject.toml (boto3 comes with the runtime)",
        )
        acknowledge(
            self,
            "AwsSolutions-L1",
            f"{RUNTIME.name} is pinned on purpose: it is the version the tests run on and the "
            "dependency layer is built for (pydantic-core binary wheels), declared once in "
            "pyproject.toml requires-python. Move it there, then run the tests on the new version.",
        )
        self.functions: dict[str, lambda_.Function] = {
            spec.name: self._function(spec) for spec in registry.FUNCTIONS
        }

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        name = pascal(spec.name)
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Guichet {spec.name}: its log group, X-Ray, and its registry grants only",
        )
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self._code,
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment=environment(spec, self._resources),
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
        )
        # aws-lambda's Function always adds DependsOn on its role, which the Role GetAtt
        # already implies: cfn-lint W3005 (redundant dependency), harmless. Ignored on this
        # resource only, in the template itself, so a bare `cfn-lint` run stays clean.
        function.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) "
            "support no resource-level permission: AWS requires Resource '*' for them.",
        )
        for grant in spec.grants:
            for finding, reason in self._resources.grant(grant, function):
                acknowledge(role, f"AwsSolutions-IAM5[{finding}]", reason)
        if spec.consumes is not None:
            self._consume(spec, function)
        for schedule in spec.schedules:
            events.Rule(
                self,
                f"{name}{pascal(schedule.name)}Schedule",
                description=schedule.description,
                schedule=events.Schedule.expression(schedule.expression),
                targets=[targets.LambdaFunction(function, retry_attempts=2)],
            )
        return function

    def _consume(self, spec: FunctionSpec, function: lambda_.Function) -> None:
        queue_key = f"queue:{spec.consumes}"
        if Grant(queue_key, "consume") not in spec.grants:
            raise ValueError(
                f"{spec.name} consumes {spec.consumes!r} without Grant({queue_key!r}, 'consume')"
            )
        queue_spec = next(queue for queue in registry.QUEUES if queue.name == spec.consumes)
        if queue_spec.visibility_timeout_s < spec.timeout_s:
            # Lambda refuses the event source mapping at deploy time; fail at synth instead.
            raise ValueError(
                f"queue {spec.consumes!r}: visibility timeout {queue_spec.visibility_timeout_s}s "
                f"is shorter than the timeout of {spec.name} ({spec.timeout_s}s)"
            )
        function.add_event_source(
            event_sources.SqsEventSource(
                self._resources.construct(queue_key),
                batch_size=spec.batch_size,
                report_batch_item_failures=True,
                max_concurrency=spec.max_concurrency,
            )
        )
