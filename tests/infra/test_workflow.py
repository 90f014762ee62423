"""The order workflow's state machine in the template: type, definition, logging, tracing, and
the least privilege of its role and of the functions that start it or answer its callbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra import registry
from tests.infra.template import Synthesized, as_list, references

ROOT = Path(__file__).resolve().parents[2]
SPEC = registry.state_machine("order_workflow")


def _machine(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = synth.of_type("AWS::StepFunctions::StateMachine").items()
    return found[0], found[1]["Properties"]


def _role_statements(synth: Synthesized, role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    statements += [
        s
        for p in synth.resources[role_id]["Properties"].get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    ]
    return statements


def test_standard_state_machine_from_the_asl_file(synth: Synthesized) -> None:
    _, props = _machine(synth)
    assert props["StateMachineType"] == "STANDARD"  # waitForTaskToken for days: not Express
    definition = props["DefinitionString"]
    text = definition if isinstance(definition, str) else json.dumps(definition)
    assert '"StartAt": "Entry"' in (ROOT / SPEC.definition).read_text()
    # Inlined from the file (no S3 asset), with the declared placeholders left for CloudFormation.
    assert "${OrderReceptionFunctionArn}" in text
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", (ROOT / SPEC.definition).read_text()))
    assert placeholders == set(SPEC.substitutions)
    subs = props["DefinitionSubstitutions"]
    assert set(subs) == set(SPEC.substitutions)
    for placeholder, ref in SPEC.substitutions.items():
        function = ref.resource.partition(":")[2]
        assert subs[placeholder] == {"Fn::GetAtt": [synth.function_id(function), "Arn"]}


def test_logs_every_event_without_execution_data_and_traces(synth: Synthesized) -> None:
    _, props = _machine(synth)
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Task tokens (credentials) and customer data travel in the inputs: not in the logs.
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    (group,) = references(destination["CloudWatchLogsLogGroup"]["LogGroupArn"])
    assert synth.resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert synth.resources[group]["Properties"]["RetentionInDays"] > 0
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_role_invokes_only_its_task_functions(synth: Synthesized) -> None:
    _, props = _machine(synth)
    (role_id,) = references(props["RoleArn"])
    role = synth.resources[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    assert role.get("ManagedPolicyArns", []) == []
    tasks = {synth.function_id(name) for name in SPEC.tasks}
    invoked: set[str] = set()
    for statement in _role_statements(synth, role_id):
        assert statement["Effect"] == "Allow"
        actions = set(as_list(statement["Action"]))
        if "lambda:InvokeFunction" in actions:
            assert actions == {"lambda:InvokeFunction"}
            for resource in as_list(statement["Resource"]):
                invoked |= references(resource)
            continue
        # Everything else is log delivery and X-Ray, which AWS only allows on "*".
        assert statement["Resource"] == "*"
        assert {a.split(":")[0] for a in actions} <= {"logs", "xray"}
        assert not any(
            a.startswith("logs:") and a in {"logs:PutLogEvents", "logs:DeleteLogGroup"} for a in actions
        )
    assert invoked == tasks
    assert synth.function_id("order_workflow_api") not in invoked
    assert synth.function_id("survey_api") not in invoked


def test_who_starts_executions_and_who_answers_callbacks(synth: Synthesized) -> None:
    """The API starts quote orders and answers callbacks; the processor starts delivered
    e-commerce orders at Satisfaction; nothing else touches the state machine."""
    machine_id, _ = _machine(synth)
    allowed: dict[str, set[str]] = {}
    for spec in registry.FUNCTIONS:
        for statement in synth.statements(spec.name):
            for action in as_list(statement["Action"]):
                if action.startswith("states:"):
                    assert references(statement["Resource"]) == {machine_id}
                    allowed.setdefault(spec.name, set()).add(action)
    assert allowed == {
        "order_workflow_api": {
            "states:StartExecution",
            "states:SendTaskSuccess",
            "states:SendTaskFailure",
            "states:SendTaskHeartbeat",
        },
        "inbound_processor": {"states:StartExecution"},
    }
    # No task function may answer a callback: that would make the stack circular.
    assert not set(SPEC.tasks) & set(allowed)


def test_the_api_gets_the_state_machine_arn(synth: Synthesized) -> None:
    machine_id, _ = _machine(synth)
    env = synth.function("order_workflow_api")["Environment"]["Variables"]
    assert env["ORDER_WORKFLOW_ARN"] == {"Ref": machine_id}


@pytest.mark.parametrize(
    "name", ["order_reception", "order_preparation", "order_billing", "survey_reminders"]
)
def test_alerting_steps_send_email_from_the_sender_only_and_sms_never_to_a_topic(
    synth: Synthesized, name: str
) -> None:
    statements = list(synth.statements(name))
    (ses,) = [s for s in statements if "ses:SendEmail" in as_list(s["Action"])]
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": registry.ALERT_SENDER}}
    identities = json.dumps(ses["Resource"])
    assert "identity/*" not in identities
    domain = registry.ALERT_SENDER.rpartition("@")[2]
    assert f":identity/{registry.ALERT_SENDER}" in identities and f":identity/{domain}" in identities
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert as_list(deny["Action"]) == ["sns:Publish"] and ":sns:*:*:*" in json.dumps(deny["Resource"])


def test_the_incident_step_cannot_alert_customers(synth: Synthesized) -> None:
    actions = {a for s in synth.statements("order_incident") for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith(("ses:", "sns:", "s3:", "states:"))}


def test_documents_are_written_by_billing_and_the_api_and_read_by_the_api_only(synth: Synthesized) -> None:
    """Billing writes invoices; the order API signs the technicians' photo uploads (a presigned
    POST carries its role's s3:PutObject) and the links to documents."""
    bucket = synth.id_of("bucket:documents")
    writers, readers = set(), set()
    for spec in registry.FUNCTIONS:
        for statement in synth.statements(spec.name):
            if bucket in references(statement["Resource"]):
                actions = set(as_list(statement["Action"]))
                if "s3:PutObject" in actions:
                    writers.add(spec.name)
                if "s3:GetObject*" in actions:
                    readers.add(spec.name)
    assert writers == {"order_billing", "order_workflow_api"}
    assert readers == {"order_workflow_api"}


def test_the_survey_reminder_runs_daily(synth: Synthesized) -> None:
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
    (rule,) = [r for r in rules if r.get("ScheduleExpression") == "cron(0 8 * * ? *)"]
    assert [references(t["Arn"]) for t in rule["Targets"]] == [{synth.function_id("survey_reminders")}]


def test_deployment_contexts_for_the_alert_sender_and_the_provisioning_system() -> None:
    from types import SimpleNamespace

    from infra.constructs.functions import environment
    from infra.stack import alert_sender, provisioning_url

    assert alert_sender(None, None) is None  # the registry's value stays
    assert alert_sender(None, "support.shop.example") == "orders@support.shop.example"
    assert alert_sender("Commandes@Shop.Example", None) == "commandes@shop.example"
    for bad in ("nobody", "a+b@shop.example", "x@localhost"):
        with pytest.raises(ValueError, match="alertSender"):
            alert_sender(bad, None)
    assert provisioning_url(None) is None
    assert provisioning_url("https://prov.example/api/") == "https://prov.example/api"
    with pytest.raises(ValueError, match="provisioningUrl"):
        provisioning_url("http://prov.example")
    resources = SimpleNamespace(
        env_overrides={"ALERT_SENDER": "orders@shop.example", "PROVISIONING_URL": "https://prov.example"},
        attribute=lambda ref: f"<{ref.resource}.{ref.attribute}>",
    )
    env = environment(registry.function("order_preparation"), resources)  # type: ignore[arg-type]
    assert env["ALERT_SENDER"] == "orders@shop.example" and env["PROVISIONING_URL"] == "https://prov.example"
    assert "PROVISIONING_URL" not in environment(registry.function("order_billing"), resources)  # type: ignore[arg-type]
