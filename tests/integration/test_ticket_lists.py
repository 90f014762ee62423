"""The agents' ticket lists through the API on moto: collaborators' "mine", the filters, and
what each row says (the customer's name, the SLA due time) without a read per row."""

from __future__ import annotations

import json
from typing import Any

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from tests.support import FixedClock, LambdaContext, api_event

PAUL = "3f1c2e9a-0000-4000-8000-00000000a9e1"  # the sub in events/agent_api samples
LEA = "lea-0000"


def _call(method: str, path: str, body: dict | None = None, groups: str = "[agent]", sub: str = PAUL) -> Any:
    path, _, query = path.partition("?")
    event = api_event(
        "agent_api/get_ticket",
        method,
        path,
        query=query,
        body=body,
        claims={"cognito:groups": groups, "sub": sub},
    )
    response = handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def _agent(agent_id: str, name: str) -> None:
    body = {"id": agent_id, "name": name, "email": f"{agent_id}@guichet.example", "skills": ["general"]}
    assert _call("PUT", f"/api/admin/agents/{agent_id}", body, groups="[admin]")[0] == 200


def _ticket(repo: DynamoRepository, clock: FixedClock, n: int, **fields: Any) -> str:
    clock.advance(minutes=1)
    values: dict[str, Any] = {
        "dedup_key": f"lists-{n}",
        "channel": Channel.sms,
        "text": f"Demande {n}",
        "sent_at": clock.now(),
        "identities": [IdentityClaim(kind=IdentityKind.phone, value=f"+3361111111{n}")],
    }
    values.update(fields)
    ticket_id = record_event(repo, clock, InboundMessage(**values)).ticket_id
    assert ticket_id
    return ticket_id


def _ids(query: str, sub: str = PAUL) -> list[str]:
    status, body = _call("GET", f"/api/tickets?{query}", sub=sub)
    assert status == 200, body
    return [row["id"] for row in body["items"]]


def test_a_collaborator_sees_the_ticket_in_mine_until_it_is_solved(aws: Any) -> None:
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _agent(PAUL, "Paul Martin")
    _agent(LEA, "Léa Girard")
    mine, other = _ticket(repo, clock, 1), _ticket(repo, clock, 2)

    status, body = _call("PATCH", f"/api/tickets/{mine}", {"assignee_id": PAUL, "add_collaborators": [LEA]})
    assert status == 200 and body["collaborator_ids"] == [LEA], body

    assert _ids("view=mine", sub=LEA) == [mine]  # Léa helps on Paul's ticket
    assert _ids("view=mine") == [mine]
    assert other not in _ids("view=mine", sub=LEA)
    assert _ids("view=mine&status=solved", sub=LEA) == []  # filters apply to collaborations too

    assert _call("PATCH", f"/api/tickets/{mine}", {"status": "solved"})[0] == 200
    assert _ids("view=mine", sub=LEA) == []  # solved: off everyone's "mine"
    assert _call("PATCH", f"/api/tickets/{mine}", {"status": "open"})[0] == 200
    assert _ids("view=mine", sub=LEA) == [mine]  # reopened: back

    assert _call("PATCH", f"/api/tickets/{mine}", {"remove_collaborators": [LEA]})[0] == 200
    assert _ids("view=mine", sub=LEA) == []


def test_an_unknown_collaborator_is_a_422_and_nothing_changes(aws: Any) -> None:
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _agent(PAUL, "Paul Martin")
    ticket_id = _ticket(repo, clock, 1)

    status, body = _call("PATCH", f"/api/tickets/{ticket_id}", {"add_collaborators": [PAUL, "nobody-42"]})

    assert status == 422, body
    assert body["errors"] == [{"field": "add_collaborators", "message": "no agent nobody-42"}]
    found = repo.get_ticket(ticket_id)
    assert found is not None and found.value.collaborator_ids == []


def test_admins_read_and_edit_an_agents_display_names(aws: Any) -> None:
    _agent(LEA, "Léa Girard")
    status, body = _call("GET", f"/api/admin/agents/{LEA}", groups="[admin]")
    assert status == 200 and body["name"] == "Léa Girard" and body["first_name"] is None
    body.update(first_name="Léa", last_name="Girard", name="Léa G.")
    body.pop("active_ticket_count")
    assert _call("PUT", f"/api/admin/agents/{LEA}", body, groups="[admin]")[0] == 200
    assert _call("GET", f"/api/admin/agents/{LEA}", groups="[supervisor]")[1]["first_name"] == "Léa"
    assert _call("GET", f"/api/admin/agents/{LEA}")[0] == 403  # agents read their own: /api/agents/me
    assert _call("GET", "/api/admin/agents/nobody", groups="[admin]")[0] == 404
