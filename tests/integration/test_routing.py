"""Topic queues and ``next``: priority then age, skills then backups, capacity, atomic claims."""

from __future__ import annotations

import threading

import pytest

from bench.counter import counting
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain import intake
from shared.domain.agent import Agent
from shared.domain.common import Channel
from shared.domain.errors import AtCapacity
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.routing import RoutingPolicy
from shared.domain.ticket import Priority, Topic
from shared.domain.timeline import TimelineEntry
from shared.ports import InboundWrite
from shared.services.routing import next_ticket
from tests.support import FixedClock


def _ticket(repo, clock, n: int, topic: Topic = Topic.general, priority: Priority = Priority.normal) -> str:
    """A customer's first message opening a ticket in ``topic`` (as qualification would set it)."""
    clock.advance(minutes=1)
    message = InboundMessage(
        dedup_key=f"sms:route-{topic.value}-{n}",
        channel=Channel.sms,
        identities=[IdentityClaim(kind=IdentityKind.phone, value=f"+336{n:08d}")],
        text=f"demande {n}",
        sent_at=clock.now(),
    )
    customer = intake.new_customer(message, clock.now())
    ticket = intake.open_ticket(message, customer.id, clock.now()).model_copy(
        update={"topic": topic, "priority": priority}
    )
    identities = intake.missing_identities(customer, message, clock.now())
    repo.record_inbound(
        InboundWrite(
            dedup_key=message.dedup_key,
            timeline=TimelineEntry(event_id=f"e{n}", kind="message", summary="x", at=clock.now()),
            claimed_identities=identities,
            new_customer=intake.record_contact(customer, message, identities, ticket.id, clock.now()),
            new_ticket=ticket,
        )
    )
    return ticket.id


def _agent(repo, agent_id="paul", skills=(Topic.general,), backups=(), capacity=5) -> Agent:
    return repo.save_agent(
        Agent(
            id=agent_id,
            name=agent_id,
            email=f"{agent_id}@guichet.example",
            skills=list(skills),
            backup_queues=list(backups),
            capacity=capacity,
        )
    )


def test_next_serves_priority_first_then_the_oldest(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    oldest = _ticket(repo, clock, 1)
    _ticket(repo, clock, 2)
    urgent = _ticket(repo, clock, 3, priority=Priority.urgent)
    _agent(repo)

    first = next_ticket(repo, clock, "paul", RoutingPolicy())
    second = next_ticket(repo, clock, "paul", RoutingPolicy())

    assert (first.ticket_id, second.ticket_id) == (urgent, oldest)
    claimed = repo.get_ticket(urgent).value
    assert claimed.assignee_id == "paul"
    assert repo.get_agent("paul").value.active_ticket_count == 2
    assert repo.queue_backlog(["general"]) == {"general": 1}


def test_specialties_first_then_backup_queues_then_nothing(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    billing = _ticket(repo, clock, 1, topic=Topic.billing)
    delivery = _ticket(repo, clock, 2, topic=Topic.delivery)
    _agent(repo, skills=[Topic.delivery], backups=[Topic.billing])

    assert next_ticket(repo, clock, "paul", RoutingPolicy()).ticket_id == delivery
    assert next_ticket(repo, clock, "paul", RoutingPolicy()).ticket_id == billing
    assert next_ticket(repo, clock, "paul", RoutingPolicy()) is None


def test_an_overloaded_backup_queue_is_served_before_the_specialties(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _ticket(repo, clock, 1, topic=Topic.delivery)
    flooded = [_ticket(repo, clock, 10 + n, topic=Topic.billing) for n in range(3)]
    _agent(repo, skills=[Topic.delivery], backups=[Topic.billing])

    claimed = next_ticket(repo, clock, "paul", RoutingPolicy(backup_threshold=2))

    assert claimed.ticket_id == flooded[0]


def test_never_beyond_capacity(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _ticket(repo, clock, 1)
    _ticket(repo, clock, 2)
    _agent(repo, capacity=1)

    next_ticket(repo, clock, "paul", RoutingPolicy())
    with pytest.raises(AtCapacity):
        next_ticket(repo, clock, "paul", RoutingPolicy())
    assert repo.queue_backlog(["general"]) == {"general": 1}


def test_two_agents_never_get_the_same_ticket(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    tickets = {_ticket(repo, clock, n) for n in range(6)}
    agents = [f"agent{n}" for n in range(6)]
    for agent_id in agents:
        _agent(repo, agent_id=agent_id, capacity=1)
    lock = threading.Lock()  # moto is not thread-safe; DynamoDB applies each call atomically

    class OneCall:
        def __init__(self, target):
            self._target = target

        def __getattr__(self, name):
            attribute = getattr(self._target, name)
            if not callable(attribute):
                return attribute

            def locked(*args, **kwargs):
                with lock:
                    return attribute(*args, **kwargs)

            return locked

    repo._table, repo._client = OneCall(repo._table), OneCall(repo._client)
    start = threading.Barrier(len(agents))
    got: dict[str, str | None] = {}

    def claim(agent_id: str) -> None:
        start.wait()
        result = next_ticket(repo, clock, agent_id, RoutingPolicy())
        got[agent_id] = result.ticket_id if result else None

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = [t for t in got.values() if t]
    assert len(claimed) == len(set(claimed)) == 6
    assert set(claimed) == tickets


def _seed_queue(repo, clock, count: int) -> None:
    """``count`` waiting tickets, written in batches with the repository's own item shapes
    (full transactions per ticket are quadratic on moto; the claim is what is measured)."""
    with repo._table.batch_writer() as batch:
        for n in range(count):
            clock.advance(seconds=1)
            message = InboundMessage(
                dedup_key=f"seed:{n}", channel=Channel.sms, identities=[], text="x", sent_at=clock.now()
            )
            ticket = intake.open_ticket(message, f"C{n}", clock.now())
            for operation in repo._new_ticket(ticket):
                if "Put" in operation:
                    batch.put_item(Item=operation["Put"]["Item"])


@pytest.mark.parametrize("backlog", [30, 1000])
def test_next_reads_a_bounded_number_of_items_whatever_the_backlog(aws, backlog):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _seed_queue(repo, clock, backlog)
    _agent(repo)

    with counting() as tally:
        next_ticket(repo, clock, "paul", RoutingPolicy())

    # 1 agent record + the backlog counters of its backup queues (none) + 4 shards x 3 heads.
    assert tally.items_read <= 1 + 4 * 3
    assert tally.calls["dynamodb:Query"] == 4
