"""Record one inbound customer message: customer, ticket, message and timeline, atomically."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.domain import intake, parties, trust
from shared.domain.audit import AuditEntry
from shared.domain.customer import Customer, Identity
from shared.domain.errors import Conflict, Duplicate, IdentityTaken
from shared.domain.identity import IdentityKind
from shared.domain.ids import new_id
from shared.domain.inbound import InboundMessage
from shared.domain.intake import Playbook, TicketUpdate
from shared.domain.order import Order
from shared.domain.order_reference import order_number_in
from shared.domain.parties import PartyLink
from shared.domain.reassessment import reassess
from shared.domain.search import SearchEntry, SearchKind, entries_for
from shared.domain.ticket import Party, Ticket
from shared.ports import Clock, InboundWrite, OrderLookup, Repository, Versioned
from shared.services.identity_resolution import find_sender
from shared.services.merges import merge_linked_profiles

MAX_ATTEMPTS = 8
MAX_REFERENCES = 5  # References headers can be long; the most recent ids are the useful ones


@dataclass(frozen=True)
class IngestResult:
    ticket_id: str | None
    message_id: str | None
    customer_id: str | None
    created_customer: bool = False
    created_ticket: bool = False
    duplicate: bool = False
    thread_match: str | None = None


R = TypeVar("R")


def retry_lost_races(
    attempt: Callable[[set[tuple[str, str]], bool], R],
    sleep: Callable[[float], None] = time.sleep,
    on_taken: Callable[[list[tuple[str, str]]], bool] | None = None,
) -> R:
    """Run ``attempt(taken, first)`` until it writes or MAX_ATTEMPTS races are lost.

    Concurrent events of one person race on the identity records and on the guarded parts
    of the profile and ticket (conditional writes in one transaction); a loser backs off,
    re-reads and joins the winner. An identifier owned by another profile is handed to
    ``on_taken`` (which may merge the two profiles); if it declines, it is not claimed.
    ``Duplicate`` propagates: what a redelivery means is the caller's business.
    """
    taken: set[tuple[str, str]] = set()
    for number in range(MAX_ATTEMPTS):
        try:
            return attempt(taken, number == 0)
        except IdentityTaken as error:
            if on_taken is None or not on_taken(error.identities):
                taken.update(error.identities)
        except Conflict:
            pass
        sleep(random.uniform(0.005, 0.02) * (number + 1))  # noqa: S311 (jitter, not crypto)
    raise Conflict(f"gave up after {MAX_ATTEMPTS} concurrent-write conflicts")


def with_retries(
    attempt: Callable[[set[tuple[str, str]]], IngestResult],
    sleep: Callable[[float], None] = time.sleep,
    on_taken: Callable[[list[tuple[str, str]]], bool] | None = None,
) -> IngestResult:
    """:func:`retry_lost_races` for an inbound event; a redelivery is a duplicate result."""
    try:
        return retry_lost_races(lambda taken, _first: attempt(taken), sleep, on_taken)
    except Duplicate:
        return IngestResult(None, None, None, duplicate=True)


def record_message(
    repo: Repository,
    clock: Clock,
    inbound: InboundMessage,
    sleep: Callable[[float], None] = time.sleep,
    playbook: Playbook | None = None,
    *,
    orders: OrderLookup | None = None,
) -> IngestResult:
    """Idempotent: a second delivery with the same dedup key changes nothing. A message that
    carries identifiers of two profiles merges them (see shared/services/merges.py). A new
    ticket follows ``playbook`` (the team's stored rules; None: the defaults); the order it
    mentions, when it is the customer's own, is read from ``orders`` (new tickets of known
    customers only: a Query by number, then the orders by key) so that rules on the order's state apply."""
    return with_retries(
        lambda taken: _attempt(repo, clock, inbound, taken, playbook, orders=orders),
        sleep,
        on_taken=lambda identities: merge_linked_profiles(repo, clock, inbound, identities),
    )


def thread_target(
    repo: Repository, inbound: InboundMessage, customer: Customer | None
) -> tuple[Versioned[Ticket] | None, str | None]:
    """The ticket this message continues, and which key said so.

    Email first by plus-address, then In-Reply-To/References against every stored
    Message-ID, then the ``[#REF]`` subject token; otherwise the customer's open ticket.
    """
    hints = inbound.thread_hints
    if hints is not None:
        candidates: list[tuple[str | None, str]] = [(hints.plus_tag_ticket, "plus_tag")]
        if hints.in_reply_to:
            candidates.append((repo.ticket_for_email(hints.in_reply_to), "in_reply_to"))
        for reference in reversed(hints.references[-MAX_REFERENCES:]):
            if candidates[-1][0]:
                break
            candidates.append((repo.ticket_for_email(reference), "references"))
        candidates.append((hints.subject_ticket, "subject_token"))
        for ticket_id, label in candidates:
            if not ticket_id:
                continue
            found = repo.get_ticket(ticket_id)
            if found is not None and intake.accepts_messages(found.value):
                return found, label
    if customer is not None and customer.open_ticket_id:
        found = repo.get_ticket(customer.open_ticket_id)
        if found is not None and intake.accepts_messages(found.value):
            return found, "open_ticket"
    return None, None


# Keys only someone in the email thread can know; a typed [#REF] subject token is not one.
THREAD_KEYS_THAT_IDENTIFY = frozenset({"plus_tag", "in_reply_to", "references"})


def _attempt(
    repo: Repository,
    clock: Clock,
    inbound: InboundMessage,
    taken: set[tuple[str, str]],
    playbook: Playbook | None = None,
    *,
    orders: OrderLookup | None = None,
) -> IngestResult:
    now = clock.now()
    if inbound.order_number is None:  # channels without an order field: the number in the words
        quoted = order_number_in(inbound.subject, inbound.text)
        if quoted:
            inbound = inbound.model_copy(update={"order_number": quoted})
    sender = find_sender(repo, inbound)
    found, via = sender.customer, sender.via
    releases = [trust.release(candidate, now) for candidate in sender.releases]
    current, match = thread_target(repo, inbound, found.value if found else None)
    party_case = _party_case(repo, inbound, current, match, sender.party_links)
    if party_case is not None:
        return _record_party_message(repo, inbound, party_case, now, playbook)
    if found is None and current is not None and match in THREAD_KEYS_THAT_IDENTIFY:
        # An unknown address answering in the ticket's own thread is the ticket's customer
        # writing from another address: the address joins their profile, with the evidence.
        found = repo.get_customer(current.value.customer_id)
        if found is not None:
            inbound = inbound.model_copy(
                update={"metadata": {**inbound.metadata, "identity_linked_by": f"email thread ({match})"}}
            )
    elif via is not None and not via.proven:
        # A claim links the message for agents; the evidence says which identifier did.
        inbound = inbound.model_copy(
            update={"metadata": {**inbound.metadata, "identity_linked_by": f"claim ({via.label})"}}
        )
    customer = found.value if found else intake.new_customer(inbound, now)

    if current is not None and intake.wants_own_ticket(inbound, current.value):
        current, match = None, None
    order = (
        _customer_order(orders, inbound, found.value.id if found else None)
        if current is None or intake.may_name_its_order(current.value, inbound, customer.id)
        else None
    )
    ticket = (
        current.value
        if current
        else intake.open_ticket(
            inbound, customer.id, now, found.value if found else None, playbook, order=order
        )
    )
    # A reply threaded onto another customer's case (a third party) does not move our pointer.
    owns_ticket = ticket.customer_id == customer.id

    identities = [
        identity
        for identity in trust.identities_to_add(found.value if found else None, inbound, via, now)
        if (identity.kind.value, identity.value) not in taken
    ]
    left_out = trust.left_out(inbound, identities, found.value if found else None)
    if left_out:  # kept on the message for agents, never on the profile
        inbound = inbound.model_copy(
            update={"metadata": {**inbound.metadata, "identifiers_not_added": ",".join(left_out)}}
        )
    message = intake.to_message(inbound, ticket.id, customer.id, now, thread_match=match)
    ticket_update, ticket_change, audit = (
        _on_existing_ticket(
            current,
            inbound,
            now,
            from_customer=True,
            playbook=playbook,
            customer=found.value if found else None,
            order=order,
        )
        if current
        else (None, None, [])
    )
    if found:
        change = intake.contact_update(customer, inbound, identities, ticket.id, now)
        if not owns_ticket:
            change = change.model_copy(update={"open_ticket_id": None})
        new_customer, customer_update = None, change
    else:
        new_customer, customer_update = (
            intake.record_contact(customer, inbound, identities, ticket.id, now),
            None,
        )
    repo.record_inbound(
        InboundWrite(
            dedup_key=inbound.dedup_key,
            timeline=intake.message_entry(message, intake.timeline_summary(inbound)),
            claimed_identities=identities,
            released_identities=releases,
            new_customer=new_customer,
            customer_update=customer_update,
            message=message,
            new_ticket=None if current else intake.with_message_counted(ticket, inbound),
            ticket_update=ticket_update,
            ticket_change=ticket_change,
            audit=audit,
            # The order the message names, seen from its side too (its 360 lists the ticket).
            order_link=intake.order_link(order, ticket.id, now) if order is not None else None,
            email_message_ids=inbound.message_ids,
            search_entries=_search_entries(
                customer if found is None else None, identities, customer.id, ticket, current is None
            ),
        )
    )
    return IngestResult(
        ticket_id=ticket.id,
        message_id=message.id,
        customer_id=customer.id,
        created_customer=found is None,
        created_ticket=current is None,
        thread_match=match,
    )


def _on_existing_ticket(
    current: Versioned[Ticket],
    inbound: InboundMessage,
    now: datetime,
    *,
    from_customer: bool,
    playbook: Playbook | None,
    customer: Customer | None = None,
    order: Order | None = None,
) -> tuple[TicketUpdate | None, tuple[Versioned[Ticket], Ticket] | None, list[AuditEntry]]:
    """How a message lands on a ticket it joins: the whole ticket, guarded by its version, when
    the message moves its status or SLA clock or, from the customer (``customer``: their
    profile before it), raises its priority or qualifies it (re-evaluated on every message,
    audited); else the commutative counter update, which is what most messages cost. ``order``:
    the customer's order the message names, which the ticket had none of (linked either way)."""
    moved = intake.ticket_after_message(
        current.value, inbound, now, from_customer=from_customer, playbook=playbook
    )
    reassessed = reassess(moved or current.value, customer, inbound, now, playbook) if from_customer else None
    if order is not None:
        linked = {"order_id": order.id}
        moved = moved.model_copy(update=linked) if moved is not None else None
        if reassessed is not None:
            reassessed = reassessed.model_copy(update={"ticket": reassessed.ticket.model_copy(update=linked)})
    if reassessed is not None:
        audit = AuditEntry(
            id=new_id("A"),
            ticket_id=current.value.id,
            actor="system",
            action="reassessed",
            changes=reassessed.changes,
            at=now,
        )
        return None, (current, reassessed.ticket), [audit]
    if moved is not None:
        return None, (current, moved), []
    counted = intake.ticket_update(current.value, inbound, now, from_customer=from_customer)
    if order is not None:
        counted = counted.model_copy(update={"order_id": order.id})
    return counted, None, []


@dataclass(frozen=True)
class _PartyCase:
    ticket: Versioned[Ticket]
    party: Party
    match: str


PARTY_CASES_READ = 3  # tickets tried from a third party's newest links (each one GetItem)


def _party_case(
    repo: Repository,
    inbound: InboundMessage,
    current: Versioned[Ticket] | None,
    match: str | None,
    links: list[PartyLink],
) -> _PartyCase | None:
    """The case a third party is writing about, if the sender is one: the ticket the thread
    points to when they are its party, else the newest active case they were added to."""
    if current is not None:
        party = parties.party_writing(current.value, inbound.identities)
        if party is not None:
            return _PartyCase(current, party, match or "party")
    seen: set[str] = set()
    for link in links:
        if len(seen) == PARTY_CASES_READ:
            break
        if link.ticket_id in seen:
            continue
        seen.add(link.ticket_id)
        found = repo.get_ticket(link.ticket_id)
        if found is not None and found.value.merged_into:  # its parties followed the merge
            found = repo.get_ticket(found.value.merged_into)
        if found is None or not intake.accepts_messages(found.value):
            continue
        party = parties.party_writing(found.value, inbound.identities)
        if party is not None:
            return _PartyCase(found, party, "party_link")
    return None


def _record_party_message(
    repo: Repository, inbound: InboundMessage, case: _PartyCase, now: datetime, playbook: Playbook | None
) -> IngestResult:
    """A third party's message: into the case, authored by the party, on nobody's profile but
    the case customer's timeline (for agents); no identity claimed, no profile created."""
    ticket, party = case.ticket.value, case.party
    message = intake.to_message(inbound, ticket.id, ticket.customer_id, now, thread_match=case.match)
    message = message.model_copy(
        update={"party_role": party.role, "author_id": party.id, "party_id": party.id}
    )
    ticket_update, ticket_change, _ = _on_existing_ticket(
        case.ticket, inbound, now, from_customer=False, playbook=playbook
    )
    summary = f"{party.role.value} {party.name or ''}".strip() + " - " + intake.timeline_summary(inbound)
    repo.record_inbound(
        InboundWrite(
            dedup_key=inbound.dedup_key,
            timeline=intake.message_entry(message, summary),
            unchanged_customer_id=ticket.customer_id,
            message=message,
            ticket_update=ticket_update,
            ticket_change=ticket_change,
            email_message_ids=inbound.message_ids,
        )
    )
    return IngestResult(
        ticket_id=ticket.id, message_id=message.id, customer_id=ticket.customer_id, thread_match=case.match
    )


def _customer_order(
    orders: OrderLookup | None, inbound: InboundMessage, customer_id: str | None
) -> Order | None:
    """The order a first message mentions, if it is this (known) customer's: another's order
    number typed by a stranger says nothing about this request."""
    if orders is None or customer_id is None or not inbound.order_number:
        return None
    return next(
        (o for o in orders.orders_by_number(inbound.order_number) if o.customer_id == customer_id), None
    )


_SEARCHABLE_IDENTITIES = {IdentityKind.email: SearchKind.email, IdentityKind.phone: SearchKind.phone}


def _search_entries(
    new_customer: Customer | None,
    identities: list[Identity],
    customer_id: str,
    ticket: Ticket,
    new_ticket: bool,
) -> list[SearchEntry]:
    """What agents will search for: a new customer's name, new addresses and numbers, new tickets."""
    label = (new_customer.display_name if new_customer else None) or customer_id
    entries: list[SearchEntry] = []
    if new_customer is not None and new_customer.display_name:
        entries += entries_for(SearchKind.name, new_customer.display_name, "customer", customer_id, label)
    for identity in identities:
        kind = _SEARCHABLE_IDENTITIES.get(identity.kind)
        if kind is not None:
            entries += entries_for(kind, identity.value, "customer", customer_id, label)
    if new_ticket:
        entries += entries_for(SearchKind.ticket, ticket.id, "ticket", ticket.id, ticket.subject or ticket.id)
    return entries
