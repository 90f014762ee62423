"""Every AWS call a function made in this test session is allowed by its role as synthesized
(issue 15 #12). moto does not enforce IAM: without this, a route that writes with a read-only
role passes every local test and fails in AWS.

tests/conftest.py records the calls (infra/local/aws_calls.py): the integration tests' handlers
in-process, the e2e local stacks through ``LOCAL_AWS_CALLS_FILE``. The check runs after every
other test, so it sees the whole session; run alone, it has nothing to check and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.local.aws_calls import Call, read_calls
from tests.infra.permissions import violation
from tests.infra.template import Synthesized


@pytest.mark.after_everything
def test_every_call_a_function_made_is_granted_to_its_role(synth: Synthesized) -> None:
    calls = read_calls(Path(os.environ["LOCAL_AWS_CALLS_FILE"]))
    if not calls:
        pytest.skip("no function made an AWS call in this session (run it with tests/integration)")
    problems = sorted({v for call in calls if (v := violation(synth, call)) is not None})
    assert not problems, "calls the synthesized roles would refuse:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "call",
    [
        Call("health", "dynamodb:GetItem", "table", "guichet-test", ""),
        Call("form_webhook", "dynamodb:PutItem", "table", "guichet", ""),
        Call("form_webhook", "sqs:ReceiveMessage", "queue", "guichet-inbound", ""),
        Call("agent_api", "dynamodb:Query", "table", "guichet", "index"),  # granted
        Call("inbound_processor", "s3:PutObject", "bucket", "guichet-documents", "object"),
        Call("replies_api", "ses:SendEmail", "identity", "someone@else.example", ""),
        Call("order_reception", "sns:Publish", "topic", "guichet-supervisors", ""),  # SMS only
        Call("health", "secretsmanager:GetSecretValue", "secret", "guichet/webhooks", ""),
        Call("inbound_processor", "sqs:SendMessage", "queue", "inbound-dlq", ""),  # undeclared
    ],
    ids=lambda call: f"{call.function}-{call.action}",
)
def test_the_check_refuses_what_a_role_does_not_grant(synth: Synthesized, call: Call) -> None:
    refused = violation(synth, call)
    if call.function == "agent_api":
        assert refused is None
    else:
        assert refused is not None
        assert call.function in refused


def test_the_check_allows_what_the_registry_grants(synth: Synthesized) -> None:
    from infra import registry

    allowed = [
        Call("form_webhook", "sqs:SendMessage", "queue", "inbound", ""),
        Call("inbound_processor", "dynamodb:UpdateItem", "table", "guichet", ""),
        Call("inbound_processor", "dynamodb:ConditionCheckItem", "table", "guichet", ""),
        Call("inbound_processor", "s3:GetObject", "bucket", "guichet-attachments", "object"),
        Call("meta_webhook", "secretsmanager:GetSecretValue", "secret", "guichet/webhooks", ""),
        Call("sla_check", "sns:Publish", "topic", "guichet-supervisors", ""),
        Call("order_reception", "sns:Publish", "sms", "", ""),
        Call("replies_api", "ses:SendEmail", "identity", registry.SUPPORT_EMAIL_FROM, ""),
        Call("order_workflow_api", "states:StartExecution", "statemachine", "order_workflow", ""),
    ]
    assert [violation(synth, call) for call in allowed] == [None] * len(allowed)
