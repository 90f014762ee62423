"""Issue 11's seed case over HTTP on the local stack: Madame Durand writes on four channels
within a minute (the contact form, an SMS, a WhatsApp message, an email "C'est inadmissible")
and her ticket moves ahead of older normal tickets, visibly in the agents' queue view."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlencode

import pytest

from shared.adapters.channels.signatures import compute_twilio_signature, hmac_sha256_hex
from tests.e2e.conftest import Stack
from tests.support import EVENTS

pytestmark = pytest.mark.e2e

JSON = {"content-type": "application/json"}


def _wait(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _form(stack: Stack, email: str, phone: str | None, name: str, text: str) -> None:
    form = {
        "name": name,
        "email": email,
        "message": text,
        "consent": True,
        "client_submission_id": str(uuid.uuid4()),
    }
    if phone:
        form["phone"] = phone
    reply = stack.post("/webhooks/form", body=json.dumps(form).encode(), headers=JSON)
    assert reply.status == 202, reply.body


def _sms(stack: Stack, phone: str, text: str) -> None:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": phone,
        "To": "+33757000000",
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    url = f"{stack.base_url}/webhooks/twilio/sms"
    signature = compute_twilio_signature(url, {k: [v] for k, v in params.items()}, "12345")
    reply = stack.post(
        "/webhooks/twilio/sms",
        body=urlencode(params).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
    )
    assert reply.status == 200, reply.body


def _whatsapp(stack: Stack, phone: str, text: str) -> None:
    event = json.loads((EVENTS / "meta_webhook" / "whatsapp_message_text.json").read_text())
    body = json.loads(event["body"])
    value = body["entry"][0]["changes"][0]["value"]
    wa_id = phone.lstrip("+")
    value["contacts"] = [{"profile": {"name": "Hélène Durand"}, "wa_id": wa_id}]
    message = copy.deepcopy(value["messages"][0])
    message.update(id=f"wamid.{uuid.uuid4().hex}", timestamp=str(int(time.time())), text={"body": text})
    message["from"] = wa_id
    value["messages"] = [message]
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac_sha256_hex("TEST_APP_SECRET", raw)
    reply = stack.post(
        "/webhooks/whatsapp",
        body=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert reply.status == 200, reply.body


def _email(stack: Stack, sender: str, text: str) -> None:
    mail = EmailMessage()
    mail["From"] = f"Hélène Durand <{sender}>"
    mail["To"] = "support@support.example.com"
    mail["Subject"] = "Toujours rien"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain="example.fr")
    mail.set_content(text)
    reply = stack.post(
        "/local/inbound-email", body=mail.as_bytes(), headers={"content-type": "message/rfc822"}
    )
    assert reply.status in (200, 202), reply.body


def test_madame_durand_writes_on_four_channels_and_moves_ahead_in_the_queue(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.token('agent')}"}
    tag = uuid.uuid4().hex[:6]
    digits = str(int(tag, 16) % 10**8).zfill(8)
    email, phone = f"helene.durand.{tag}@example.fr", f"+336{digits}"

    def queue() -> list[dict[str, Any]]:
        reply = stack.get("/api/tickets?view=queue&topic=general&limit=100", headers=headers)
        assert reply.status == 200, reply.body
        return list(reply.json()["items"])

    def ticket_of(address: str) -> dict[str, Any] | None:
        found = stack.get(f"/api/search?q={address}", headers=headers).json()
        customers = [hit["id"] for hit in found if hit["entity"] == "customer"]
        if not customers:
            return None
        tickets = stack.get(f"/api/customers/{customers[0]}", headers=headers).json()["tickets"]
        return tickets[0] if tickets else None

    def messages(ticket_id: str) -> list[str]:
        return [
            m["channel"] for m in stack.get(f"/api/tickets/{ticket_id}", headers=headers).json()["messages"]
        ]

    older = []
    for n in range(2):  # two other customers wrote earlier: plain normal tickets
        other = f"client.{tag}.{n}@example.org"
        _form(stack, other, None, f"Client {n}", f"Bonjour, je vous écris au sujet de mon dossier {tag}-{n}.")
        older.append(_wait(lambda o=other: ticket_of(o), "an older ticket")["id"])

    _form(stack, email, phone, "Hélène Durand", f"Bonjour, je n'ai aucune nouvelle de mon dossier {tag}.")
    ticket_id = _wait(lambda: ticket_of(email), "her form's ticket")["id"]
    before = [row["id"] for row in queue()]
    assert before.index(ticket_id) > max(before.index(t) for t in older)  # the newest normal waits behind

    time.sleep(1.1)  # distinct send times (providers give seconds): the messages' order is meaningful
    _sms(stack, phone, "Vous êtes là ?")
    _wait(lambda: messages(ticket_id) == ["web_form", "sms"], "the SMS on her ticket")
    time.sleep(1.1)
    _whatsapp(stack, phone, "Allô ??")
    _wait(lambda: len(messages(ticket_id)) == 3, "the WhatsApp message on her ticket")
    time.sleep(1.1)
    _email(stack, email, "C'est inadmissible, personne ne me répond !")
    _wait(lambda: len(messages(ticket_id)) == 4, "the email on her ticket")

    rows = queue()
    ids = [row["id"] for row in rows]
    assert ids.index(ticket_id) < min(ids.index(t) for t in older)  # ahead of the older normal tickets
    mine = rows[ids.index(ticket_id)]
    assert mine["priority"] == "urgent" and mine["type"] == "complaint"
    assert mine["sla_due_at"]
    assert messages(ticket_id) == ["web_form", "sms", "whatsapp", "email"]
    detail = stack.get(f"/api/tickets/{ticket_id}", headers=headers).json()["ticket"]
    assert any("impatient customer" in reason for reason in detail["priority_reasons"])
