"""Every registry function: runtime, tracing, logs, environment, triggers, and least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import build, registry
from infra.registry import FunctionSpec, Grant
from tests.infra.probe import PROBE
from tests.infra.template import Synthesized, as_list, references

FUNCTIONS = registry.FUNCTIONS
# (fixture name of the synthesized stack, function spec): the registry's functions in the
# real stack, and the test-only PROBE function in the probe stack.
CASES = [("synth", spec) for spec in FUNCTIONS] + [("probe", PROBE)]
CASE_IDS = [spec.name for _, spec in CASES]

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
    ("bucket", "read"): {"s3:GetObject*", "s3:GetBucket*", "s3:List*"},
    ("bucket", "write"): {
        "s3:PutObject",
        "s3:PutObjectLegalHold",
        "s3:PutObjectRetention",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:Abort*",
    },
}
# Grants that name no declared construct (registry.Access): SES from the alert sender, SMS, and
# the state machines (built by infra/constructs/workflow.py, after the functions).
# Order alerts: SES on the identities of registry.ALERT_SENDER (the address and its domain) only.
ALLOWED_ACTIONS[("email", "send")] = {"ses:SendEmail", "ses:SendRawEmail"}
ALERT_IDENTITIES = [
    f"ses:identity/{name}" for name in (registry.ALERT_SENDER, registry.ALERT_SENDER.rpartition("@")[2])
]
# Replies: SES on the identities of registry.SUPPORT_EMAIL_FROM (the address and its domain) only.
ALLOWED_ACTIONS[("ses", "send")] = {"ses:SendEmail", "ses:SendRawEmail"}
SUPPORT_IDENTITIES = [
    f"ses:identity/{name}"
    for name in (registry.SUPPORT_EMAIL_FROM, registry.SUPPORT_EMAIL_FROM.rpartition("@")[2])
]
ALLOWED_ACTIONS[("sms", "send")] = {"sns:Publish"}
ALLOWED_ACTIONS[("statemachine", "start")] = {"states:StartExecution"}
ALLOWED_ACTIONS[("statemachine", "task_response")] = {
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "states:SendTaskHeartbeat",
}
ALLOWED_ACTIONS[("table", "read_write")] = (
    ALLOWED_ACTIONS[("table", "read")] | ALLOWED_ACTIONS[("table", "write")]
)
ALLOWED_ACTIONS[("bucket", "read_write")] = (
    ALLOWED_ACTIONS[("bucket", "read")] | ALLOWED_ACTIONS[("bucket", "write")] | {"s3:DeleteObject*"}
)
# On the key of an encrypted topic, for ("topic", "publish").
TOPIC_KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey*"}
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
    ("bucket", "read"): {"s3:GetObject*"},
    ("bucket", "write"): {"s3:PutObject"},
    ("bucket", "read_write"): {"s3:GetObject*", "s3:PutObject", "s3:DeleteObject*"},
    ("email", "send"): {"ses:SendEmail"},
    ("ses", "send"): {"ses:SendEmail", "ses:SendRawEmail"},
    ("sms", "send"): {"sns:Publish"},
    ("statemachine", "start"): {"states:StartExecution"},
    ("statemachine", "task_response"): {"states:SendTaskSuccess", "states:SendTaskFailure"},
}
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _targets(synth: Synthesized, grant: Grant) -> list[str]:
    """The logical ids a grant applies to ("*" for SMS, symbols for the SES identities)."""
    kind = grant.resource.partition(":")[0]
    if kind == "email":
        return ALERT_IDENTITIES
    if kind == "ses":
        return SUPPORT_IDENTITIES
    if kind == "sms":
        return ["*"]
    return [synth.id_of(grant.resource)]


def _ses_identity(resource: Any) -> str | None:
    """``ses:identity/<name>`` for an SES identity ARN built from pseudo parameters only."""
    text = json.dumps(resource)
    if ":ses:" not in text or ":identity/" not in text or references(resource):
        return None
    if isinstance(resource, dict) and "Fn::Join" in resource:
        last = resource["Fn::Join"][1][-1]
        return "ses:identity/" + str(last).rpartition(":identity/")[2]
    return "ses:identity/" + str(resource).rpartition(":identity/")[2]


def _allowed(synth: Synthesized, spec: FunctionSpec) -> dict[str, set[str]]:
    """Logical id -> actions the function may have on it."""
    allowed: dict[str, set[str]] = {}
    for grant in spec.grants:
        kind = grant.resource.partition(":")[0]
        targets = _targets(synth, grant)
        for target in targets:
            allowed.setdefault(target, set()).update(ALLOWED_ACTIONS[(kind, grant.access)])
        target = targets[0]
        if kind == "topic" and "KmsMasterKeyId" in synth.resources[target]["Properties"]:
            for key in references(synth.resources[target]["Properties"]["KmsMasterKeyId"]):
                allowed.setdefault(key, set()).update(TOPIC_KEY_ACTIONS)
    log_group = references(synth.function(spec.name)["LoggingConfig"]["LogGroup"])
    for group in log_group:
        allowed[group] = {"logs:CreateLogStream", "logs:PutLogEvents"}
    return allowed


def _granted(synth: Synthesized, spec: FunctionSpec) -> list[tuple[str, str]]:
    """(action, logical id or "*") pairs of every Allow statement of the function's role."""
    pairs = []
    for statement in synth.statements(spec.name):
        if statement["Effect"] == "Deny":  # a Deny only narrows what is allowed (see test_sms_*)
            continue
        assert statement["Effect"] == "Allow"
        targets = []
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                targets.append("*")
            elif _ses_identity(resource) is not None:
                targets.append(str(_ses_identity(resource)))
            else:
                (target,) = references(resource)  # e.g. the table, for "<table arn>/index/*"
                targets.append(target)
        pairs += [(action, target) for action in as_list(statement["Action"]) for target in targets]
    return pairs


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_runtime_architecture_tracing_and_sizing(
    request: pytest.FixtureRequest, stack: str, spec: FunctionSpec
) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    props = synth.function(spec.name)
    assert props["Runtime"] == build.LAMBDA_RUNTIME  # the tests' version (test_python_version.py)
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert references(props["Layers"]) == {
        synth.stack.resolve(synth.stack.functions.layer.layer_version_arn)["Ref"]
    }


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_own_log_group_with_retention(request: pytest.FixtureRequest, stack: str, spec: FunctionSpec) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    (log_group,) = references(synth.function(spec.name)["LoggingConfig"]["LogGroup"])
    resource = synth.resources[log_group]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert resource["Properties"]["RetentionInDays"] > 0
    others = [
        synth.function(other)["LoggingConfig"]["LogGroup"]
        for other in synth.stack.functions.functions
        if other != spec.name
    ]
    assert {"Ref": log_group} not in others


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_environment_is_common_env_plus_resolved_refs(
    request: pytest.FixtureRequest, stack: str, spec: FunctionSpec
) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    env = synth.function(spec.name)["Environment"]["Variables"]
    assert set(env) == set(registry.COMMON_ENV) | set(spec.env)
    for name, value in registry.COMMON_ENV.items():
        assert env[name] == value
    for name, value in spec.env.items():
        if isinstance(value, str):
            assert env[name] == value
        else:
            assert references(env[name]) == {synth.ref_target(value)}
            assert env[name] == synth.stack.resolve(synth.stack.resources.attribute(value))


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_sqs_event_source(request: pytest.FixtureRequest, stack: str, spec: FunctionSpec) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
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


def test_schedules_are_eventbridge_rules(synth: Synthesized, probe: Synthesized) -> None:
    def scheduled(stack: Synthesized) -> list[dict[str, Any]]:
        """Schedule rules (the others are registry.EVENT_RULES, see test_events.py)."""
        rules = [res["Properties"] for res in stack.of_type("AWS::Events::Rule").values()]
        return [rule for rule in rules if "ScheduleExpression" in rule]

    assert len(scheduled(synth)) == len(registry.all_schedules())
    # No registry function has a schedule yet: the probe stack adds one.
    rules = scheduled(probe)
    schedules = [*registry.all_schedules(), *((schedule, PROBE) for schedule in PROBE.schedules)]
    assert len(rules) == len(schedules) > 0
    for schedule, spec in schedules:
        (rule,) = [rule for rule in rules if rule["ScheduleExpression"] == schedule.expression]
        assert rule["State"] == "ENABLED"
        assert rule["Description"] == schedule.description
        assert [references(target["Arn"]) for target in rule["Targets"]] == [{probe.function_id(spec.name)}]


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_role_has_no_managed_policy(request: pytest.FixtureRequest, stack: str, spec: FunctionSpec) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    role = synth.resources[synth.role_id(spec.name)]["Properties"]
    assert role.get("ManagedPolicyArns", []) == []
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_permissions_are_implied_by_registry_grants(
    request: pytest.FixtureRequest, stack: str, spec: FunctionSpec
) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    allowed = _allowed(synth, spec)
    for action, target in _granted(synth, spec):
        if target == "*":
            sms = action == "sns:Publish" and Grant("sms", "send") in spec.grants
            assert action in XRAY or sms, f"{spec.name}: {action} on '*'"
            continue
        # /index/* of the table resolves to the table itself here
        assert action in allowed.get(target, set()), f"{spec.name}: {action} on {target} is not granted"


@pytest.mark.parametrize(("stack", "spec"), CASES, ids=CASE_IDS)
def test_every_registry_grant_is_effective(
    request: pytest.FixtureRequest, stack: str, spec: FunctionSpec
) -> None:
    synth: Synthesized = request.getfixturevalue(stack)
    granted = set(_granted(synth, spec))
    for grant in spec.grants:
        kind = grant.resource.partition(":")[0]
        for target in _targets(synth, grant):
            missing = {
                action for action in REQUIRED_ACTIONS[(kind, grant.access)] if (action, target) not in granted
            }
            assert not missing, f"{spec.name}: {grant} lacks {sorted(missing)} on {target}"


def test_form_webhook_sends_to_inbound_and_never_touches_the_table(synth: Synthesized) -> None:
    pairs = set(_granted(synth, registry.function("form_webhook")))
    assert ("sqs:SendMessage", synth.id_of("queue:inbound")) in pairs
    assert not [action for action, _ in pairs if action.startswith("dynamodb:")]
    assert not [action for action, _ in pairs if action in {"sqs:ReceiveMessage", "sqs:DeleteMessage"}]


def test_agent_api_touches_the_table_and_nothing_else(synth: Synthesized) -> None:
    """Agents change tickets and profiles (e.g. undo a merge), but reach no queue, bucket or topic."""
    pairs = set(_granted(synth, registry.function("agent_api")))
    table = synth.id_of("table")
    assert {("dynamodb:Query", table), ("dynamodb:UpdateItem", table)} <= pairs
    others = ("sqs:", "s3:", "sns:", "secretsmanager:")
    assert not [action for action, _ in pairs if action.startswith(others)]


def test_portal_api_enqueues_reads_and_writes_ratings(synth: Synthesized) -> None:
    """The customer space posts messages onto the inbound queue, reads the customer's own tickets
    (the handler checks ownership) and writes a rating of a solved ticket (a transaction and the
    KPI counters: POST /api/portal/tickets/{id}/rating). No bucket, no secret."""
    pairs = set(_granted(synth, registry.function("portal_api")))
    table = synth.id_of("table")
    assert ("sqs:SendMessage", synth.id_of("queue:inbound")) in pairs
    assert {("dynamodb:Query", table), ("dynamodb:PutItem", table), ("dynamodb:UpdateItem", table)} <= pairs
    actions = {action for action, _ in pairs}
    assert not [action for action in actions if action.startswith(("s3:", "secretsmanager:"))]


def test_inbound_processor_writes_the_table_and_consumes_inbound(synth: Synthesized) -> None:
    pairs = set(_granted(synth, registry.function("inbound_processor")))
    table, queue = synth.id_of("table"), synth.id_of("queue:inbound")
    assert {("dynamodb:PutItem", table), ("dynamodb:UpdateItem", table), ("dynamodb:Query", table)} <= pairs
    assert {("sqs:ReceiveMessage", queue), ("sqs:DeleteMessage", queue)} <= pairs
    # A batched delivery's pieces (fan-out) and deferred records go back on the queue; claim
    # checks are read back and, for large pieces, written.
    payloads = synth.id_of("bucket:payloads")
    assert {("sqs:SendMessage", queue), ("s3:GetObject*", payloads), ("s3:PutObject", payloads)} <= pairs


@pytest.mark.parametrize("name", ["meta_webhook", "twilio_webhook", "commerce_webhook"])
def test_provider_webhooks_may_write_claim_checks_and_nothing_else_in_s3(
    synth: Synthesized, name: str
) -> None:
    pairs = set(_granted(synth, registry.function(name)))
    payloads = synth.id_of("bucket:payloads")
    s3 = {(action, target) for action, target in pairs if action.startswith("s3:")}
    assert ("s3:PutObject", payloads) in s3
    assert {target for _, target in s3} == {payloads}
    assert not {action for action, _ in s3} & {"s3:GetObject", "s3:GetObject*", "s3:DeleteObject*"}


def test_claim_checks_expire_after_the_queue_and_dlq_retention(synth: Synthesized) -> None:
    bucket = synth.resources[synth.id_of("bucket:payloads")]["Properties"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    inbound = next(q for q in registry.QUEUES if q.name == "inbound")
    assert rules["expire-objects"]["ExpirationInDays"] > inbound.retention_days + inbound.dlq_retention_days


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


@pytest.mark.parametrize("name", ["meta_webhook", "twilio_webhook"])
def test_provider_webhooks_only_enqueue_and_read_their_secret(synth: Synthesized, name: str) -> None:
    queue, secret = synth.id_of("queue:inbound"), synth.id_of("secret:webhooks")
    spec = registry.function(name)
    log_groups = references(synth.function(name)["LoggingConfig"]["LogGroup"])
    pairs = {
        (action, target)
        for action, target in _granted(synth, spec)
        if target not in log_groups and action not in XRAY
    }
    payloads = synth.id_of("bucket:payloads")  # claim checks of large deliveries
    assert {("sqs:SendMessage", queue), ("secretsmanager:GetSecretValue", secret)} <= pairs
    assert {target for _, target in pairs} == {queue, secret, payloads}
    assert pairs <= (
        {(action, queue) for action in ALLOWED_ACTIONS[("queue", "send")]}
        | {(action, secret) for action in ALLOWED_ACTIONS[("secret", "read")]}
        | {(action, payloads) for action in ALLOWED_ACTIONS[("bucket", "write")]}
    )
    assert not [action for action, _ in pairs if action.startswith(("dynamodb:", "sns:", "kms:"))]


def test_inbound_processor_reads_and_writes_the_attachments_bucket(synth: Synthesized) -> None:
    pairs = set(_granted(synth, registry.function("inbound_processor")))
    bucket = synth.id_of("bucket:attachments")
    assert {("s3:GetObject*", bucket), ("s3:PutObject", bucket), ("s3:List*", bucket)} <= pairs
    payloads = synth.id_of("bucket:payloads")  # claim checks
    assert {target for action, target in pairs if action.startswith("s3:")} == {bucket, payloads}
    assert not [action for action, _ in pairs if action.startswith(("sns:", "secretsmanager:"))]
