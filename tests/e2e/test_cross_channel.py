"""One customer writes on WhatsApp, then SMS, then email: one profile, one ticket, three messages.

Driven over HTTP against the running local stack, with requests signed the way Meta and Twilio
sign them (the stack's default test secrets) and the email injected as SES would deliver it.
"""

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

PHONE = "+16505551234"  # the WhatsApp sample's wa_id, in E.164


def _wait(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _whatsapp(stack: Stack, wamid: str, text: str) -> None:
    event = json.loads((EVENTS / "meta_webhook" / "whatsapp_message_text.json").read_text())
    body = json.loads(event["body"])
    value = body["entry"][0]["changes"][0]["value"]
    message = copy.deepcopy(value["messages"][0])
    message.update(id=wamid, timestamp=str(int(time.time())), text={"body": text})
    value["messages"] = [message]
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac_sha256_hex("TEST_APP_SECRET", raw)
    reply = stack.post(
        "/webhooks/whatsapp",
        body=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert reply.status == 200, reply.body


def _sms(stack: Stack, text: str) -> None:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": PHONE,
        "To": "+33757000000",
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    body = urlencode(params)
    url = f"{stack.base_url}/webhooks/twilio/sms"  # PUBLIC_BASE_URL defaults to the stack's own URL
    signature = compute_twilio_signature(url, {k: [v] for k, v in params.items()}, "12345")
    reply = stack.post(
        "/webhooks/twilio/sms",
        body=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
    )
    assert reply.status == 200, reply.body


def _email(stack: Stack, ticket_id: str, text: str) -> None:
    mail = EmailMessage()
    mail["From"] = "Sheena Nelson <sheena.nelson@example.com>"
    mail["To"] = f"support+t{ticket_id}@support.example.com"
    mail["Subject"] = "Ma commande #1001"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content(text)
    reply = stack.post(
        "/local/inbound-email", body=mail.as_bytes(), headers={"content-type": "message/rfc822"}
    )
    assert reply.status in (200, 202), reply.body


def test_whatsapp_then_sms_then_email_make_one_profile_and_one_ticket(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.token('agent')}"}

    def tickets_of(customer_id: str | None = None) -> list[dict[str, Any]]:
        items = stack.get("/api/tickets?limit=100", headers=headers).json()["items"]
        return [t for t in items if customer_id is None or t["customer_id"] == customer_id]

    def ticket_with(text: str) -> dict[str, Any] | None:
        for ticket in tickets_of():
            detail = stack.get(f"/api/tickets/{ticket['id']}", headers=headers).json()
            if any(m["text"] == text for m in detail["messages"]):
                return detail
        return None

    tag = uuid.uuid4().hex[:6]
    _whatsapp(stack, f"wamid.{tag}", f"Bonjour {tag}, où est ma commande #1001 ?")
    opened = _wait(lambda: ticket_with(f"Bonjour {tag}, où est ma commande #1001 ?"), "the WhatsApp ticket")
    ticket_id, customer_id = opened["ticket"]["id"], opened["ticket"]["customer_id"]

    time.sleep(1.1)  # distinct send times, so the order of the three messages is meaningful
    _sms(stack, f"Je vous écris aussi par SMS {tag}")
    _wait(lambda: ticket_with(f"Je vous écris aussi par SMS {tag}"), "the SMS on the ticket")
    time.sleep(1.1)
    _email(stack, ticket_id, f"Et par email {tag}.")
    detail = _wait(lambda: ticket_with(f"Et par email {tag}."), "the email on the ticket")

    assert detail["ticket"]["id"] == ticket_id
    assert [m["channel"] for m in detail["messages"]] == ["whatsapp", "sms", "email"]
    assert [t["id"] for t in tickets_of(customer_id)] == [ticket_id]
    profile = stack.get(f"/api/customers/{customer_id}", headers=headers).json()["customer"]
    kinds = {i["kind"] for i in profile["identities"]}
    # The mail joined the case through its thread (support+t<ref>@), which proves nothing about
    # who wrote it: the address stays off this proven profile (issue 15, item 1; docs/security.md).
    assert {"whatsapp", "phone"} <= kinds and "email" not in kinds
    assert profile["traits"]["contacts_per_channel"] == {"whatsapp": 1, "sms": 1, "email": 1}
