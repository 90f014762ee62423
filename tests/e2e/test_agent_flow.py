"""Issue 5's "done when", over HTTP on a local stack of its own (so its queue holds only this
story's ticket): a WhatsApp message arrives, is qualified and queued; an agent with that skill
claims it with POST /api/agents/me/next, sees the 360 view, previews and sends a canned
response; the reply is in the outbox and on the timeline, and the first-response clock stopped.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_replies_flow import _customer_writes, _ticket_with, _wait

pytestmark = pytest.mark.e2e


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def _json(stack: Stack, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    reply = stack.request(
        method,
        path,
        body=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    return reply.status, reply.json() if reply.body else None


def test_a_whatsapp_request_is_qualified_claimed_seen_in_360_and_answered(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        agent, admin = stack.token("agent"), stack.token("admin")
        paul = _subject(agent)
        status, _ = _json(
            stack,
            "PUT",
            f"/api/admin/agents/{paul}",
            admin,
            {
                "id": paul,
                "name": "Paul",
                "email": "paul@guichet.example",
                "skills": ["tech_support"],
                "capacity": 5,
            },
        )
        assert status == 200
        canned = {
            "id": "box-restart",
            "title": "Redémarrer la box",
            "body": 'Bonjour {{customer.first_name | ""}}, débranchez la box 10 secondes puis '
            "rebranchez-la (dossier {{ticket.id}}).",
        }
        assert _json(stack, "PUT", "/api/admin/canned/box-restart", admin, canned)[0] == 200

        # 1. The customer writes on WhatsApp (signed webhook -> queue -> processor).
        wa_id = f"3365{random.randrange(10**7):07d}"
        text = f"Bonjour, ma box internet ne fonctionne plus depuis ce matin ({uuid.uuid4().hex[:6]})"
        _customer_writes(stack, wa_id, text)
        opened = _wait(lambda: _ticket_with(stack, {"authorization": f"Bearer {agent}"}, text), "the ticket")
        ticket_id = opened["ticket"]["id"]

        # 2. Qualified (type, topic) and waiting in its topic queue.
        assert opened["ticket"]["topic"] == "tech_support"
        assert opened["ticket"]["type"] != "unqualified"
        status, queue = _json(stack, "GET", "/api/tickets?view=queue&topic=tech_support", agent)
        assert status == 200 and [t["id"] for t in queue["items"]] == [ticket_id]

        # 3. Paul, whose skill is tech support, claims the best waiting ticket: this one.
        status, claim = _json(stack, "POST", "/api/agents/me/next", agent)
        assert status == 200, claim
        assert claim["ticket"]["id"] == ticket_id and claim["ticket"]["assignee_id"] == paul
        assert claim["queues_tried"] == ["tech_support"]
        assert _json(stack, "POST", "/api/agents/me/next", agent)[0] == 404  # nothing else waits

        # 4. The 360 view: the profile with its WhatsApp identity, the ticket, the journey.
        customer_id = claim["ticket"]["customer_id"]
        status, view = _json(stack, "GET", f"/api/customers/{customer_id}", agent)
        assert status == 200
        assert any(i["kind"] == "whatsapp" and i["value"] == wa_id for i in view["customer"]["identities"])
        assert [t["id"] for t in view["tickets"]] == [ticket_id]
        assert view["timeline"][0]["ticket_id"] == ticket_id

        # 5. A canned response, previewed then sent on the customer's channel.
        status, shown = _json(
            stack, "POST", f"/api/tickets/{ticket_id}/canned/box-restart/preview", agent, {}
        )
        assert status == 200 and shown["ready"], shown
        status, sent = _json(
            stack, "POST", f"/api/tickets/{ticket_id}/replies", agent, {"canned_id": "box-restart"}
        )
        assert status == 201, sent
        assert sent["channel"] == "whatsapp"
        assert sent["message"]["text"] == shown["preview"]["text"]

        # 6. In the outbox (what WhatsApp's Cloud API received) and on the timeline.
        outbox = stack.get("/local/outbox").json()
        assert any(
            item.get("kind") == "provider" and (item.get("body") or {}).get("to") == wa_id for item in outbox
        )
        status, view = _json(stack, "GET", f"/api/customers/{customer_id}", agent)
        outbound = [e for e in view["timeline"] if e["direction"] == "outbound"]
        assert [e["message_id"] for e in outbound] == [sent["message"]["id"]]

        # 7. The first-response clock stopped, within its deadline.
        status, detail = _json(stack, "GET", f"/api/tickets/{ticket_id}", agent)
        sla = detail["ticket"]["sla"]
        assert sla["first_responded_at"] is not None
        assert "first_response" not in sla["breached"]
        assert detail["ticket"]["status"] == "open"
