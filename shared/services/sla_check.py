"""The scheduled SLA check: tickets whose deadline is near are flagged, overdue ones escalated.

Found through the due-date index (GSI3), never by scanning. A warning is given once per
deadline; a breach is escalated once (priority up one level, supervisors notified), after
which the index watches the ticket's next deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from shared.domain.audit import AuditEntry
from shared.domain.errors import Conflict
from shared.domain.ids import new_id
from shared.domain.priority import raise_priority
from shared.domain.sla_policy import breaches, due_soon
from shared.ports import Clock, Repository

WINDOW = timedelta(minutes=30)
PER_SHARD = 100


class Notifier(Protocol):
    def notify(self, subject: str, message: str) -> None: ...


@dataclass
class SlaReport:
    warned: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def check_slas(repo: Repository, clock: Clock, notifier: Notifier, window: timedelta = WINDOW) -> SlaReport:
    now = clock.now()
    report = SlaReport()
    for ticket_id in repo.sla_due(now + window, PER_SHARD):
        found = repo.get_ticket(ticket_id)
        if found is None or found.value.sla is None:
            continue
        ticket, sla = found.value, found.value.sla
        new_breaches = [name for name in breaches(sla, now) if name not in sla.breached]
        if new_breaches:
            priority = raise_priority(ticket.priority)
            after = ticket.model_copy(
                update={
                    "priority": priority,
                    "sla": sla.model_copy(update={"breached": [*sla.breached, *new_breaches]}),
                    "updated_at": now,
                }
            )
            action, changes = (
                "sla_escalated",
                {
                    "breached": ",".join(new_breaches),
                    "priority": f"{ticket.priority.value} -> {priority.value}",
                },
            )
        elif due_soon(sla, now, window) and not sla.warned:
            after = ticket.model_copy(
                update={"sla": sla.model_copy(update={"warned": True}), "updated_at": now}
            )
            action, changes = "sla_warning", {"due_within": f"{int(window.total_seconds() // 60)} min"}
        else:
            after, action = ticket, ""  # stale index entry: rewriting the ticket re-indexes it
        audit = (
            [
                AuditEntry(
                    id=new_id("A"),
                    ticket_id=ticket.id,
                    actor="system",
                    action=action,
                    changes=changes,
                    at=now,
                )
            ]
            if action
            else []
        )
        try:
            repo.save_ticket(found, after, audit)
        except Conflict:
            continue  # an agent changed it meanwhile; the next run sees the new state
        if action == "sla_escalated":
            report.escalated.append(ticket.id)
            notifier.notify(
                f"SLA breached on ticket {ticket.id}",
                f"Ticket {ticket.id} ({ticket.topic.value}) breached {', '.join(new_breaches)};"
                f" priority raised to {after.priority.value}.",
            )
        elif action == "sla_warning":
            report.warned.append(ticket.id)
            notifier.notify(
                f"SLA due soon on ticket {ticket.id}",
                f"Ticket {ticket.id} ({ticket.topic.value}, {ticket.priority.value}) is due within the next "
                f"{changes['due_within']}.",
            )
    return report
