"""Every registry queue: its dead-letter queue, encryption, TLS, and an alarm to ops-alarms."""

from __future__ import annotations

from typing import Any

import pytest

from infra import registry
from infra.app import STACK_NAME
from infra.constructs.messaging import ALARM_TOPIC
from tests.infra.template import Synthesized, references


def _queue_named(synth: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, res["Properties"])
        for key, res in synth.of_type("AWS::SQS::Queue").items()
        if res["Properties"].get("QueueName") == name
    ]
    return found


def _denies_insecure_transport(synth: Synthesized, queue_id: str) -> bool:
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        if {"Ref": queue_id} in policy["Properties"]["Queues"]:
            return any(
                s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
            )
    return False


def test_only_declared_queues_exist(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::SQS::Queue")) == 2 * len(registry.QUEUES)


@pytest.mark.parametrize("spec", registry.QUEUES, ids=lambda spec: spec.name)
def test_queue_has_its_dead_letter_queue(synth: Synthesized, spec: registry.QueueSpec) -> None:
    queue_id, queue = _queue_named(synth, f"{STACK_NAME}-{spec.name}")
    dlq_id, dlq = _queue_named(synth, f"{STACK_NAME}-{spec.name}-dlq")
    assert queue_id == synth.id_of(f"queue:{spec.name}")
    assert spec.max_receive_count == 5
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
    assert queue["MessageRetentionPeriod"] == spec.retention_days * 86400
    assert dlq["MessageRetentionPeriod"] == spec.dlq_retention_days * 86400
    for key, props in ((queue_id, queue), (dlq_id, dlq)):
        assert props["SqsManagedSseEnabled"] is True
        assert _denies_insecure_transport(synth, key)


@pytest.mark.parametrize("spec", registry.QUEUES, ids=lambda spec: spec.name)
def test_dead_letter_queue_alarm_notifies_ops(synth: Synthesized, spec: registry.QueueSpec) -> None:
    dlq_id, _ = _queue_named(synth, f"{STACK_NAME}-{spec.name}-dlq")
    topic_id = synth.id_of(f"topic:{ALARM_TOPIC}")
    (alarm,) = [
        res["Properties"]
        for res in synth.of_type("AWS::CloudWatch::Alarm").values()
        if dlq_id in references(res["Properties"].get("Dimensions", []))
    ]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(synth: Synthesized) -> None:
    topic = synth.resources[synth.id_of(f"topic:{ALARM_TOPIC}")]["Properties"]
    (key_id,) = references(topic["KmsMasterKeyId"])
    key = synth.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= {a for s in cloudwatch for a in s["Action"]}


def test_topics_match_the_registry(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::SNS::Topic")) == len(registry.TOPICS)
