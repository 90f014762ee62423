"""WhatsApp template alerts on the real ASL under moto, the Graph API faked at the HTTP boundary.

A customer known only by a WhatsApp number (and a phone number: WhatsApp is cheaper than SMS,
so it wins) goes through the whole workflow: each stage's alert is an approved template sent
to the Cloud API with the providers secret's token, recorded on the order and on the
customer's timeline as WhatsApp, exactly once even when the workflow is restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from infra import registry
from tests.integration.test_outbound_clients import Answer, FakeProvider
from tests.workflow_support import WorkflowHarness, first_offered_slot

WA_ID = "33612345678"
WAMID = "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QUIzQzQ1RDY3RThGOTBBMTIA"
PHONE_NUMBER_ID = str(registry.ALERT_STEP_ENV["WHATSAPP_PHONE_NUMBER_ID"])
TEMPLATES = {
    "received": "guichet_order_received",
    "scheduled": "guichet_order_scheduled",
    "prepared": "guichet_order_prepared",
    "installed": "guichet_order_installed",
    "invoiced": "guichet_order_invoiced",
    "survey": "guichet_order_survey",
}


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        fake.script(Answer(200, {"messaging_product": "whatsapp", "messages": [{"id": WAMID}]}))
        yield fake


@pytest.fixture
def wf(provider: FakeProvider) -> Iterator[WorkflowHarness]:
    with WorkflowHarness({"META_GRAPH_BASE_URL": f"{provider.url}/meta"}) as harness:
        harness.seed_customer("CWA", email=None, phone="+33699999999", whatsapp=WA_ID)
        harness.seed_catalog()
        yield harness


def test_a_whatsapp_customer_gets_one_template_per_stage(wf: WorkflowHarness, provider: FakeProvider) -> None:
    quote = wf.quote("CWA")
    order_id = wf.accept(quote["id"], slot=first_offered_slot(quote))
    assert wf.report(order_id).status == 200
    assert wf.wait_status(order_id) == "SUCCEEDED"
    order = wf.order(order_id)
    record = wf.workflow(order_id)

    assert wf.alerts(order_id) == dict.fromkeys(TEMPLATES, "sent")
    assert not wf.sent_emails() and not wf.sent_sms()  # WhatsApp before SMS

    sent = [r for r in provider.requests if r.path.endswith("/messages")]
    assert len(sent) == len(TEMPLATES) == len(provider.requests)
    for request in sent:
        assert request.method == "POST"
        assert request.path == f"/meta/v23.0/{PHONE_NUMBER_ID}/messages"
        assert request.headers["authorization"] == "Bearer local-whatsapp-access-token"  # the secret's
    bodies = [r.json() for r in sent]
    assert all(b["to"] == WA_ID and b["type"] == "template" for b in bodies)
    by_name = {b["template"]["name"]: b["template"] for b in bodies}
    assert set(by_name) == set(TEMPLATES.values())
    assert {t["language"]["code"] for t in by_name.values()} == {"fr"}

    def params(name: str) -> list[str]:
        (component,) = by_name[name]["components"]
        assert component["type"] == "body"
        return [p["text"] for p in component["parameters"]]

    assert params("guichet_order_received") == [order.number]
    number, when, technician = params("guichet_order_scheduled")
    assert number == order.number and technician == "Bruno"
    local = record.appointment.start.astimezone(ZoneInfo(record.appointment.timezone))
    assert when == local.strftime("%d/%m/%Y à %H:%M")
    invoice_number, order_number, amount, link = params("guichet_order_invoiced")
    assert invoice_number == record.invoice.number and order_number == order.number
    assert amount.endswith(" EUR") and link.endswith(f"/api/portal/orders/{order_id}/invoice")
    survey_number, survey_link = params("guichet_order_survey")
    assert survey_number == order.number and "/survey/" in survey_link

    # On the customer's timeline: WhatsApp, with the template and the provider's message id.
    entries = [e for e in wf.timeline("CWA") if e.kind == "alert"]
    assert {e.details["alert"] for e in entries} == set(TEMPLATES)
    for entry in entries:
        assert entry.channel.value == "whatsapp" and "(whatsapp sent)" in entry.summary
        assert entry.details["template"] == TEMPLATES[entry.details["alert"]]
        assert entry.details["provider_id"] == WAMID

    # Restarting the workflow tells the customer nothing twice.
    restarted = wf.api("POST", f"/api/orders/{order_id}/workflow/restart")
    assert restarted.status == 200
    assert wf.wait_status(restarted.body["execution"]) == "SUCCEEDED"
    assert len(provider.requests) == len(TEMPLATES)


def test_a_refused_number_is_recorded_and_not_retried(wf: WorkflowHarness, provider: FakeProvider) -> None:
    """Meta refuses the recipient (131026, not on WhatsApp): the alert is 'rejected', the
    workflow goes on, and the next stage's alert is tried again on WhatsApp."""
    refused = {"error": {"message": "Message undeliverable", "type": "OAuthException", "code": 131026}}
    ok = {"messaging_product": "whatsapp", "messages": [{"id": WAMID}]}
    provider.script(Answer(400, refused), Answer(200, ok))
    order_id = wf.accept(wf.quote("CWA")["id"])
    wf.wait_for(lambda: wf.waiting_for(order_id, "commissioning"), what="the wait for the report")
    assert wf.alerts(order_id) == {"received": "rejected", "scheduled": "sent", "prepared": "sent"}
    assert len(provider.requests) == 3  # the refusal was not retried
    (refusal,) = [e for e in wf.timeline("CWA") if e.details.get("alert") == "received"]
    assert refusal.channel.value == "whatsapp" and "refused by the provider" in refusal.summary
