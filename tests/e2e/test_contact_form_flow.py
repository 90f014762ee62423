"""The contact form end to end on the running local stack, over HTTP, as a visitor and an agent."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

JSON = {"content-type": "application/json"}


def _submit(stack: Stack, **fields: Any) -> Any:
    form = {
        "name": "Jean Martin",
        "email": f"jean.{uuid.uuid4().hex[:8]}@example.net",
        "subject": "Question sur la garantie",
        "message": "Bonjour, la garantie couvre-t-elle la batterie ?",
        "consent": True,
        "client_submission_id": str(uuid.uuid4()),
    }
    form.update(fields)
    return stack.post("/webhooks/form", body=json.dumps(form).encode(), headers=JSON), form


def _auth(stack: Stack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.token('agent')}"}


def _wait_for(probe: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _ticket_of(stack: Stack, headers: dict[str, str], subject: str) -> dict[str, Any] | None:
    reply = stack.get("/api/tickets?limit=100", headers=headers)
    assert reply.status == 200, reply.body
    return next((t for t in reply.json()["items"] if t["subject"] == subject), None)


def _queues_idle(stack: Stack) -> bool:
    inbound = stack.get("/local/queues").json()["inbound"]
    return inbound["visible"] == 0 and inbound["inFlight"] == 0


def test_a_submitted_form_becomes_a_ticket_an_agent_can_read(stack: Stack) -> None:
    subject = f"Garantie {uuid.uuid4().hex[:6]}"
    reply, form = _submit(stack, subject=subject)

    assert reply.status == 202
    assert reply.json()["reference"].startswith("F")
    headers = _auth(stack)
    ticket = _wait_for(lambda: _ticket_of(stack, headers, subject), "the ticket to be listed")
    detail = stack.get(f"/api/tickets/{ticket['id']}", headers=headers)
    assert detail.status == 200
    body = detail.json()
    assert body["ticket"]["channel"] == "web_form"
    assert [m["text"] for m in body["messages"]] == [form["message"]]


def test_resubmitting_the_same_form_creates_nothing_new(stack: Stack) -> None:
    subject = f"Doublon {uuid.uuid4().hex[:6]}"
    first, form = _submit(stack, subject=subject)
    headers = _auth(stack)
    ticket = _wait_for(lambda: _ticket_of(stack, headers, subject), "the first ticket")

    second, _ = _submit(stack, **form)
    assert second.status == 202
    assert second.json()["reference"] == first.json()["reference"]
    _wait_for(lambda: _queues_idle(stack), "the queue to drain")

    matching = [
        t
        for t in stack.get("/api/tickets?limit=100", headers=headers).json()["items"]
        if t["subject"] == subject
    ]
    assert [t["id"] for t in matching] == [ticket["id"]]
    detail = stack.get(f"/api/tickets/{ticket['id']}", headers=headers).json()
    assert len(detail["messages"]) == 1


def test_a_form_encoded_post_works_like_json(stack: Stack) -> None:
    subject = f"Formulaire {uuid.uuid4().hex[:6]}"
    fields = {
        "name": "Amélie Durand",
        "email": f"amelie.{uuid.uuid4().hex[:6]}@élan.fr",
        "phone": "06 12 34 56 78",
        "subject": subject,
        "message": "Ma commande n'est pas arrivée.",
        "consent": "on",
        "website": "",
    }
    reply = stack.post(
        "/webhooks/form",
        body=urllib.parse.urlencode(fields).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert reply.status == 202, reply.body
    headers = _auth(stack)
    _wait_for(lambda: _ticket_of(stack, headers, subject), "the ticket from the form-encoded post")


def test_bad_input_gets_clear_json_errors(stack: Stack) -> None:
    bad = stack.post(
        "/webhooks/form",
        body=json.dumps({"name": "", "email": "nope", "message": "", "consent": False}).encode(),
        headers=JSON,
    )
    assert bad.status == 400
    assert {e["field"] for e in bad.json()["errors"]} >= {"name", "email", "message", "consent"}

    malformed = stack.post("/webhooks/form", body=b'{"name": ', headers=JSON)
    assert malformed.status == 400
    assert "JSON" in malformed.json()["message"]

    huge, _ = _submit(stack, message="x" * (300 * 1024))
    assert huge.status == 413
    assert "message" in huge.json()

    assert stack.get("/api/tickets").status == 401
    assert stack.get("/nowhere").status == 404


def test_a_message_that_cannot_be_processed_ends_in_the_dead_letter_queue(
    stack: Stack, aws: Callable[[str], Any]
) -> None:
    queues = stack.get("/local/queues").json()
    before = queues["inbound-dlq"]["visible"]
    aws("sqs").send_message(
        QueueUrl=queues["inbound"]["url"], MessageBody='{"channel": "web_form", "payload":'
    )

    _wait_for(
        lambda: stack.get("/local/queues").json()["inbound-dlq"]["visible"] > before,
        "the poison message to reach the DLQ after 5 receives",
        timeout=60,
    )
