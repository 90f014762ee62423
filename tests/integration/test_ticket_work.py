"""Agents at work through the API: claim, requalify, pause/resume the SLA, notes, audit, roles."""

from __future__ import annotations

import json

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from tests.support import FixedClock, LambdaContext, api_event

PAUL = "3f1c2e9a-0000-4000-8000-00000000a9e1"  # the sub in events/agent_api samples


def _call(
    method: str, path: str, body: dict | None = None, groups: str = "[agent]", sub: str = PAUL
) -> tuple:
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


def _waiting_ticket(aws, text="Ma box ne fonctionne pas") -> str:
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    return record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key=f"sms:{text}",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value="+33612345678")],
            text=text,
            sent_at=clock.now(),
        ),
    ).ticket_id


def _register_paul(skills=("tech_support",)):
    status, _ = _call(
        "PUT",
        f"/api/admin/agents/{PAUL}",
        {
            "id": PAUL,
            "name": "Paul",
            "email": "paul@guichet.example",
            "skills": list(skills),
            "capacity": 3,
        },
        groups="[admin]",
    )
    assert status == 200


def test_an_agent_claims_the_ticket_of_his_skill_and_it_leaves_the_queue(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    _register_paul()

    status, body = _call("POST", "/api/agents/me/next")

    assert status == 200
    assert body["ticket"]["id"] == ticket_id
    assert body["ticket"]["topic"] == "tech_support"  # qualified from "ne fonctionne pas"
    assert body["ticket"]["assignee_id"] == PAUL
    assert _call("POST", "/api/agents/me/next")[0] == 404  # nothing else waiting
    _, audit = _call("GET", f"/api/tickets/{ticket_id}/audit")
    assert [a["action"] for a in audit] == ["claimed"]


def test_only_admins_set_skills_and_unknown_agents_are_told_to_ask_one(aws, lambda_context):
    status, _ = _call("PUT", f"/api/admin/agents/{PAUL}", {"id": PAUL, "name": "P", "email": "p@x.fr"})
    assert status == 403
    status, body = _call("GET", "/api/agents/me")
    assert status == 404 and "ask an admin" in body["message"]


def test_waiting_on_the_customer_pauses_the_sla_and_the_work_is_audited(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    _register_paul()
    _call("POST", "/api/agents/me/next")

    status, ticket = _call(
        "PATCH", f"/api/tickets/{ticket_id}", {"status": "pending_customer", "add_tags": ["box"]}
    )
    assert status == 200
    assert ticket["status"] == "pending_customer" and ticket["tags"] == ["box"]
    assert ticket["sla"]["paused_since"] is not None

    status, ticket = _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "open", "topic": "delivery"})
    assert ticket["sla"]["paused_since"] is None and ticket["topic"] == "delivery"

    status, note = _call("POST", f"/api/tickets/{ticket_id}/notes", {"text": "Client rappelé, RDV demain"})
    assert status == 200 and note["direction"] == "internal"

    _, audit = _call("GET", f"/api/tickets/{ticket_id}/audit")
    assert [a["action"] for a in audit] == ["note", "requalified", "status", "tagged", "status", "claimed"]
    assert audit[1]["changes"] == {"topic": "tech_support -> delivery"}
    assert all(a["actor"] in (f"agent:{PAUL}",) for a in audit)


def test_solving_frees_the_agents_capacity(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    _register_paul()
    _call("POST", "/api/agents/me/next")
    assert _call("GET", "/api/agents/me")[1]["active_ticket_count"] == 1

    status, ticket = _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "solved"})

    assert status == 200 and ticket["sla"]["resolved_at"] is not None
    assert _call("GET", "/api/agents/me")[1]["active_ticket_count"] == 0


def test_forbidden_transitions_and_reassignment_rules(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)

    status, body = _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "closed"})
    assert status == 400 and "cannot go from new to closed" in json.dumps(body)

    assert _call("PATCH", f"/api/tickets/{ticket_id}", {"assignee_id": "someone-else"})[0] == 403
    status, body = _call(
        "PATCH", f"/api/tickets/{ticket_id}", {"assignee_id": "someone-else"}, groups="[supervisor]"
    )
    assert status == 404 and "someone-else" in body["message"]
    _register_paul()
    status, ticket = _call("PATCH", f"/api/tickets/{ticket_id}", {"assignee_id": PAUL}, groups="[supervisor]")
    assert status == 200 and ticket["assignee_id"] == PAUL
    assert _call("GET", "/api/agents/me")[1]["active_ticket_count"] == 1
    assert DynamoRepository(aws["table"]).queue_backlog(["tech_support"]) == {"tech_support": 0}


def test_a_requalified_waiting_ticket_moves_to_its_new_queue(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    repo = DynamoRepository(aws["table"])
    assert repo.queue_backlog(["tech_support", "billing"]) == {"tech_support": 1, "billing": 0}

    _call("PATCH", f"/api/tickets/{ticket_id}", {"topic": "billing"})

    assert repo.queue_backlog(["tech_support", "billing"]) == {"tech_support": 0, "billing": 1}
    _register_paul(skills=("billing",))
    assert _call("POST", "/api/agents/me/next")[1]["ticket"]["id"] == ticket_id


def test_without_a_staff_role_nothing_is_possible(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    for method, path, body in [
        ("POST", "/api/agents/me/next", None),
        ("PATCH", f"/api/tickets/{ticket_id}", {"status": "open"}),
        ("POST", f"/api/tickets/{ticket_id}/notes", {"text": "x"}),
        ("GET", f"/api/tickets/{ticket_id}/audit", None),
    ]:
        assert _call(method, path, body, groups="[]")[0] == 403, path


def test_supervisors_see_the_days_kpis_kept_on_write(aws, lambda_context):
    ticket_id = _waiting_ticket(aws)
    _register_paul()
    _call("POST", "/api/agents/me/next")
    _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "solved"})
    day = DynamoRepository(aws["table"]).get_ticket(ticket_id).value.updated_at.strftime("%Y-%m-%d")

    assert _call("GET", "/api/kpis?day=2026-11-25", groups="[agent]")[0] == 403
    event_day = "2026-11-25"  # the message's own day (FixedClock)
    status, views = _call("GET", f"/api/kpis?day={event_day}", groups="[supervisor]")
    assert status == 200
    scopes = {v["scope"]: v for v in views}
    assert scopes["channel:sms"]["counters"]["messages_in"] == 1
    assert scopes["all"]["counters"]["tickets_created"] == 1
    status, views = _call("GET", f"/api/kpis?day={day}", groups="[supervisor]")
    solved = {v["scope"]: v for v in views}
    assert solved[f"agent:{PAUL}"]["counters"]["resolved"] == 1
    assert solved["queue:tech_support"]["sla_compliance"] in (0.0, 1.0)


def _list(query: str, groups: str = "[agent]") -> tuple[int, dict]:
    return _call("GET", f"/api/tickets?{query}", groups=groups)


def _all_pages(query: str) -> list[str]:
    ids, cursor = [], None
    for _ in range(20):
        status, body = _list(query + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, body
        ids += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


def test_list_views_mine_queue_and_filters(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    made = []
    for n, (text, channel) in enumerate(
        [
            ("Ma box ne fonctionne pas", Channel.sms),
            ("Ma facture est fausse", Channel.email),
            ("Le wifi ne fonctionne pas", Channel.sms),
            ("Où est ma facture ?", Channel.sms),
        ]
    ):
        clock.advance(minutes=1)
        made.append(
            record_event(
                repo,
                clock,
                InboundMessage(
                    dedup_key=f"list-{n}",
                    channel=channel,
                    text=text,
                    sent_at=clock.now(),
                    identities=[IdentityClaim(kind=IdentityKind.phone, value=f"+3361111111{n}")]
                    if channel is Channel.sms
                    else [IdentityClaim(kind=IdentityKind.email, value=f"c{n}@example.org")],
                ),
            ).ticket_id
        )
    _register_paul()
    claimed = _call("POST", "/api/agents/me/next")[1]["ticket"]["id"]

    assert _all_pages("view=mine&limit=1") == [claimed]
    assert set(_all_pages("view=all&limit=1")) == set(made)
    waiting_tech = _all_pages("view=queue&topic=tech_support&limit=1")
    assert claimed not in waiting_tech and waiting_tech  # claimed tickets leave the queue
    assert set(_all_pages("view=all&channel=email&limit=1")) == {made[1]}
    assert set(_all_pages("view=all&status=open&limit=2")) == {claimed}
    assert _list("view=queue")[0] == 400  # a queue needs its topic


def test_merging_two_tickets_moves_messages_and_parties_to_the_survivor(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()

    def ticket(n: int, text: str, phone: str) -> str:
        clock.advance(minutes=1)
        return record_event(
            repo,
            clock,
            InboundMessage(
                dedup_key=f"merge-{n}",
                channel=Channel.sms,
                text=text,
                sent_at=clock.now(),
                identities=[IdentityClaim(kind=IdentityKind.phone, value=phone)],
            ),
        ).ticket_id

    survivor = ticket(1, "Ma box ne fonctionne pas", "+33611111111")
    duplicate = ticket(2, "Toujours pas de connexion", "+33622222222")  # another profile (the spouse)
    repo_before = repo.queue_backlog(["tech_support"])

    status, body = _call("POST", f"/api/tickets/{duplicate}/merge", {"into": survivor})

    assert status == 200, body
    assert body["id"] == survivor and body["merged_from"] == [duplicate] and body["message_count"] == 2
    assert [p["role"] for p in body["parties"]] == ["customer"]  # the other profile follows as a party
    _, detail = _call("GET", f"/api/tickets/{survivor}")
    assert [m["text"] for m in detail["messages"]] == [
        "Ma box ne fonctionne pas",
        "Toujours pas de connexion",
    ]
    merged = repo.get_ticket(duplicate).value
    assert (merged.merged_into, merged.status.value) == (survivor, "closed")
    assert repo.queue_backlog(["tech_support"]) == {"tech_support": repo_before["tech_support"] - 1}
    newest = _call("GET", f"/api/tickets/{duplicate}/audit")[1][0]
    assert newest["action"] == "merged"

    # The other customer's next message joins the survivor, where their case now lives.
    clock.advance(minutes=1)
    follow_up = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="merge-3",
            channel=Channel.sms,
            text="Et maintenant ?",
            sent_at=clock.now(),
            identities=[IdentityClaim(kind=IdentityKind.phone, value="+33622222222")],
        ),
    )
    assert follow_up.ticket_id == survivor


def test_merge_refusals_are_clear(aws, lambda_context):
    first = _waiting_ticket(aws)
    status, body = _call("POST", f"/api/tickets/{first}/merge", {"into": first})
    assert status == 400 and "itself" in json.dumps(body)
    assert _call("POST", f"/api/tickets/{first}/merge", {"into": "NOPE0000"})[0] == 404
