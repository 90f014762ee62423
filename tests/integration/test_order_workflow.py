"""The order workflow end to end on moto: the real ASL under moto's interpreter, the real handlers.

Each test drives one path of infra/statemachine/order_workflow.asl.json through the HTTP API
(quote, acceptance, commissioning report, billable lines, survey answer) and checks what the
customer was told (one alert per stage, on their timeline), what the back office got (tickets
that say what happened) and what the order holds (stage history, serials, invoice).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.order import OrderStage
from tests.workflow_support import WorkflowHarness, first_offered_slot

HAPPY_ALERTS = {"received", "scheduled", "prepared", "installed", "invoiced", "survey"}


@pytest.fixture
def wf() -> Iterator[WorkflowHarness]:
    with WorkflowHarness() as harness:
        harness.seed_customer()
        harness.seed_catalog()
        yield harness


def _run_to_survey(wf: WorkflowHarness) -> str:
    quote = wf.quote()
    order_id = wf.accept(quote["id"], slot=first_offered_slot(quote))
    assert wf.report(order_id).status == 200
    assert wf.wait_status(order_id) == "SUCCEEDED"
    return order_id


def test_happy_path_one_alert_per_stage_invoice_and_survey(wf: WorkflowHarness) -> None:
    quote = wf.quote()
    assert len(quote["offered_slots"]) == 3
    assert {s["technician_id"] for s in quote["offered_slots"]} == {"T1"}  # only T1 has "fiber"
    chosen = quote["offered_slots"][1]
    order_id = wf.accept(quote["id"], slot={"technician_id": "T1", "start": chosen["start"]})
    assert wf.accept(quote["id"]) == order_id  # accepting twice: the same order, one execution

    report = wf.report(order_id)
    assert report.status == 200 and report.body == {"attempt": 1, "passed": True, "failed_tests": []}
    assert wf.wait_status(order_id) == "SUCCEEDED"

    record = wf.workflow(order_id)
    assert record.appointment.start.isoformat().startswith(chosen["start"][:16])  # the customer's choice
    assert record.provisioning_reference.startswith("PRV-")
    assert record.invoice.number == f"F{datetime.now(UTC).year}-000001"
    assert record.survey_id

    order = wf.order(order_id)
    assert [e.stage.value for e in order.stage_history] == [
        "reception",
        "preparation",
        "installation",
        "billing",
        "satisfaction",
    ]
    assert order.stage.value == "satisfaction"
    router = next(line for line in order.lines if line.sku == "ROUTER-X")
    install = next(line for line in order.lines if line.sku == "FIBRE-INSTALL")
    assert router.serial_numbers and install.serial_numbers == router.serial_numbers  # linked hardware
    assert {line.billable_status.value for line in order.lines} == {"billed"}

    assert wf.alerts(order_id) == dict.fromkeys(HAPPY_ALERTS, "sent")
    mails = wf.sent_emails()
    assert len(mails) == 6 and all(m.destinations["ToAddresses"] == ["alice@example.com"] for m in mails)
    assert not wf.sent_sms()
    alerts_on_timeline = [e for e in wf.timeline() if e.kind == "alert"]
    assert {e.details["alert"] for e in alerts_on_timeline} == HAPPY_ALERTS

    # The invoice is a document in S3, reachable through a presigned redirect.
    document = wf.s3.get_object(Bucket="guichet-documents", Key=record.invoice.document_key)["Body"].read()
    assert record.invoice.number.encode() in document and b"Routeur X" in document
    redirect = wf.api("GET", f"/api/orders/{order_id}/invoice")
    assert redirect.status == 302 and "guichet-documents" in redirect.headers["location"]

    transitions = wf.transitions(order_id)
    assert transitions == [
        "Entry",
        "Reception",
        "Preparation",
        "AwaitCommissioning",
        "Commissioned",
        "Billing",
        "Satisfaction",
        "Done",
    ]
    assert len(transitions) <= 12
    # No step failed and was retried on the happy path (a retry is a billed transition too).
    assert not [e["type"] for e in wf.history(order_id) if e["type"].endswith("Failed")]


def test_invoice_numbers_are_sequential_without_gaps(wf: WorkflowHarness) -> None:
    first = _run_to_survey(wf)
    second = _run_to_survey(wf)
    year = datetime.now(UTC).year
    assert wf.workflow(first).invoice.number == f"F{year}-000001"
    assert wf.workflow(second).invoice.number == f"F{year}-000002"


def test_failed_commissioning_opens_a_tech_ticket_and_books_a_new_visit(wf: WorkflowHarness) -> None:
    quote = wf.quote()
    order_id = wf.accept(quote["id"])
    failed = wf.report(order_id, passed=False)
    assert failed.status == 200 and failed.body["failed_tests"] == ["throughput"]

    wf.wait_for(lambda: (r := wf.workflow(order_id)) and r.appointment.attempt == 2, what="a second visit")
    record = wf.workflow(order_id)
    assert record.past_appointments[0].attempt == 1
    assert record.appointment.start > record.past_appointments[0].start or record.appointment.technician_id
    (ticket,) = wf.wait_for(
        lambda: [t for t in wf.tickets_of(order_id) if t.topic.value == "tech_support"],
        what="the tech ticket",
    )
    assert ticket.subject.startswith("Commande ") and "mise en service échouée (visite 1)" in ticket.subject
    assert "throughput (12 Mbit/s)" in wf.ticket_notes(ticket.id)[0]

    assert wf.report(order_id).status == 200  # the second visit passes
    assert wf.wait_status(order_id) == "SUCCEEDED"
    alerts = wf.alerts(order_id)
    assert alerts["rescheduled-2"] == "sent"
    assert set(alerts) == HAPPY_ALERTS | {"rescheduled-2"}
    assert [r.passed for r in wf.workflow(order_id).reports] == [False, True]
    # The passed visit solved the failed visit's ticket, with a note.
    (solved,) = [t for t in wf.tickets_of(order_id) if t.id == ticket.id]
    assert solved.status.value == "solved"
    assert any("Visite 2 : mise en service validée" in n for n in wf.ticket_notes(ticket.id))


def test_no_report_in_time_escalates_to_the_back_office(wf: WorkflowHarness) -> None:
    wf.env["COMMISSIONING_TIMEOUT_S"] = "1"
    import os

    os.environ["COMMISSIONING_TIMEOUT_S"] = "1"
    os.environ["COMMISSIONING_MAX_ESCALATIONS"] = "2"
    wf._reset_wiring()
    wf._warm()
    order_id = wf.accept(wf.quote()["id"])
    assert wf.wait_status(order_id, timeout=30) == "FAILED"
    tickets = wf.tickets_of(order_id)
    escalations = [t for t in tickets if "pas de rapport de mise en service" in (t.subject or "")]
    assert len(escalations) == 2 and all(t.topic.value == "back_office" for t in escalations)
    (incident,) = [t for t in tickets if "échec de l'étape" in (t.subject or "")]
    assert "InstallationAbandoned" in incident.subject
    assert wf.workflow(order_id).escalations == 2
    # The customer heard about the order and the visit, nothing about the escalations.
    assert set(wf.alerts(order_id)) == {"received", "scheduled", "prepared"}


def test_billing_gate_waits_for_the_undecided_lines(wf: WorkflowHarness) -> None:
    quote = wf.quote()
    order_id = wf.accept(quote["id"])
    # The technician installed the fibre but not the router: the router line stays pending.
    assert wf.report(order_id, installed=["L1"]).status == 200
    wf.wait_for(lambda: wf.waiting_for(order_id, "billing"), what="the billing hold")
    (hold,) = [t for t in wf.tickets_of(order_id) if "la facturation attend" in (t.subject or "")]
    assert hold.status.value == "new" and "L2 Routeur X x1" in wf.ticket_notes(hold.id)[0]
    assert "invoiced" not in wf.alerts(order_id)

    decided = wf.api("POST", f"/api/orders/{order_id}/billable", {"lines": {"L2": "not_billable"}})
    assert decided.status == 200 and decided.body["lines"] == {"L1": "billable", "L2": "not_billable"}
    assert wf.wait_status(order_id) == "SUCCEEDED"
    invoice_lines = wf.workflow(order_id).invoice
    assert invoice_lines.total_incl_vat == "118.80"  # 99.00 + 20 % VAT: the router is not billed
    assert set(wf.alerts(order_id)) == HAPPY_ALERTS
    # The hold's ticket is solved by the step that released it, with a note saying so.
    (solved,) = [t for t in wf.tickets_of(order_id) if t.id == hold.id]
    assert solved.status.value == "solved"
    assert any("Résolu par le workflow" in note for note in wf.ticket_notes(hold.id))


def test_out_of_stock_goes_to_back_order_then_resumes(wf: WorkflowHarness) -> None:
    wf.set_stock("ROUTER-X", 0)
    order_id = wf.accept(wf.quote()["id"])
    wf.wait_for(lambda: "back_order" in wf.alerts(order_id), what="the back-order alert")
    wf.wait_for(lambda: wf.workflow(order_id).back_order_attempts >= 2, what="a second attempt")
    assert "prepared" not in wf.alerts(order_id)
    wf.set_stock("ROUTER-X", 3)
    wf.wait_for(lambda: "prepared" in wf.alerts(order_id), what="preparation after restocking")
    assert wf.report(order_id).status == 200
    assert wf.wait_status(order_id) == "SUCCEEDED"
    assert list(wf.alerts(order_id)).count("back_order") == 1  # told once, however many waits
    from shared.adapters.dynamodb.workflow_store import WorkflowStore

    assert WorkflowStore(wf.table).stock(["ROUTER-X"])["ROUTER-X"].available == 2
    names = wf.transitions(order_id)
    assert names.count("BackOrderWait") >= 2


def test_survey_answered_after_two_reminders(wf: WorkflowHarness) -> None:
    order_id = _run_to_survey(wf)
    record = wf.workflow(order_id)
    from shared.adapters.clock import SystemClock

    sent = SystemClock().now()  # the handlers' clock (moved to the visit's time)
    assert wf.remind(sent + timedelta(days=1))["reminded"] == 0  # not due yet
    assert wf.remind(sent + timedelta(days=3, minutes=1))["reminded"] == 1
    assert wf.remind(sent + timedelta(days=3, minutes=2))["reminded"] == 0  # sent again just now
    assert wf.remind(sent + timedelta(days=6, minutes=2))["reminded"] == 1
    assert wf.remind(sent + timedelta(days=30))["due"] == 0  # two reminders: off the due index
    alerts = wf.alerts(order_id)
    assert alerts["survey_reminder-1"] == alerts["survey_reminder-2"] == "sent"
    assert "survey_reminder-3" not in alerts

    from shared.adapters.dynamodb.workflow_store import WorkflowStore

    store = WorkflowStore(wf.table)
    token = store.survey_for_order(order_id).value.token
    page = wf.api("GET", f"/survey/{token}")
    assert page.status == 200 and "Votre avis" in page.body
    answer = wf.api(
        "POST",
        f"/survey/{token}",
        raw=b"score=2&comment=Trop+long",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200 and "Merci" in answer.body
    again = wf.api("POST", f"/survey/{token}", {"score": 5})
    assert again.status == 409

    assert wf.workflow(order_id).csat.score == 2
    assert store.csat_totals("CUSTOMER#C1") == (1, 2)
    assert store.csat_totals(f"TECH#{record.appointment.technician_id}") == (1, 2)
    assert wf.order(order_id).stage.value == "completed"
    (follow_up,) = [t for t in wf.tickets_of(order_id) if "satisfaction 2/5" in (t.subject or "")]
    assert "Trop long" in wf.ticket_notes(follow_up.id)[0]
    assert any(e.kind == "csat" for e in wf.timeline())


def test_bad_survey_tokens_are_plain_404s(wf: WorkflowHarness) -> None:
    assert wf.api("GET", "/survey/x").status == 404  # malformed: no read at all
    assert wf.api("GET", "/survey/" + "A" * 32).status == 404
    assert wf.api("POST", "/survey/" + "A" * 32, {"score": 4}).status == 404


def test_restart_is_safe_no_alert_twice_no_second_invoice(wf: WorkflowHarness) -> None:
    order_id = _run_to_survey(wf)
    before = wf.alerts(order_id)
    invoice = wf.workflow(order_id).invoice.number
    restarted = wf.api("POST", f"/api/orders/{order_id}/workflow/restart")
    assert restarted.status == 200
    name = restarted.body["execution"]
    assert name == f"{order_id}-r1"
    assert wf.wait_status(name) == "SUCCEEDED"
    assert wf.alerts(order_id) == before
    assert len(wf.sent_emails()) == 6
    assert wf.workflow(order_id).invoice.number == invoice
    assert wf.order(order_id).stage.value == "satisfaction"  # never rewound


def test_an_invalid_order_becomes_an_incident_ticket(wf: WorkflowHarness) -> None:
    quote = wf.quote()
    # The product stops being orderable between the quote and the acceptance.
    wf.api(
        "PUT",
        "/api/catalog/products/ROUTER-X",
        {
            "title": "Routeur X",
            "unit_price": "149.90",
            "stock_tracked": True,
            "orderable": False,
        },
    )
    order_id = wf.accept(quote["id"])
    assert wf.wait_status(order_id) == "FAILED"
    (incident,) = wf.tickets_of(order_id)
    assert incident.subject.endswith("échec de l'étape reception (OrderInvalid)")
    assert "ROUTER-X: not orderable" in wf.ticket_notes(incident.id)[0]
    assert wf.alerts(order_id) == {}  # the customer is not told by a machine
    assert wf.workflow(order_id).failures == ["reception: OrderInvalid"]


def test_a_transient_failure_is_retried_and_alerts_once(wf: WorkflowHarness) -> None:
    from functions.order_preparation import handler as preparation
    from shared.domain.workflow import TransientError

    ports, _ = preparation._ports()
    real = ports.provisioning
    calls = {"n": 0}

    class Flaky:
        def declare(self, order, hardware):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:
                raise TransientError("provisioning answered 503")
            return real.declare(order, hardware)

    ports.provisioning = Flaky()
    order_id = wf.accept(wf.quote()["id"])
    wf.wait_for(lambda: "prepared" in wf.alerts(order_id), timeout=30, what="preparation")
    assert calls["n"] == 2
    assert wf.report(order_id).status == 200
    assert wf.wait_status(order_id) == "SUCCEEDED"
    assert wf.transitions(order_id).count("Preparation") == 1  # a Retry is not a new state entry
    assert len(wf.sent_emails()) == 6


def test_sms_when_no_email_within_one_gsm7_segment(wf: WorkflowHarness) -> None:
    wf.seed_customer("C2", email=None, phone="+33612345678")
    order_id = wf.accept(wf.quote("C2")["id"])
    assert wf.report(order_id).status == 200
    assert wf.wait_status(order_id) == "SUCCEEDED"
    sms = wf.sent_sms()
    assert len(sms) == 6 and all(phone == "+33612345678" for phone, _ in sms)
    from shared.domain.outbound_rules import SmsEncoding, sms_info

    for _, text in sms:
        info = sms_info(text)
        assert info.encoding is SmsEncoding.gsm7 and info.segments == 1, text


def test_a_delivered_ecommerce_order_enters_at_satisfaction(wf: WorkflowHarness) -> None:
    """The e-commerce sync's SatisfactionStarter: the platform shipped the order, Guichet asks
    for the customer's opinion. An execution named after the order, started twice: one survey."""
    from decimal import Decimal

    from shared.adapters.aws.stepfunctions import satisfaction_starter
    from shared.adapters.dynamodb.orders import OrderRepository
    from shared.domain.order import Order, OrderLine, OrderSource

    now = datetime.now(UTC)
    order = Order(
        id="OSHOP1",
        number="#1001",
        source=OrderSource.shopify,
        external_id="450789469",
        customer_id="C1",
        lines=[OrderLine(id="L1", title="Casque", quantity=1, unit_price=Decimal("59.00"))],
        stage=OrderStage.reception,
        delivered_at=now,
        created_at=now,
        updated_at=now,
    )
    OrderRepository(wf.table).create_order(order)
    wf.orders.append(order.id)
    starter = satisfaction_starter(wf.sfn, wf.machine_arn)
    starter.start_satisfaction(order.id)
    starter.start_satisfaction(order.id)  # a redelivered webhook: nothing more
    assert wf.wait_status(order.id) == "SUCCEEDED"
    assert wf.transitions(order.id) == ["Entry", "Satisfaction", "Done"]
    assert wf.alerts(order.id) == {"survey": "sent"}
    (mail,) = wf.sent_emails()
    assert "#1001" in mail.subject
    synced = wf.order(order.id)
    assert synced.stage.value == "satisfaction" and synced.satisfaction_requested_at is not None


def test_a_failed_send_is_retried_without_a_second_booking_or_alert(wf: WorkflowHarness) -> None:
    """SES throttles the 'scheduled' mail once: Step Functions retries Reception, which finds its
    slot booked and 'received' sent, and sends 'scheduled' only."""
    from botocore.exceptions import ClientError

    from functions.order_reception import handler as reception

    ports = reception._ports()
    notifier = ports.alerts._notifier
    real_send = notifier.send_email
    calls: list[str] = []

    def flaky(to: str, subject: str, text: str, html: str) -> str:
        calls.append(subject)
        if subject.startswith("Installation") and calls.count(subject) == 1:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
        return real_send(to, subject, text, html)

    notifier.send_email = flaky  # type: ignore[method-assign]
    order_id = wf.accept(wf.quote()["id"])
    wf.wait_for(lambda: wf.waiting_for(order_id, "commissioning"), what="the wait for the report")
    assert [s.split(" ")[0] for s in calls] == ["Commande", "Installation", "Installation"]
    assert wf.alerts(order_id) == {"received": "sent", "scheduled": "sent", "prepared": "sent"}
    from shared.adapters.dynamodb.workflow_store import WorkflowStore

    appointment = wf.workflow(order_id).appointment
    now = datetime.now(UTC)
    booked = WorkflowStore(wf.table).booked_slots(["T1"], now, now + timedelta(days=60))
    assert booked == {("T1", appointment.start)}  # one slot for the order, not one per attempt
    assert len(wf.sent_emails()) == 3
    failures = [
        e for e in wf.history(order_id) if e["type"] == "LambdaFunctionFailed" or e["type"] == "TaskFailed"
    ]
    assert len(failures) == 1
