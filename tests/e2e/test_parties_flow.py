"""A multi-party case over HTTP on the running local stack: a WhatsApp customer's parcel is
lost, the agent adds the carrier, writes to it by email (the outbox shows the mail), and the
carrier's answer, sent to the plus-address, comes back into the ticket as the carrier's."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_replies_flow import _customer_writes, _ticket_with, _wait

pytestmark = pytest.mark.e2e


def _carrier_answers(stack: Stack, carrier: str, ticket_id: str, in_reply_to: str, text: str) -> None:
    raw = (
        f"Return-Path: <{carrier}>\r\n"
        f"From: Service litiges <{carrier}>\r\n"
        f"To: support+t{ticket_id}@guichet.local\r\n"
        f"Subject: Re: colis [#{ticket_id}]\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@transports.example>\r\n"
        f"In-Reply-To: <{in_reply_to}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "\r\n"
        f"{text}\r\n"
    ).encode()
    reply = stack.post("/local/inbound-email", body=raw, headers={"Content-Type": "message/rfc822"})
    assert reply.status in (200, 202), reply.body


def test_the_carrier_is_added_written_to_and_its_answer_threads_into_the_ticket(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.token('agent')}", "content-type": "application/json"}
    wa_id = f"3362{random.randrange(10**7):07d}"
    tag = uuid.uuid4().hex[:6]
    first = f"Mon colis {tag} est perdu."
    _customer_writes(stack, wa_id, first)

    ticket_id = _wait(lambda: _ticket_with(stack, headers, first), "the customer's ticket")["ticket"]["id"]
    carrier = f"litiges.{tag}@transports.example"
    added = stack.post(
        f"/api/tickets/{ticket_id}/parties",
        body=json.dumps({"role": "carrier", "name": "Transports", "email": carrier}).encode(),
        headers=headers,
    )
    assert added.status == 201, added.body
    [party] = [p for p in added.json()["parties"] if p["role"] == "carrier"]

    asked = stack.post(
        f"/api/tickets/{ticket_id}/replies",
        body=json.dumps(
            {"party_id": party["id"], "text": f"Où est le colis {tag} ?", "status": "pending_third_party"}
        ).encode(),
        headers=headers,
    )
    assert asked.status == 201, asked.body
    sent = asked.json()["message"]
    [mail] = [
        item
        for item in stack.get("/local/outbox").json()
        if item.get("id") == sent["provider_ids"]["ses_message_id"]
    ]
    assert carrier in mail["destinations"]
    assert f"support+t{ticket_id}@guichet.local" in mail["raw"]

    answer = f"Colis {tag} retrouvé, livraison demain."
    _carrier_answers(stack, carrier, ticket_id, sent["provider_ids"]["message_id"], answer)

    def carrier_message() -> dict[str, Any] | None:
        detail = stack.get(f"/api/tickets/{ticket_id}", headers=headers).json()
        found = [
            m for m in detail["messages"] if m["party_id"] == party["id"] and m["direction"] == "inbound"
        ]
        return detail if found else None

    detail = _wait(carrier_message, "the carrier's answer in the ticket")
    [from_carrier] = [m for m in detail["messages"] if m["direction"] == "inbound" and m["party_id"]]
    assert from_carrier["party_role"] == "carrier"
    assert answer in from_carrier["text"]
    assert detail["ticket"]["status"] == "open"  # the wait on the carrier ended
    assert detail["ticket"]["last_inbound_channel"] == "whatsapp"  # replies still go to the customer
