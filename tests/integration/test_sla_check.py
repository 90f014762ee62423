"""The scheduled SLA check: due soon -> warned once; overdue -> escalated once; paused -> ignored."""

from __future__ import annotations

from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.ticket_work import TicketChange
from shared.services.channel_events import record_event
from shared.services.sla_check import check_slas
from shared.services.ticket_work import update_ticket
from tests.support import FixedClock


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, subject: str, message: str) -> None:
        self.sent.append((subject, message))


def _ticket(repo, clock, n=1) -> str:
    return record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key=f"sms:sla-{n}",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value=f"+3361234567{n}")],
            text="Ma box ne fonctionne pas",
            sent_at=clock.now(),
        ),
    ).ticket_id


def test_due_soon_is_warned_once_then_the_breach_is_escalated_once(aws):
    repo, clock, notifier = DynamoRepository(aws["table"]), FixedClock(), Recorder()
    ticket_id = _ticket(repo, clock)  # first response due 13:30 UTC (4 business hours)
    assert check_slas(repo, clock, notifier).warned == []  # 4 h away: not yet

    clock.advance(hours=3, minutes=45)  # 15 minutes before the deadline
    assert check_slas(repo, clock, notifier).warned == [ticket_id]
    assert check_slas(repo, clock, notifier).warned == []  # once

    clock.advance(minutes=30)  # 15 minutes late
    report = check_slas(repo, clock, notifier)
    assert report.escalated == [ticket_id]
    ticket = repo.get_ticket(ticket_id).value
    assert ticket.priority.value == "high"  # normal + one level
    assert ticket.sla.breached == ["first_response"]
    assert check_slas(repo, clock, notifier).escalated == []  # once
    assert [s for s, _ in notifier.sent] == [
        f"SLA due soon on ticket {ticket_id}",
        f"SLA breached on ticket {ticket_id}",
    ]
    assert [a.action for a in repo.ticket_audit(ticket_id, 10)][:2] == ["sla_escalated", "sla_warning"]


def test_a_ticket_waiting_on_the_customer_is_not_watched(aws):
    repo, clock, notifier = DynamoRepository(aws["table"]), FixedClock(), Recorder()
    ticket_id = _ticket(repo, clock)
    update_ticket(repo, clock, ticket_id, TicketChange(status="pending_customer"), "agent:paul")

    clock.advance(days=2)

    assert check_slas(repo, clock, notifier).escalated == []
    assert notifier.sent == []


def test_a_reopened_ticket_is_not_rewritten_by_every_check(aws):
    """A solved clock stays resolved when the ticket is reopened: nothing is watched, so the
    scheduled check must not pick the ticket up (and rewrite it) run after run."""
    repo, clock, notifier = DynamoRepository(aws["table"]), FixedClock(), Recorder()
    ticket_id = _ticket(repo, clock)
    update_ticket(repo, clock, ticket_id, TicketChange(status="solved"), "agent:paul")
    update_ticket(repo, clock, ticket_id, TicketChange(status="open"), "agent:paul")
    version = repo.get_ticket(ticket_id).version

    for _ in range(3):
        clock.advance(hours=6)
        check_slas(repo, clock, notifier)

    assert repo.get_ticket(ticket_id).version == version
    assert repo.sla_due(clock.now(), 10) == []
