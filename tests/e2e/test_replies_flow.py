"""An agent answers a WhatsApp customer over HTTP on the running local stack.

The reply goes through replies_api to the stack's fake WhatsApp Cloud API (GET /local/outbox
shows the request), lands on the ticket as a sent outbound message, and Meta's signed status
webhook then moves it to delivered. A contact-form ticket is answered by email (moto's SES,
also in the outbox), and WhatsApp is refused there: the customer never wrote on it.
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from shared.adapters.channels.signatures import hmac_sha256_hex
from tests.e2e.conftest import Stack
from tests.support import EVENTS

pytestmark = pytest.mark.e2e


def _wait(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _ticket_with(stack: Stack, headers: dict[str, str], text: str) -> dict[str, Any] | None:
    """The ticket (with its messages) holding a message of this text, among the newest 100."""
    for ticket in stack.get("/api/tickets?limit=100", headers=headers).json()["items"]:
        detail: dict[str, Any] = stack.get(f"/api/tickets/{ticket['id']}", headers=headers).json()
        if any(m["text"] == text for m in detail["messages"]):
            return detail
    return None


def _meta_post(stack: Stack, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    reply = stack.post(
        "/webhooks/whatsapp",
        body=raw,
        headers={
            "content-type": "application/json",
            "x-hub-signature-256": "sha256=" + hmac_sha256_hex("TEST_APP_SECRET", raw),
        },
    )
    assert reply.status == 200, reply.body


def _sample(name: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "meta_webhook" / f"{name}.json").read_text())
    body: dict[str, Any] = json.loads(event["body"])
    return body


def _customer_writes(stack: Stack, wa_id: str, text: str) -> None:
    """The WhatsApp sample, from a number of this test's own (other e2e tests use the sample's)."""
    body = _sample("whatsapp_message_text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "Inès Fabre"}, "wa_id": wa_id}]
    message = copy.deepcopy(value["messages"][0])
    message.update(
        {"from": wa_id, "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time()))},
        text={"body": text},
    )
    value["messages"] = [message]
    _meta_post(stack, body)


def _status(stack: Stack, wamid: str, wa_id: str, status: str) -> None:
    body = _sample("whatsapp_statuses")
    value = body["entry"][0]["changes"][0]["value"]
    value["statuses"] = [
        {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": wa_id}
    ]
    _meta_post(stack, body)


def test_a_whatsapp_reply_reaches_the_outbox_and_the_ticket_then_its_status(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.token('agent')}", "content-type": "application/json"}
    wa_id = f"3361{random.randrange(10**7):07d}"
    tag = uuid.uuid4().hex[:6]
    _customer_writes(stack, wa_id, f"Bonjour {tag}, ma commande n'est pas arrivée.")

    first = f"Bonjour {tag}, ma commande n'est pas arrivée."
    opened = _wait(lambda: _ticket_with(stack, headers, first), "the ticket")
    ticket_id = opened["ticket"]["id"]

    answer = f"Bonjour Inès, votre colis {tag} est parti ce matin."
    sent = stack.post(
        f"/api/tickets/{ticket_id}/replies", body=json.dumps({"text": answer}).encode(), headers=headers
    )

    assert sent.status == 201, sent.body
    reply = sent.json()
    assert reply["channel"] == "whatsapp" and reply["message"]["delivery_status"] == "sent"
    wamid = reply["message"]["provider_ids"]["wamid"]

    outbox = stack.get("/local/outbox").json()
    [request] = [
        item
        for item in outbox
        if item.get("kind") == "provider" and (item.get("body") or {}).get("to") == wa_id
    ]
    assert request["provider"] == "meta" and request["path"].endswith("/106540352242922/messages")
    assert request["body"]["text"]["body"] == answer
    assert "authorization" not in request["headers"]  # the outbox never keeps credentials
    assert request["response"]["body"]["messages"][0]["id"] == wamid

    detail = stack.get(f"/api/tickets/{ticket_id}", headers=headers).json()
    [outbound] = [m for m in detail["messages"] if m["direction"] == "outbound"]
    assert outbound["text"] == answer and outbound["party_role"] == "agent"
    assert detail["ticket"]["sla"]["first_responded_at"] is not None

    _status(stack, wamid, wa_id, "delivered")

    def delivered() -> bool:
        messages = stack.get(f"/api/tickets/{ticket_id}", headers=headers).json()["messages"]
        return any(m["id"] == outbound["id"] and m["delivery_status"] == "delivered" for m in messages)

    _wait(delivered, "the delivered status on the reply")

    # An admin keeps a canned response; the agent previews it on the ticket, then sends it.
    admin = {"authorization": f"Bearer {stack.token('admin')}", "content-type": "application/json"}
    canned = {
        "id": f"e2e-{tag}",
        "title": "Suivi",
        "body": 'Bonjour {{customer.first_name | ""}}, votre dossier {{ticket.id}} est suivi par '
        '{{agent.name | "notre équipe"}}.',
    }
    saved = stack.request(
        "PUT", f"/api/admin/canned/{canned['id']}", body=json.dumps(canned).encode(), headers=admin
    )
    assert saved.status == 200, saved.body
    forbidden = stack.request(
        "PUT", f"/api/admin/canned/{canned['id']}", body=json.dumps(canned).encode(), headers=headers
    )
    assert forbidden.status == 403
    shown = stack.post(f"/api/tickets/{ticket_id}/canned/{canned['id']}/preview", body=b"{}", headers=headers)
    assert shown.status == 200, shown.body
    assert shown.json()["ready"] and shown.json()["length"]["limit"] == 4096
    assert ticket_id in shown.json()["preview"]["text"]
    second = stack.post(
        f"/api/tickets/{ticket_id}/replies",
        body=json.dumps({"canned_id": canned["id"]}).encode(),
        headers=headers,
    )
    assert second.status == 201, second.body
    assert second.json()["message"]["text"] == shown.json()["preview"]["text"]

    customer_id = detail["ticket"]["customer_id"]
    timeline = stack.get(f"/api/customers/{customer_id}", headers=headers).json()["timeline"]
    entries = [e for e in timeline if e["kind"] == "message" and e["direction"] == "outbound"]
    assert [e["message_id"] for e in entries] == [second.json()["message"]["id"], reply["message"]["id"]]


def test_a_form_is_answered_by_email_and_whatsapp_needs_a_template(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.token('agent')}", "content-type": "application/json"}
    form = {
        "name": "Marc Petit",
        "email": f"marc.{uuid.uuid4().hex[:8]}@example.net",
        "subject": "Devis",
        "message": "Pouvez-vous me rappeler ?",
        "consent": True,
        "client_submission_id": str(uuid.uuid4()),
    }
    assert stack.post(
        "/webhooks/form", body=json.dumps(form).encode(), headers={"content-type": "application/json"}
    ).status in (200, 202)

    ticket_id = _wait(lambda: _ticket_with(stack, headers, form["message"]), "the form's ticket")["ticket"][
        "id"
    ]
    refused = stack.post(
        f"/api/tickets/{ticket_id}/replies",
        body=json.dumps({"text": "Bonjour", "channel": "whatsapp"}).encode(),
        headers=headers,
    )
    assert refused.status == 409
    assert refused.json()["code"] == "template_required"
    assert "Pick an approved template" in refused.json()["message"]

    sent = stack.post(
        f"/api/tickets/{ticket_id}/replies",
        body=json.dumps({"text": "Bonjour Marc, nous vous rappelons demain."}).encode(),
        headers=headers,
    )
    assert sent.status == 201, sent.body
    assert sent.json()["channel"] == "email"
    ses_id = sent.json()["message"]["provider_ids"]["ses_message_id"]
    [mail] = [item for item in stack.get("/local/outbox").json() if item.get("id") == ses_id]
    assert mail["kind"] == "email" and mail["source"] == "support@guichet.local"
    assert form["email"] in mail["destinations"]  # the envelope (moto adds the To header's)
    assert f"support+t{ticket_id}@guichet.local" in mail["raw"]
    assert f"[#{ticket_id}]" in mail["raw"]
