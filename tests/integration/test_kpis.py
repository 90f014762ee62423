"""Supervisors' KPIs kept on write, on moto: replies (volume out, first response time) and
satisfaction survey answers (CSAT), as GET /api/kpis shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.agent_api.handler import handler as agent_api
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.outbound_store import OutboundStore
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.adapters.outbound import ProviderRejected, RejectionKind
from shared.adapters.outbound.fakes import fake_channels
from shared.domain import kpi
from shared.domain.common import Channel
from shared.domain.errors import Conflict
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.survey import new_survey
from shared.domain.workflow import Csat, WorkflowRecord
from shared.services.ingest import record_message
from shared.services.replies import Author, ReplyDraft, ReplyNotSent, send_reply
from tests.support import FixedClock, LambdaContext, api_event

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday, within office hours
DAY = "2026-11-25"
PAUL = Author(id="agent-paul")


def _seed(table: Any, phone: str, ago: timedelta) -> str:
    result = record_message(
        DynamoRepository(table),
        FixedClock(NOW - ago),
        InboundMessage(
            dedup_key=f"sms:{phone}",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value=phone)],
            first_name="Léa",
            text="Bonjour",
            sent_at=NOW - ago,
        ),
    )
    assert result.ticket_id
    return result.ticket_id


def _kpis(day: str = DAY) -> dict[str, dict[str, Any]]:
    event = api_event(
        "agent_api/list_tickets",
        "GET",
        "/api/kpis",
        query=f"day={day}",
        claims={"cognito:groups": "[supervisor]"},
    )
    response = agent_api(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return {view["scope"]: view for view in json.loads(response["body"])}


@pytest.fixture
def reply(aws: dict[str, Any]) -> Any:
    table = aws["table"]
    fake, channels = fake_channels()

    def send(ticket_id: str, text: str = "Bonjour") -> Any:
        return send_reply(
            reader=DynamoRepository(table),
            orders=OrderRepository(table),
            store=OutboundStore(table),
            channels=channels,
            clock=FixedClock(NOW),
            ticket_id=ticket_id,
            draft=ReplyDraft(text=text),
            author=PAUL,
        )

    send.fake = fake  # type: ignore[attr-defined]
    return send


def test_replies_count_as_volume_out_and_the_first_one_as_the_first_response(aws, reply) -> None:
    ticket_id = _seed(aws["table"], "+33612345678", ago=timedelta(minutes=30))

    reply(ticket_id)
    reply(ticket_id, "Autre chose ?")  # a second reply: volume, not another first response
    reply.fake.fail_next(
        ProviderRejected(
            "twilio", status=400, code="21610", provider_message="unsubscribed", kind=RejectionKind.recipient
        )
    )
    with pytest.raises(ReplyNotSent):
        reply(ticket_id, "Jamais parti")  # not sent: not counted

    views = _kpis()
    assert views["channel:sms"]["counters"]["messages_in"] == 1
    assert views["channel:sms"]["counters"]["messages_out"] == 2
    agent = views[f"agent:{PAUL.id}"]
    assert agent["counters"]["messages_out"] == 2
    assert agent["counters"]["first_responses"] == 1
    assert agent["average_first_response_minutes"] == 30.0
    team = views["all"]
    assert team["counters"]["first_responses"] == 1 and "messages_out" not in team["counters"]
    assert team["average_first_response_minutes"] == 30.0
    topic = DynamoRepository(aws["table"]).get_ticket(ticket_id).value.topic.value
    assert views[f"queue:{topic}"]["counters"]["first_responses"] == 1


def test_survey_answers_give_the_average_csat_and_the_satisfaction_rate(aws) -> None:
    store = WorkflowStore(aws["table"])
    for order_id, technician, score in (("O1", "T1", 5), ("O2", "T1", 2), ("O3", None, 4)):
        store.save_workflow(WorkflowRecord(order_id=order_id, updated_at=NOW), None)
        survey, _ = store.create_survey(new_survey(order_id, f"CMD-{order_id}", "C1", technician, NOW))
        found = store.get_survey(survey.token)
        assert found is not None
        store.record_answer(
            found.value, found.version, Csat(score=score, answered_at=NOW, technician_id=technician), None
        )
    with pytest.raises(Conflict):  # answered twice: counted once
        store.record_answer(found.value, found.version, Csat(score=1, answered_at=NOW), None)

    views = _kpis()
    team = views["all"]
    assert team["counters"] == {"csat_answers": 3, "csat_score_sum": 11, "csat_satisfied": 2}
    assert team["average_csat"] == 3.67 and team["satisfaction_rate"] == 0.667
    technician = views["technician:T1"]
    assert technician["average_csat"] == 3.5 and technician["satisfaction_rate"] == 0.5
    assert _kpis("2026-11-26").get("all") is None  # per day


def test_one_update_per_scope_and_day() -> None:
    increments = kpi.combine(
        [
            kpi.KpiIncrement(day=DAY, scope="all", counters={"a": 1}),
            kpi.KpiIncrement(day=DAY, scope="all", counters={"a": 2, "b": 1}),
            kpi.KpiIncrement(day="2026-11-26", scope="all", counters={"a": 1}),
        ]
    )
    assert [(i.day, i.counters) for i in increments] == [(DAY, {"a": 3, "b": 1}), ("2026-11-26", {"a": 1})]


def test_a_reply_that_leaves_the_customer_clock_alone_is_volume_only(aws) -> None:
    """A reply to a third party (supplier, carrier) does not answer the customer: the ticket's
    clock has no first response after it, so it counts as volume out and nothing else."""
    ticket_id = _seed(aws["table"], "+33612345678", ago=timedelta(minutes=30))
    ticket = DynamoRepository(aws["table"]).get_ticket(ticket_id).value

    increments = kpi.on_reply("email", "agent-paul", ticket, ticket, NOW)

    assert {(i.scope, tuple(i.counters.items())) for i in increments} == {
        ("channel:email", (("messages_out", 1),)),
        ("agent:agent-paul", (("messages_out", 1),)),
    }
