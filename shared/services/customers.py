"""Read a customer for agents: the profile with identities and merge evidence, and the timeline."""

from __future__ import annotations

from shared.domain.customer import Customer
from shared.domain.errors import NotFound
from shared.domain.timeline import TimelineEntry
from shared.ports import Page, Repository

MAX_PAGE = 100


def profile_with_timeline(
    repo: Repository, customer_id: str, limit: int, cursor: str | None
) -> tuple[Customer, Page[TimelineEntry]]:
    found = repo.get_customer(customer_id)
    if found is None:
        raise NotFound("customer", customer_id)
    return found.value, repo.customer_timeline(customer_id, max(1, min(limit, MAX_PAGE)), cursor)
