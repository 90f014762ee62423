"""The workflow's handlers on their sample events (events/<function>/*.json), in the moto harness.

The samples are the exact events AWS delivers: API Gateway v2.0 requests with the authorizer's
claims, the Payloads of the state machine's Task states, an EventBridge scheduled event. Ids
are swapped for the harness's real ones; everything else is the file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import load_event
from tests.workflow_support import WorkflowHarness

SAMPLE_ORDER = "O01JDQ2Z7Y0000000000000000"


@pytest.fixture
def wf() -> Iterator[WorkflowHarness]:
    with WorkflowHarness() as harness:
        harness.seed_customer()
        harness.seed_catalog()
        yield harness


def _invoke(wf: WorkflowHarness, function: str, event: dict[str, Any]) -> Any:
    invocation = wf.dispatcher.invoke(function, event)
    return invocation.result if invocation.ok else invocation.error


def _retarget(event: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The same request for another id (path, route parameters and body)."""
    return json.loads(json.dumps(event).replace(old, new))


def test_api_samples_quote_accept_report_and_billable(wf: WorkflowHarness) -> None:
    created = _invoke(wf, "order_workflow_api", load_event("order_workflow_api/create_quote"))
    assert created["statusCode"] == 201
    quote = json.loads(created["body"])

    accept = _retarget(
        load_event("order_workflow_api/portal_accept_quote"), "Q01JDQ2Z7Y0000000000000000", quote["id"]
    )
    slot = quote["offered_slots"][0]
    accept["body"] = json.dumps({"slot": {"technician_id": slot["technician_id"], "start": slot["start"]}})
    accepted = _invoke(wf, "order_workflow_api", accept)  # the customer, known by their email claim
    assert accepted["statusCode"] == 201, accepted
    order_id = json.loads(accepted["body"])["order_id"]
    wf.orders.append(order_id)

    wf.wait_for(lambda: wf.waiting_for(order_id, "commissioning"), what="the wait for the report")
    wf.travel_to_visit(order_id)  # the technician is there
    report = _retarget(load_event("order_workflow_api/commissioning_report"), SAMPLE_ORDER, order_id)
    answered = _invoke(wf, "order_workflow_api", report)
    assert answered["statusCode"] == 200
    assert json.loads(answered["body"]) == {"attempt": 1, "passed": False, "failed_tests": ["throughput"]}
    wf.wait_for(lambda: "rescheduled-2" in wf.alerts(order_id), what="the new visit")

    billable = _retarget(load_event("order_workflow_api/billable_lines"), SAMPLE_ORDER, order_id)
    decided = _invoke(wf, "order_workflow_api", billable)
    assert decided["statusCode"] == 200
    assert json.loads(decided["body"])["lines"]["L2"] == "not_billable"


def test_a_customer_sees_only_their_own_quotes(wf: WorkflowHarness) -> None:
    created = json.loads(
        _invoke(wf, "order_workflow_api", load_event("order_workflow_api/create_quote"))["body"]
    )
    event = _retarget(
        load_event("order_workflow_api/portal_accept_quote"), "Q01JDQ2Z7Y0000000000000000", created["id"]
    )
    event["requestContext"]["authorizer"]["jwt"]["claims"]["email"] = "mallory@example.com"
    assert _invoke(wf, "order_workflow_api", event)["statusCode"] == 404
    wf.seed_customer("C2", email="mallory@example.com")
    assert _invoke(wf, "order_workflow_api", event)["statusCode"] == 404  # known, but not hers


def test_survey_samples(wf: WorkflowHarness) -> None:
    shown = _invoke(wf, "survey_api", load_event("survey_api/show"))
    assert shown["statusCode"] == 404  # the sample's token was never issued
    answer = load_event("survey_api/answer_form")
    assert _invoke(wf, "survey_api", answer)["statusCode"] == 404
    body = answer["body"] if not answer["isBase64Encoded"] else base64.b64decode(answer["body"]).decode()
    assert body.startswith("score=4")


def test_step_samples(wf: WorkflowHarness) -> None:
    unknown = _invoke(wf, "order_reception", load_event("order_reception/step"))
    assert unknown["errorType"] == "OrderInvalid"  # the state machine catches it into an incident
    assert _invoke(wf, "survey_reminders", load_event("survey_reminders/scheduled")) == {
        "due": 0,
        "reminded": 0,
        "skipped": 0,
    }
    created = json.loads(
        _invoke(wf, "order_workflow_api", load_event("order_workflow_api/create_quote"))["body"]
    )
    order_id = wf.accept(created["id"])
    wf.wait_for(lambda: wf.waiting_for(order_id, "commissioning"), what="the wait for the report")
    incident = _invoke(
        wf, "order_incident", _retarget(load_event("order_incident/failure"), SAMPLE_ORDER, order_id)
    )
    assert incident["stage"] == "billing" and incident["error"] == "InvoiceMismatch"
    (ticket,) = [t for t in wf.tickets_of(order_id) if t.id == incident["ticket"]]
    assert "the billing address is incomplete" in wf.ticket_notes(ticket.id)[0]
    assert "stackTrace" not in wf.ticket_notes(ticket.id)[0]
