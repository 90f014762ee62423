"""Ports of the replies and canned responses (issue 5, items 6-7), as small Protocols.

Beside shared/ports.py (the inbound pipeline's) so that the two evolve without touching each
other. functions/replies_api wires the DynamoDB adapters (DynamoRepository for the records it
reads, OutboundStore for what replies write) and the provider clients once per cold start;
service tests pass fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shared.domain.agent import Agent
from shared.domain.audit import AuditEntry
from shared.domain.canned import CannedResponse
from shared.domain.customer import Customer
from shared.domain.message import Message
from shared.domain.order import Order
from shared.domain.ticket import Ticket
from shared.domain.timeline import TimelineEntry
from shared.ports import Page, Versioned


@dataclass(frozen=True)
class ReplyWrite:
    """Everything one reply changes, written atomically or not at all.

    ``ticket`` is the ticket after the reply: what the reply decided (clock, status, and the
    queue and SLA due-date index keys that follow) is written only if the ticket is still the
    version read (``before``), the clock being read-modify-write. A failed send passes no
    ticket and only counts the message.
    ``provider_key`` ("<channel>:<provider id>") is the lookup status webhooks use;
    ``email_message_ids`` are the Message-IDs the customer's answer will quote.
    """

    message: Message
    timeline: TimelineEntry
    audit: AuditEntry
    before: Versioned[Ticket] | None = None
    ticket: Ticket | None = None
    provider_key: str | None = None
    email_message_ids: list[str] = field(default_factory=list)


class TicketReader(Protocol):
    """What replies read through ``DynamoRepository`` (shared/adapters/dynamodb/repository.py)."""

    def get_ticket(self, ticket_id: str) -> Versioned[Ticket] | None: ...

    def get_customer(self, customer_id: str) -> Versioned[Customer] | None: ...

    def get_agent(self, agent_id: str) -> Versioned[Agent] | None: ...


class OrderReader(Protocol):
    """The part of ``OrderRepository`` a canned response's ``{{order.*}}`` variables need."""

    def get_order(self, order_id: str) -> Versioned[Order] | None: ...

    def orders_by_number(self, number: str) -> list[Order]: ...


class ReplyStore(Protocol):
    """``OutboundStore`` (shared/adapters/dynamodb/outbound_store.py)."""

    def recent_messages(self, ticket_id: str, limit: int) -> list[Message]:
        """The ticket's newest messages, newest first (one bounded Query)."""
        ...

    def record_reply(self, write: ReplyWrite) -> Message:
        """Write the reply; returns the message as stored (it may adopt a status that arrived
        first). Raises ``Conflict`` when the ticket moved past ``expected_version``."""
        ...

    def get_canned(self, canned_id: str) -> CannedResponse | None: ...

    def put_canned(self, canned: CannedResponse, by: str) -> None: ...

    def delete_canned(self, canned_id: str) -> bool: ...

    def list_canned(self, limit: int, cursor: str | None) -> Page[CannedResponse]: ...
