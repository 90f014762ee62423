"""Every failure is seen (issue 15 #7): an alarm per failure mode, all on the one ops topic, a
dashboard, and a runbook entry in docs/operations.md for each kind of alarm.
Also the deploy traps of item 14 that live in the same templates."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra import build, registry
from infra.constructs.messaging import ALARM_TOPIC
from infra.constructs.monitoring import schedule_interval_s
from infra.constructs.resources import _grant_ses
from tests.infra.template import Synthesized, references

KINDS = ("queue-age", "errors", "throttles", "api-5xx", "executions-failed", "schedule-stopped")


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Alarm name without the stack prefix -> its properties."""
    alarms = {}
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "AlarmName" in props:
            alarms[props["AlarmName"].removeprefix(f"{synth.stack.stack_name}-")] = props
    return alarms


def _metric(props: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    dimensions = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
    return props["Namespace"], props["MetricName"], dimensions


def _math(props: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """id -> (namespace, metric, dimensions) of a metric-math alarm's inputs."""
    found = {}
    for query in props["Metrics"]:
        if "MetricStat" in query:
            stat = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])}
            found[query["Id"]] = (stat["Namespace"], stat["MetricName"], dims)
    return found


def test_every_alarm_notifies_the_ops_topic_when_it_fires_and_clears(synth: Synthesized) -> None:
    topic = synth.id_of(f"topic:{ALARM_TOPIC}")
    alarms = _alarms(synth)
    assert alarms
    for name, props in alarms.items():
        assert references(props["AlarmActions"]) == {topic}, name
        assert references(props["OKActions"]) == {topic}, name
        kind = next(k for k in KINDS if name.startswith(k))
        assert f"alarm '{kind}'" in props["AlarmDescription"]


def test_the_age_of_the_oldest_message_of_each_queue(synth: Synthesized) -> None:
    alarms = _alarms(synth)
    for spec in registry.QUEUES:
        props = alarms[f"queue-age-{spec.name}"]
        namespace, metric, dims = _metric(props)
        assert (namespace, metric) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
        assert references(dims["QueueName"]) == {synth.id_of(f"queue:{spec.name}")}
        assert props["Threshold"] == spec.max_age_s
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_errors_and_throttles_of_every_function(synth: Synthesized) -> None:
    alarms = _alarms(synth)
    for spec in registry.FUNCTIONS:
        for kind, metric_name, threshold in (
            ("errors", "Errors", registry.ERRORS_ALARM_THRESHOLD),
            ("throttles", "Throttles", 1),
        ):
            props = alarms[f"{kind}-{spec.name}"]
            namespace, metric, dims = _metric(props)
            assert (namespace, metric) == ("AWS/Lambda", metric_name)
            assert references(dims["FunctionName"]) == {synth.function_id(spec.name)}
            assert props["Threshold"] == threshold
            assert props["Statistic"] == "Sum"
            assert props["TreatMissingData"] == "notBreaching"


def test_api_5xx(synth: Synthesized) -> None:
    props = _alarms(synth)["api-5xx"]
    namespace, metric, dims = _metric(props)
    assert (namespace, metric) == ("AWS/ApiGateway", "5xx")
    assert references(dims["ApiId"]) == {synth.id_of("api")}


def test_failed_executions_of_every_state_machine(synth: Synthesized) -> None:
    alarms = _alarms(synth)
    for machine in registry.STATE_MACHINES:
        props = alarms[f"executions-failed-{machine.name}"]
        inputs = _math(props)
        assert {metric for _, metric, _ in inputs.values()} == {
            "ExecutionsFailed",
            "ExecutionsTimedOut",
            "ExecutionsAborted",
        }
        construct = synth.stack.workflow.state_machines[machine.name]
        machine_id = synth.stack.get_logical_id(construct.node.default_child)
        for namespace, _, dims in inputs.values():
            assert namespace == "AWS/States"
            assert references(dims["StateMachineArn"]) == {machine_id}
        assert props["Threshold"] == 1


def test_the_sla_check_not_running_is_an_alarm(synth: Synthesized) -> None:
    props = _alarms(synth)["schedule-stopped-sla-check"]
    inputs = _math(props)
    assert {metric for _, metric, _ in inputs.values()} == {"Invocations", "Errors"}
    for _, _, dims in inputs.values():
        assert references(dims["FunctionName"]) == {synth.function_id("sla_check")}
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["Threshold"] == 1
    assert props["TreatMissingData"] == "breaching"  # no data at all: it is not running
    (expression,) = [q for q in props["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "FILL(invocations, 0) - FILL(errors, 0)"
    window = 3 * schedule_interval_s("rate(5 minutes)")  # type: ignore[operator]
    assert {q["MetricStat"]["Period"] for q in props["Metrics"] if "MetricStat" in q} == {window}


def test_every_kind_of_alarm_has_its_runbook_entry() -> None:
    operations = (build.ROOT / "docs" / "operations.md").read_text()
    for kind in (*KINDS, "dead-letter"):
        assert re.search(rf"^### `{re.escape(kind)}", operations, re.M), kind


def test_the_dashboard_shows_the_alarms_and_each_part(synth: Synthesized) -> None:
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    for title in ("Alarms", "API requests", "Queues: age of the oldest message", "Lambda errors"):
        assert title in body
    for machine in registry.STATE_MACHINES:
        assert f"{machine.name} executions" in body


# ------------------------------------------------------------------- deploy traps (item 14)
def test_state_machine_logs_are_vended_logs(synth: Synthesized) -> None:
    """Log groups outside /aws/vendedlogs/ each take room in the account's CloudWatch Logs
    resource policy (5,120 characters): a few deployments exhaust it."""
    for machine in registry.STATE_MACHINES:
        group = synth.stack.workflow.log_groups[machine.name]
        props = synth.resources[synth.stack.get_logical_id(group.node.default_child)]["Properties"]
        assert props["LogGroupName"].startswith("/aws/vendedlogs/states/")
        assert props["LogGroupName"].endswith(machine.name)


def test_ses_sending_covers_the_configuration_set_when_one_is_configured() -> None:
    def statement(configuration_set: str | None) -> dict[str, Any]:
        stack = Stack(App(), "Probe")
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        _grant_ses(role, "support@shop.example", configuration_set)
        (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        (found,) = policy["Properties"]["PolicyDocument"]["Statement"]
        return found

    without = statement(None)
    assert len(without["Resource"]) == 2  # the address's identity and its domain's
    with_set = statement("guichet-events")
    assert len(with_set["Resource"]) == 3
    assert with_set["Resource"][2]["Fn::Join"][1][-1] == ":configuration-set/guichet-events"
    assert with_set["Condition"] == {"StringEquals": {"ses:FromAddress": "support@shop.example"}}
