"""The order workflow end to end on the running local stack, over HTTP only.

A customer writes from the customer space (which makes their profile), a supervisor sets up
the catalog and a technician, an agent quotes, the customer accepts in the customer space and
picks a slot, the state machine runs on moto with the real handlers, the agent posts the
technician's report, the customer opens the invoice and answers the survey. The outbox shows
exactly one alert per stage; the 360 order view and the workflow view show the rest.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

JSON = {"content-type": "application/json"}
STAGE_SUBJECTS = {
    "received": "Commande {number} reçue",
    "scheduled": "Installation planifiée le",
    "prepared": "Commande {number} prête",
    "installed": "Installation terminée",
    "invoiced": "Facture F",
    "survey": "Votre avis sur la commande {number}",
}


def _wait_for(probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _as(stack: Stack, role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.token(role)}", **JSON}


def _send(stack: Stack, method: str, path: str, role: str | None, body: Any = None) -> Any:
    headers = _as(stack, role) if role else dict(JSON)
    data = json.dumps(body).encode() if body is not None else None
    return stack.request(method, path, body=data, headers=headers)


def _customer_id(stack: Stack) -> str:
    """The customer-space demo user writes once: the processor makes their profile."""
    text = f"Bonjour, je voudrais la fibre ({uuid.uuid4().hex[:8]})."  # other tests write from the space too
    reply = _send(
        stack,
        "POST",
        "/api/portal/messages",
        "customer",
        {"text": text, "client_submission_id": uuid.uuid4().hex},
    )
    assert reply.status == 202, reply.body

    def find() -> str | None:
        listed = _send(stack, "GET", "/api/tickets?limit=50", "agent").json()
        portal = [t for t in listed["items"] if t["channel"] == "portal" and t["subject"] == text]
        return portal[0]["customer_id"] if portal else None

    return str(_wait_for(find, "the customer-space message to make a profile"))


def _setup_catalog(stack: Stack) -> None:
    fibre = {"title": "Installation fibre", "unit_price": "99.00", "is_service": True, "skill": "fiber"}
    router = {"title": "Routeur X", "unit_price": "149.90", "stock_tracked": True, "stock_available": 10}
    assert _send(stack, "PUT", "/api/catalog/products/FIBRE-INSTALL", "supervisor", fibre).status == 200
    assert _send(stack, "PUT", "/api/catalog/products/ROUTER-X", "supervisor", router).status == 200
    # Agents may not change the catalog.
    assert _send(stack, "PUT", "/api/catalog/products/ROUTER-X", "agent", router).status == 403
    windows = [
        {"weekday": d, "start": s, "end": e}
        for d in range(7)
        for s, e in (("08:00", "12:00"), ("13:00", "17:00"))
    ]
    # The technician's staff account (the demo "technician" user) reports on their visits.
    technician = {
        "name": "Bruno",
        "email": "technician@guichet.local",
        "skills": ["fiber"],
        "windows": windows,
    }
    assert _send(stack, "PUT", "/api/technicians/T-E2E", "supervisor", technician).status == 200


def at_visit(stack: Stack, start: str) -> None:
    """Move the local stack's clock to an hour into the visit (``POST /local/clock``)."""
    from datetime import UTC, datetime

    ahead = (datetime.fromisoformat(start) - datetime.now(UTC)).total_seconds() + 3600
    reply = stack.post("/local/clock", body=json.dumps({"offset_s": max(ahead, 0)}).encode())
    assert reply.status == 200, reply.body


@pytest.fixture
def clock_back(stack: Stack) -> Any:
    """Whatever a test did to the local stack's clock, the next test starts at the real time."""
    yield
    stack.post("/local/clock", body=b'{"offset_s": 0}')


@pytest.mark.usefixtures("clock_back")
def test_quote_to_survey_over_http_with_one_alert_per_stage(stack: Stack) -> None:
    customer_id = _customer_id(stack)
    _setup_catalog(stack)
    address = {
        "name": "Demo Customer",
        "line1": "1 place Bellecour",
        "postal_code": "69002",
        "city": "Lyon",
        "country": "FR",
    }
    quote = _send(
        stack,
        "POST",
        "/api/quotes",
        "agent",
        {
            "customer_id": customer_id,
            "lines": [{"sku": "FIBRE-INSTALL", "quantity": 1}, {"sku": "ROUTER-X", "quantity": 1}],
            "billing_address": address,
            "shipping_address": address,
        },
    )
    assert quote.status == 201, quote.body
    quote_id = quote.json()["id"]
    offered = quote.json()["offered_slots"]
    assert offered

    # The customer sees their quote in the customer space and accepts it, choosing a slot.
    assert _send(stack, "GET", f"/api/portal/quotes/{quote_id}", "customer").status == 200
    assert _send(stack, "GET", f"/api/portal/quotes/{quote_id}", None).status == 401
    slot = {"technician_id": offered[-1]["technician_id"], "start": offered[-1]["start"]}
    accepted = _send(stack, "POST", f"/api/portal/quotes/{quote_id}/accept", "customer", {"slot": slot})
    assert accepted.status == 201, accepted.body
    order_id, number = accepted.json()["order_id"], accepted.json()["number"]

    def workflow() -> dict[str, Any]:
        reply = _send(stack, "GET", f"/api/orders/{order_id}/workflow", "agent")
        return reply.json() if reply.status == 200 else {}

    _wait_for(
        lambda: workflow().get("waiting_for") == "commissioning", "the wait for the technician's report"
    )
    assert workflow()["appointment"]["start"].startswith(slot["start"][:16])

    report = {
        "tests": [
            {"name": "optical power", "result": "passed", "measure": "-18 dBm"},
            {"name": "throughput", "result": "passed"},
        ],
        "signature": {"signed_by": "Demo Customer"},
    }
    # Before the visit starts, or from an agent: refused; the technician, at the visit: accepted.
    early = _send(stack, "POST", f"/api/orders/{order_id}/commissioning", "technician", report)
    assert early.status == 409, early.body
    at_visit(stack, workflow()["appointment"]["start"])
    assert _send(stack, "POST", f"/api/orders/{order_id}/commissioning", "agent", report).status == 403
    posted = _send(stack, "POST", f"/api/orders/{order_id}/commissioning", "technician", report)
    assert posted.status == 200 and posted.json()["passed"] is True
    assert _send(stack, "POST", f"/api/orders/{order_id}/commissioning", "technician", report).status == 409

    done = _wait_for(lambda: (w := workflow()) and w.get("survey_id") and w, "the satisfaction stage")
    assert done["invoice"]["number"].startswith("F")

    # The customer opens the invoice: the API redirects (302) to a short-lived link to the
    # document, which urllib follows like a browser.
    invoice = stack.get(f"/api/portal/orders/{order_id}/invoice", headers=_as(stack, "customer"))
    assert invoice.status == 200 and done["invoice"]["number"].encode() in invoice.body
    assert b"Routeur X" in invoice.body
    assert stack.get(f"/api/portal/orders/{order_id}/invoice").status == 401

    def outbox() -> list[dict[str, Any]]:
        return [
            m
            for m in stack.get("/local/outbox").json()
            if m.get("kind") == "email" and number in json.dumps(m)
        ]

    mails = _wait_for(lambda: (found := outbox()) and len(found) >= 6 and found, "six alerts in the outbox")
    subjects = [m["subject"] for m in mails]
    for stage, prefix in STAGE_SUBJECTS.items():
        matching = [s for s in subjects if s.startswith(prefix.format(number=number))]
        assert len(matching) == 1, (stage, subjects)
    assert len(mails) == 6

    # The survey link from the mail: the page, then the answer.
    survey_mail = next(m for m in mails if m["subject"].startswith("Votre avis"))
    (link,) = set(re.findall(r"https?://[^\s\"<]+/survey/[A-Za-z0-9_-]+", json.dumps(survey_mail)))
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = stack.get(f"/{path}")
    assert page.status == 200 and b"Votre avis" in page.body
    answer = stack.post(
        f"/{path}",
        body=b"score=5&comment=Parfait",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200 and b"Merci" in answer.body
    assert stack.get("/survey/" + "Z" * 32).status == 404

    # The 360 order view and the workflow view show it all.
    view = _send(stack, "GET", f"/api/orders/{order_id}", "agent")
    assert view.status == 200, view.body
    assert view.json()["stage"] == "completed"
    assert [e["stage"] for e in view.json()["stage_history"]][:5] == [
        "reception",
        "preparation",
        "installation",
        "billing",
        "satisfaction",
    ]
    shown = view.json()["workflow"]  # the workflow's details, in the 360 view itself
    assert shown["invoice"]["number"] == done["invoice"]["number"]
    assert shown["invoice"]["link"] == f"/api/orders/{order_id}/invoice"
    assert shown["csat"]["score"] == 5 and shown["csat"]["comment"] == "Parfait"
    assert {a["key"] for a in shown["alerts"]} == set(STAGE_SUBJECTS)
    assert shown["appointment"]["start"].startswith(slot["start"][:16])
    final = workflow()
    assert final["csat"]["score"] == 5
    assert {a["key"]: a["status"] for a in final["alerts"]} == dict.fromkeys(STAGE_SUBJECTS, "sent")
    profile = _send(stack, "GET", f"/api/customers/{customer_id}", "agent").json()
    assert {e["details"].get("alert") for e in profile["timeline"] if e["kind"] == "alert"} == set(
        STAGE_SUBJECTS
    )
