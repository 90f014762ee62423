"""What follows a ticket's change besides the ticket item, for every store that changes one
(repository.py for agents' changes and inbound messages, outbound_store.py for replies):
the agents' live loads and the collaborator items of the "mine" lists."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import ENTITY
from shared.adapters.dynamodb.operations import TableOperations
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.domain.common import iso
from shared.domain.ticket import Ticket
from shared.domain.ticket_work import counts_for_assignee, listed_collaborators


class TicketSideWrites(TableOperations):
    def _agent_loads(self, old: Ticket | None, new: Ticket) -> list[dict[str, Any]]:
        """The agents' live ticket counts when the agent a ticket counts for changes (assignment,
        or the ticket leaving or re-entering active work)."""
        load_before = counts_for_assignee(old) if old is not None else None
        load_after = counts_for_assignee(new)
        if load_before == load_after:
            return []
        return [
            self._update(
                {PARTITION_KEY: keys.agent_pk(agent_id), SORT_KEY: keys.AGENT_SK},
                "ADD active_ticket_count :delta",
                f"attribute_exists({PARTITION_KEY})",
                {},
                {":delta": delta},
            )
            for agent_id, delta in ((load_before, -1), (load_after, +1))
            if agent_id is not None
        ]

    def _collaborations(self, old: Ticket | None, new: Ticket) -> list[dict[str, Any]]:
        """One item per collaborator while the ticket is active (their "mine" list): put for
        those who join or when the ticket becomes active again, deleted for those who leave or
        when it is solved, closed or merged."""
        before = set(listed_collaborators(old)) if old is not None else set()
        after = set(listed_collaborators(new))
        created = iso(new.created_at)
        operations: list[dict[str, Any]] = []
        for agent_id in sorted(after - before):
            item = {
                **keys.collaboration_keys(new.id, agent_id, created),
                ENTITY: "collaboration",
                "ticket_id": new.id,
                "agent_id": agent_id,
            }
            operations.append(self._put(item))
        for agent_id in sorted(before - after):
            link = keys.collaboration_keys(new.id, agent_id, created)
            key = {PARTITION_KEY: link[PARTITION_KEY], SORT_KEY: link[SORT_KEY]}
            operations.append({"Delete": {"TableName": self._name, "Key": key}})
        return operations
