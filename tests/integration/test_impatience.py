"""Impatience is seen (issue 11, item 1), on moto through the ingest service and the agent API:
Madame Durand writes on four channels within a minute, her ticket climbs past older normal
tickets in its queue and its SLA tightens; an agent's own choice then holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.ticket import Priority, TicketType
from shared.services.ingest import record_message
from tests.support import FixedClock, LambdaContext, api_event

PAUL = "3f1c2e9a-0000-4000-8000-00000000a9e1"
EMAIL = IdentityClaim(kind=IdentityKind.email, value="helene.durand@example.fr")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33611223344")
WHATSAPP = IdentityClaim(kind=IdentityKind.whatsapp, value="33611223344")


def _write(
    repo: DynamoRepository, clock: FixedClock, channel: Channel, text: str, *claims: IdentityClaim
) -> str:
    result = record_message(
        repo,
        clock,
        InboundMessage(
            dedup_key=f"{channel.value}:{clock.now().isoformat()}",
            channel=channel,
            identities=list(claims),
            first_name="Hélène",
            last_name="Durand",
            text=text,
            sent_at=clock.now(),
        ),
    )
    assert result.ticket_id
    return result.ticket_id


def _call(method: str, path: str, body: dict | None = None) -> Any:
    path, _, query = path.partition("?")
    event = api_event(
        "agent_api/get_ticket",
        method,
        path,
        query=query,
        body=body,
        claims={"cognito:groups": "[agent]", "sub": PAUL},
    )
    response = handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _queue() -> list[tuple[str, str]]:
    status, body = _call("GET", "/api/tickets?view=queue&topic=general&limit=20")
    assert status == 200, body
    return [(row["id"], row["priority"]) for row in body["items"]]


def test_four_channels_in_a_minute_move_her_ticket_ahead_and_tighten_its_sla(aws: Any) -> None:
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    older = []
    for n in range(3):  # three other customers, earlier this morning, plain questions
        other = IdentityClaim(kind=IdentityKind.email, value=f"client{n}@example.org")
        older.append(
            _write(
                repo, clock, Channel.web_form, f"Bonjour, je vous écris au sujet de mon dossier {n}", other
            )
        )
        clock.advance(minutes=10)

    ticket_id = _write(
        repo, clock, Channel.web_form, "Bonjour, je n'ai aucune nouvelle de mon dossier.", EMAIL, PHONE
    )
    opened = repo.get_ticket(ticket_id)
    assert opened is not None and opened.value.priority is Priority.normal
    assert opened.value.type is TicketType.unqualified
    assert _queue()[-1] == (ticket_id, "normal")  # the newest normal ticket waits last

    clock.advance(seconds=15)
    assert _write(repo, clock, Channel.sms, "Vous êtes là ?", PHONE) == ticket_id
    raised = repo.get_ticket(ticket_id)
    assert raised is not None and raised.value.priority is Priority.high
    assert _queue()[0] == (ticket_id, "high")  # ahead of the older normal tickets
    assert opened.value.sla is not None and raised.value.sla is not None
    assert raised.value.sla.first_response_due_at < opened.value.sla.first_response_due_at

    clock.advance(seconds=15)
    assert _write(repo, clock, Channel.whatsapp, "Allô ??", WHATSAPP, PHONE) == ticket_id
    clock.advance(seconds=20)
    assert _write(repo, clock, Channel.email, "C'est inadmissible", EMAIL) == ticket_id

    final = repo.get_ticket(ticket_id)
    assert final is not None
    assert final.value.type is TicketType.complaint and final.value.priority is Priority.urgent
    assert any("impatient customer: 4 contacts" in r for r in final.value.priority_reasons), final.value
    waiting = _call("GET", "/api/tickets?view=queue&topic=" + final.value.topic.value)[1]["items"]
    assert waiting[0]["id"] == ticket_id
    # Only the messages that changed something rewrote the ticket, each time audited.
    audit = [e for e in repo.ticket_audit(ticket_id, 20) if e.action == "reassessed"]
    assert [e.changes.get("priority") for e in reversed(audit)] == ["normal -> high", "high -> urgent"]
    assert audit[0].changes["type"] == "unqualified -> complaint"


def test_an_agents_choice_holds_and_a_new_type_by_hand_recomputes_the_priority(aws: Any) -> None:
    # The API changes tickets at the real time: the messages are written just before it.
    repo, clock = DynamoRepository(aws["table"]), FixedClock(datetime.now(UTC) - timedelta(hours=2))
    ticket_id = _write(repo, clock, Channel.web_form, "Bonjour, au sujet de mon dossier.", EMAIL, PHONE)

    status, body = _call("PATCH", f"/api/tickets/{ticket_id}", {"priority": "low"})
    assert status == 200 and body["priority_manual"]["by"] == f"agent:{PAUL}", body

    clock.advance(seconds=20)
    _write(repo, clock, Channel.sms, "Vous êtes là ?", PHONE)
    held = repo.get_ticket(ticket_id)
    assert held is not None and held.value.priority is Priority.low  # impatient, but the agent chose

    status, body = _call("PATCH", f"/api/tickets/{ticket_id}", {"type": "complaint", "topic": "billing"})
    assert (
        status == 200 and body["priority"] == "low" and body["qualification_manual"]["by"] == f"agent:{PAUL}"
    )

    clock.advance(hours=1)
    other = _write(
        repo,
        clock,
        Channel.web_form,
        "Bonjour",
        IdentityClaim(kind=IdentityKind.email, value="x@example.org"),
    )
    status, body = _call("PATCH", f"/api/tickets/{other}", {"type": "complaint"})
    assert status == 200 and body["priority"] == "high" and body["priority_manual"] is None
