"""Every registry function: runtime, tracing, logs, environment, triggers, and least privilege."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import registry
from infra.registry import FunctionSpec
from tests.infra.template import Synthesized, as_list, references

FUNCTIONS = registry.FUNCTIONS
ids = [spec.name for spec in FUNCTIONS]

# What each registry access may allow, written independently of infra/constructs.
ALLOWED_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("table", "read"): {
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:Query",
        "dynamodb:Scan",
    },
    ("table", "write"): {
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    },
    ("queue", "send"): {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
    ("queue", "consume"): {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    },
    ("secret", "read"): {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
    ("topic", "publish"): {"sns:Publish"},
}
ALLOWED_ACTIONS[("table", "read_write")] = (
    ALLOWED_ACTIONS[("table", "read")] | ALLOWED_ACTIONS[("table", "write")]
)
# The core actions each access must give (the grant works at all).
REQUIRED_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("table", "read"): {"dynamodb:GetItem", "dynamodb:Query"},
    ("table", "write"): {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    ("table", "read_write"): {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    },
    ("queue", "send"): {"sqs:SendMessage"},
    ("queue", "consume"): {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"},
    ("secret", "read"): {"secretsmanager:GetSecretValue"},
    ("topic", "publish"): {"sns:Publish"},
}
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _allowed(synth: Synthesized, spec: FunctionSpec) -> dict[str, set[str]]:
    """Logical id -> actions the function may have on it."""
    allowed: dict[str, set[str]] = {}
    for grant in spec.grants:
        kind = grant.resource.partition(":")[0]
        allowed.setdefault(synth.id_of(grant.resource), set()).update(ALLOWED_ACTIONS[(kind, grant.access)])
    log_group = references(synth.function(spec.name)["LoggingConfig"]["LogGroup"])
    for group in log_group:
        allowed[group] = {"logs:CreateLogStream", "logs:PutLogEvents"}
    return allowed


def _granted(synth: Synthesized, spec: FunctionSpec) -> list[tuple[str, str]]:
    """(action, logical id or "*") pairs of every Allow statement of the function's role."""
    pairs = []
    for statement in synth.statements(spec.name):
        assert statement["Effect"] == "Allow"
        targets = [
            "*" if resource == "*" else next(iter(references(resource)))
            for resource in as_list(statement["Resource"])
        ]
        pairs += [(action, target) for action in as_list(statement["Action"]) for target in targets]
    return pairs


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_runtime_architecture_tracing_and_sizing(synth: Synthesized, spec: FunctionSpec) -> None:
    props = synth.function(spec.name)
    match = re.fullmatch(r"python3\.(\d+)", props["Runtime"])
    assert match and int(match.group(1)) >= 12
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert references(props["Layers"]) == {
        synth.stack.resolve(synth.stack.functions.layer.layer_version_arn)["Ref"]
    }


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_own_log_group_with_retention(synth: Synthesized, spec: FunctionSpec) -> None:
    (log_group,) = references(synth.function(spec.name)["LoggingConfig"]["LogGroup"])
    resource = synth.resources[log_group]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert resource["Properties"]["RetentionInDays"] > 0
    others = [synth.function(other.name)["LoggingConfig"]["LogGroup"] for other in FUNCTIONS if other != spec]
    assert {"Ref": log_group} not in others


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_environment_is_common_env_plus_resolved_refs(synth: Synthesized, spec: FunctionSpec) -> None:
    env = synth.function(spec.name)["Environment"]["Variables"]
    assert set(env) == set(registry.COMMON_ENV) | set(spec.env)
    for name, value in registry.COMMON_ENV.items():
        assert env[name] == value
    for name, value in spec.env.items():
        if isinstance(value, str):
            assert env[name] == value
        else:
            assert references(env[name]) == {synth.id_of(value.resource)}
            assert env[name] == synth.stack.resolve(synth.stack.resources.attribute(value))


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_sqs_event_source(synth: Synthesized, spec: FunctionSpec) -> None:
    function_id = synth.function_id(spec.name)
    mappings = [
        res["Properties"]
        for res in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if res["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    if spec.consumes is None:
        assert mappings == []
        return
    (mapping,) = mappings
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [synth.id_of(f"queue:{spec.consumes}"), "Arn"]}
    assert mapping["BatchSize"] == spec.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_schedules_are_eventbridge_rules(synth: Synthesized) -> None:
    rules = [res["Properties"] for res in synth.of_type("AWS::Events::Rule").values()]
    assert len(rules) == len(registry.all_schedules())
    for schedule, spec in registry.all_schedules():
        (rule,) = [rule for rule in rules if rule["ScheduleExpression"] == schedule.expression]
        assert rule["State"] == "ENABLED"
        assert [references(target["Arn"]) for target in rule["Targets"]] == [{synth.function_id(spec.name)}]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_role_has_no_managed_policy(synth: Synthesized, spec: FunctionSpec) -> None:
    role = synth.resources[synth.role_id(spec.name)]["Properties"]
    assert role.get("ManagedPolicyArns", []) == []
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_permissions_are_implied_by_registry_grants(synth: Synthesized, spec: FunctionSpec) -> None:
    allowed = _allowed(synth, spec)
    for action, target in _granted(synth, spec):
        if target == "*":
            assert action in XRAY, f"{spec.name}: {action} on '*'"
            continue
        # /index/* of the table resolves to the table itself here
        assert action in allowed.get(target, set()), f"{spec.name}: {action} on {target} is not granted"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=ids)
def test_every_registry_grant_is_effective(synth: Synthesized, spec: FunctionSpec) -> None:
    granted = set(_granted(synth, spec))
    for grant in spec.grants:
        kind = grant.resource.partition(":")[0]
        target = synth.id_of(grant.resource)
        missing = {
            action for action in REQUIRED_ACTIONS[(kind, grant.access)] if (action, target) not in granted
        }
        assert not missing, f"{spec.name}: {grant} lacks {sorted(missing)}"


def test_form_webhook_sends_to_inbound_and_never_touches_the_table(synth: Synthesized) -> None:
    pairs = set(_granted(synth, registry.function("form_webhook")))
    assert ("sqs:SendMessage", synth.id_of("queue:inbound")) in pairs
    assert not [action for action, _ in pairs if action.startswith("dynamodb:")]
    assert not [action for action, _ in pairs if action in {"sqs:ReceiveMessage", "sqs:DeleteMessage"}]


def test_agent_api_only_reads_the_table(synth: Synthesized) -> None:
    actions = {action for action, _ in _granted(synth, registry.function("agent_api"))}
    dynamodb = {action for action in actions if action.startswith("dynamodb:")}
    assert dynamodb
    assert dynamodb <= ALLOWED_ACTIONS[("table", "read")]
    assert not actions & DYNAMODB_WRITES
    assert not [action for action in actions if action.startswith(("sqs:", "s3:", "sns:"))]


def test_inbound_processor_writes_the_table_and_consumes_inbound(synth: Synthesized) -> None:
    pairs = set(_granted(synth, registry.function("inbound_processor")))
    table, queue = synth.id_of("table"), synth.id_of("queue:inbound")
    assert {("dynamodb:PutItem", table), ("dynamodb:UpdateItem", table), ("dynamodb:Query", table)} <= pairs
    assert {("sqs:ReceiveMessage", queue), ("sqs:DeleteMessage", queue)} <= pairs
    assert ("sqs:SendMessage", queue) not in pairs


def test_handlers_exist_in_the_packaged_code(artifacts: tuple[Any, Any]) -> None:
    """build/lambda holds, for every registry function, a module defining its handler."""
    import ast

    code_dir, _ = artifacts
    for spec in FUNCTIONS:
        module = code_dir / (spec.module.replace(".", "/") + ".py")
        assert module.is_file(), f"{spec.name}: {module.relative_to(code_dir)} is not packaged"
        tree = ast.parse(module.read_text())
        names: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {target.id for target in targets if isinstance(target, ast.Name)}
            elif isinstance(node, ast.ImportFrom):
                names |= {alias.asname or alias.name for alias in node.names}
        assert spec.attribute in names, f"{spec.name}: {spec.module} defines no {spec.attribute!r}"
