"""Issue 5: ``POST /api/agents/me/next`` reads the same number of items whatever the backlog.

Each size runs in its own moto session: the queue is filled with waiting tickets written in
batches with the repository's own item shapes (then the claim itself is counted).
"""

from __future__ import annotations

from typing import Any

from bench.counter import Tally, counting

SIZES = (1_000, 100_000)


def _seed(repo: Any, count: int) -> None:
    from shared.domain import intake
    from shared.domain.common import Channel
    from shared.domain.inbound import InboundMessage
    from tests.support import FixedClock

    clock = FixedClock()
    with repo._table.batch_writer() as batch:
        for n in range(count):
            clock.advance(seconds=1)
            message = InboundMessage(
                dedup_key=f"bench:{n}", channel=Channel.sms, identities=[], text="x", sent_at=clock.now()
            )
            ticket = intake.open_ticket(message, f"C{n}", clock.now())
            for operation in repo._new_ticket(ticket):
                if "Put" in operation:
                    batch.put_item(Item=operation["Put"]["Item"])


def measure(sizes: tuple[int, ...] = SIZES) -> list[tuple[int, Tally]]:
    from moto import mock_aws

    from shared.adapters.dynamodb.repository import DynamoRepository
    from shared.domain.agent import Agent
    from shared.domain.routing import RoutingPolicy
    from shared.domain.ticket import Topic
    from shared.services.routing import next_ticket
    from tests.support import FixedClock, provision_moto

    results = []
    for size in sizes:
        with mock_aws():
            _, handles = provision_moto()
            repo = DynamoRepository(handles["table"])
            _seed(repo, size)
            repo.save_agent(
                Agent(id="paul", name="Paul", email="paul@guichet.example", skills=[Topic.general])
            )
            with counting() as tally:
                claimed = next_ticket(repo, FixedClock(), "paul", RoutingPolicy())
            assert claimed is not None
            results.append((size, tally))
    return results


def report_lines(results: list[tuple[int, Tally]]) -> list[str]:
    lines = [
        "",
        "## Next ticket vs backlog (issue: agent workspace)",
        "",
        "`POST /api/agents/me/next` for an agent with one specialty queue holding the whole backlog:",
        "the queue index is sharded (4 partitions) and each shard's head is read with a small limit.",
        "",
        "| waiting tickets | AWS calls | items read | read units | write units |",
        "|---|---|---|---|---|",
    ]
    for size, t in results:
        calls = ", ".join(f"{name} {n}" for name, n in sorted(t.calls.items()))
        lines.append(f"| {size:,} | {calls} | {t.items_read} | {t.read_units:g} | {t.write_units:g} |")
    return lines
