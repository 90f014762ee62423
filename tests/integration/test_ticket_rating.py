"""A customer rates a solved ticket from the customer space (CSAT): once, only their own, only
when solved; it counts for the team, the ticket's queue and channel, and its agent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from functions.portal_api.handler import handler as portal_api
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain import kpi
from shared.domain.agent import Agent
from shared.domain.ticket import TicketStatus
from shared.domain.ticket_work import TicketChange
from shared.services import ticket_work
from tests.integration.test_portal_api import _process_queue
from tests.support import FixedClock, LambdaContext, api_event, load_event

CUSTOMER = "7d4c9e1a-0000-4000-8000-0000000c0ffe"  # the sub in events/portal_api samples
PAUL = "paul"


def _rate(ticket_id: str, body: dict, sub: str = CUSTOMER) -> tuple[int, dict]:
    event = api_event(
        "portal_api/post_message",
        "POST",
        f"/api/portal/tickets/{ticket_id}/rating",
        body=body,
        # Another customer: their own sub and email (Cognito keeps emails unique in a pool).
        claims={"sub": sub} if sub == CUSTOMER else {"sub": sub, "email": f"{sub}@example.org"},
    )
    response = portal_api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _portal_ticket(aws, lambda_context) -> str:
    portal_api(load_event("portal_api/post_message"), lambda_context)
    _process_queue(aws, lambda_context)
    [listed] = DynamoRepository(aws["table"]).list_tickets(limit=10, cursor=None).items
    return listed.id


def _solve(aws, ticket_id: str) -> None:
    repo = DynamoRepository(aws["table"])
    repo.save_agent(Agent(id=PAUL, name="Paul", email="paul@guichet.example", skills=[], capacity=5))
    for change in (TicketChange(assignee_id=PAUL), TicketChange(status=TicketStatus.solved)):
        ticket_work.update_ticket(repo, FixedClock(datetime.now(UTC)), ticket_id, change, f"agent:{PAUL}")


def test_a_solved_ticket_is_rated_once_and_counts_for_the_agent_queue_and_team(aws, lambda_context):
    ticket_id = _portal_ticket(aws, lambda_context)
    assert _rate(ticket_id, {"score": 5})[0] == 409  # not solved yet
    _solve(aws, ticket_id)

    status, rated = _rate(ticket_id, {"score": 4, "comment": "Rapide et aimable"})

    assert status == 200, rated
    assert rated["score"] == 4
    repo = DynamoRepository(aws["table"])
    ticket = repo.get_ticket(ticket_id)
    assert ticket is not None and ticket.value.rating is not None
    assert repo.ticket_audit(ticket_id, 10)[0].action == "rated"
    counters = repo.kpis(datetime.now(UTC).date().isoformat())
    topic = ticket.value.topic.value
    for scope in ("all", f"agent:{PAUL}", f"queue:{topic}", "channel:portal"):
        view = kpi.view(scope, counters[scope])
        assert (view.average_csat, view.satisfaction_rate) == (4.0, 1.0), scope
    status, again = _rate(ticket_id, {"score": 1})
    assert status == 409
    assert "already rated" in again["message"]


def test_nobody_rates_someone_elses_ticket_and_scores_are_1_to_5(aws, lambda_context):
    ticket_id = _portal_ticket(aws, lambda_context)
    _solve(aws, ticket_id)

    assert _rate(ticket_id, {"score": 5}, sub="someone-else")[0] == 404
    status, body = _rate(ticket_id, {"score": 6})
    assert status == 422
    assert "score" in body["message"]
    assert _rate("NOPE1234", {"score": 3})[0] == 404
