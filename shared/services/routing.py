"""``POST /api/agents/me/next``: the best waiting ticket for the calling agent, claimed atomically."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.agent import Agent
from shared.domain.audit import AuditEntry
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.routing import RoutingPolicy, queue_order
from shared.domain.ticket import Topic
from shared.ports import Clock, QueueHead, Repository

CLAIM_ROUNDS = 3
HEADS_PER_SHARD = 3  # candidates read per queue shard: bounded work whatever the backlog


@dataclass(frozen=True)
class Claimed:
    ticket_id: str
    topic: Topic
    queues_tried: list[Topic]


def next_ticket(repo: Repository, clock: Clock, agent_id: str, policy: RoutingPolicy) -> Claimed | None:
    """Queues in the agent's order (see queue_order); in each, the heads of every shard by
    priority then age. A head another agent claimed first is skipped; when all the heads read
    were taken, the heads are read again (at most CLAIM_ROUNDS times: a rush of agents on one
    queue); none left -> None."""
    found = repo.get_agent(agent_id)
    if found is None:
        raise NotFound("agent", agent_id)
    agent = found.value
    backlog = {Topic(k): v for k, v in repo.queue_backlog([t.value for t in agent.backup_queues]).items()}
    order = queue_order(agent, backlog, policy)
    for topic in order:
        for _ in range(CLAIM_ROUNDS):
            heads = repo.queue_heads(topic.value, HEADS_PER_SHARD)
            for head in heads:
                if _try_claim(repo, clock, head, topic, agent):
                    return Claimed(
                        ticket_id=head.ticket_id, topic=topic, queues_tried=order[: order.index(topic) + 1]
                    )
            if not heads:
                break
            # Every head read went to other agents meanwhile: tickets behind them may be waiting.
    return None


def _try_claim(repo: Repository, clock: Clock, head: QueueHead, topic: Topic, agent: Agent) -> bool:
    audit = AuditEntry(
        id=new_id("A"),
        ticket_id=head.ticket_id,
        actor=f"agent:{agent.id}",
        action="claimed",
        changes={"assignee_id": f"-> {agent.id}", "queue": topic.value},
        at=clock.now(),
    )
    try:
        repo.claim(head, topic.value, agent, audit)
    except Conflict:
        return False
    return True
