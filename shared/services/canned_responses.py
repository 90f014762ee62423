"""Canned responses: admins keep them, agents list them and preview them on a ticket.

The preview renders with the ticket's own customer, order and the agent's name, leaving a
missing variable visible (``{{order.number}}``) rather than failing, and says whether the
text fits the channel (SMS segments, WhatsApp 4,096, Instagram 1,000): what the agent sees
is what ``send_reply`` will send (it renders the same way, strictly).
"""

from __future__ import annotations

import re

from shared.domain.canned import CannedPreview, CannedResponse, preview
from shared.domain.common import Channel
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.replies import default_channel, reply_channel
from shared.ports import Page
from shared.reply_ports import OrderReader, ReplyStore, TicketReader
from shared.services.replies import context_for, load_customer, load_ticket

MAX_PAGE = 100
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_id(canned_id: str) -> str:
    """Ids appear in URLs and keys: letters, digits, ``_ . -``, up to 64 characters."""
    if not _ID.match(canned_id):
        raise InvalidInput(
            [
                {
                    "field": "canned_id",
                    "message": "letters, digits, '_', '.', '-' (up to 64), first a letter/digit",
                }
            ]
        )
    return canned_id


def get(store: ReplyStore, canned_id: str) -> CannedResponse:
    found = store.get_canned(check_id(canned_id))
    if found is None:
        raise NotFound("canned response", canned_id)
    return found


def save(store: ReplyStore, canned_id: str, canned: CannedResponse, by: str) -> CannedResponse:
    """Create or replace. The model already refused templates that could never render."""
    if canned.id != check_id(canned_id):
        raise InvalidInput([{"field": "id", "message": f"must be the id in the path ({canned_id})"}])
    store.put_canned(canned, by)
    return canned


def delete(store: ReplyStore, canned_id: str) -> None:
    if not store.delete_canned(check_id(canned_id)):
        raise NotFound("canned response", canned_id)


def list_canned(store: ReplyStore, limit: int, cursor: str | None) -> Page[CannedResponse]:
    return store.list_canned(max(1, min(limit, MAX_PAGE)), cursor)


def preview_on_ticket(
    *,
    reader: TicketReader,
    orders: OrderReader,
    store: ReplyStore,
    ticket_id: str,
    canned_id: str,
    channel: Channel | None,
    agent_id: str,
) -> CannedPreview:
    """The response rendered for the ticket, on ``channel`` or the channel a reply would use."""
    canned = get(store, canned_id)
    ticket = load_ticket(reader, ticket_id).value
    customer = load_customer(reader, ticket.customer_id)
    target = reply_channel(channel, ticket) if channel else default_channel(ticket, customer)
    return preview(
        canned,
        target,
        context_for(
            canned, ticket=ticket, customer=customer, orders=orders, reader=reader, agent_id=agent_id
        ),
    )
