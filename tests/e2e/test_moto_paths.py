"""What reaches the handlers through moto: Lambda's API and Step Functions, and what moto records
as sent (SES, SNS SMS) showing up in the outbox. (SQS -> poller -> DLQ is exercised end to end by
test_contact_form_flow.py.)"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack, running_stack

pytestmark = pytest.mark.e2e


def test_lambda_invoke_runs_the_real_handler(aws: Callable[[str], Any]) -> None:
    response = aws("lambda").invoke(FunctionName="health", Payload=b"{}")
    assert "FunctionError" not in response
    payload = json.loads(response["Payload"].read())
    assert payload["statusCode"] == 200
    assert json.loads(payload["body"])["status"] == "ok"


def test_lambda_invoke_by_arn(aws: Callable[[str], Any]) -> None:
    arn = aws("lambda").get_function(FunctionName="health")["Configuration"]["FunctionArn"]
    response = aws("lambda").invoke(FunctionName=arn, Payload=b"{}")
    assert json.loads(response["Payload"].read())["statusCode"] == 200


def test_lambda_invoke_of_an_undeclared_function_is_not_found(aws: Callable[[str], Any]) -> None:
    lam = aws("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no_such_function", Payload=b"{}")


def test_ses_and_sms_sends_show_in_the_outbox(stack: Stack, aws: Callable[[str], Any]) -> None:
    marker = uuid.uuid4().hex
    aws("ses").send_email(
        Source="support@guichet.local",
        Destination={"ToAddresses": ["client@example.net"]},
        Message={"Subject": {"Data": f"s-{marker}"}, "Body": {"Text": {"Data": "hello"}}},
    )
    aws("sesv2").send_email(
        FromEmailAddress="support@guichet.local",
        Destination={"ToAddresses": ["client@example.net"]},
        Content={"Simple": {"Subject": {"Data": f"v2-{marker}"}, "Body": {"Text": {"Data": "hello"}}}},
    )
    aws("sns").publish(PhoneNumber="+33612345678", Message=f"sms-{marker}")
    outbox = stack.get("/local/outbox").json()
    mine = [e for e in outbox if marker in json.dumps(e)]
    assert [e["kind"] for e in mine] == ["sms", "email", "email"]  # newest first
    assert mine[1]["subject"] == f"v2-{marker}"
    assert mine[0]["phoneNumber"] == "+33612345678"


ASL = {
    "Comment": "e2e: a Task per invocation style, and a Catch on the handler's exception class",
    "StartAt": "Optimized",
    "States": {
        "Optimized": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${HealthFunctionArn}", "Payload.$": "$"},
            "ResultSelector": {"status.$": "$.Payload.statusCode"},
            "ResultPath": "$.health",
            "Next": "Plain",
        },
        "Plain": {
            "Type": "Task",
            "Resource": "${HealthFunctionArn}",
            "ResultSelector": {"status.$": "$.statusCode"},
            "ResultPath": "$.plain",
            "Next": "Failing",
        },
        "Failing": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:${Region}:123456789012:function:no_such_function",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Done"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_state_machines_are_loaded_with_substitutions_and_run_handlers(tmp_path: Path) -> None:
    machines = tmp_path / "statemachine"
    machines.mkdir()
    definition = json.dumps(ASL).replace("${Region}", "eu-west-3")
    (machines / "probe.asl.json").write_text(definition)
    with running_stack(tmp_path, LOCAL_STATEMACHINE_DIR=str(machines), AWS_DEFAULT_REGION="eu-west-3") as st:
        import boto3

        endpoint = st.get("/local/stack").json()["awsEndpoint"]
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=endpoint,
            region_name="eu-west-3",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        arn = st.get("/local/stack").json()["state_machines"]["probe"]
        execution = sfn.start_execution(stateMachineArn=arn, name="e2e-probe", input="{}")["executionArn"]
        deadline = time.monotonic() + 20
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(described["output"])
        assert output["health"] == {"status": 200}
        assert output["plain"] == {"status": 200}
        assert "caught" in output


def test_an_unknown_placeholder_fails_startup_with_its_name(tmp_path: Path) -> None:
    machines = tmp_path / "statemachine"
    machines.mkdir()
    (machines / "broken.asl.json").write_text(json.dumps({"StartAt": "${NoSuchThing}", "States": {}}))
    with (
        pytest.raises(pytest.fail.Exception, match=r"NoSuchThing"),
        running_stack(tmp_path, LOCAL_STATEMACHINE_DIR=str(machines)),
    ):
        pass
