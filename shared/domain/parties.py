"""Third parties on a ticket: a supplier, a carrier, a credit company, reached by email or phone.

An agent adds a party with its address or number; from then on what that party writes threads
into the ticket (the address is looked up with the sender's identifiers, on the same partition,
in the same read) and the agent can write to it from the ticket. Exchanges with a third party
are part of the case for agents and never shown to the customer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from shared.domain.audit import AuditEntry
from shared.domain.common import DomainModel
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.identity import IdentityKind, InvalidIdentifier, normalize_email, normalize_phone
from shared.domain.ids import new_id
from shared.domain.inbound import IdentityClaim
from shared.domain.message import PartyRole
from shared.domain.ticket import Party, Ticket

THIRD_PARTY_ROLES = frozenset({PartyRole.supplier, PartyRole.carrier, PartyRole.credit_company})
MAX_PARTIES = 10  # a case with more third parties than this is several cases
MAX_PARTY_LINKS = 5  # newest cases one address is looked up in (a carrier is on many)
PARTY_LINK_DAYS = 120  # a link outlives any open case; expired ones are deleted by TTL


class PartyIn(DomainModel):
    """What an agent types to add a third party to a ticket."""

    role: PartyRole
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class PartyLink(DomainModel):
    """ "This address or number is a party of that ticket": stored beside the identity record of
    the address, so the lookup that finds a sender's profile also finds the cases it is a party of."""

    kind: IdentityKind
    value: str
    ticket_id: str
    party_id: str
    role: PartyRole
    added_at: datetime


def new_party(request: PartyIn, now: datetime) -> Party:
    """The party with its address and number normalised (as identities are: lowercase email,
    E.164 phone), or InvalidInput naming each bad field."""
    errors: list[dict[str, str]] = []
    if request.role not in THIRD_PARTY_ROLES:
        allowed = ", ".join(sorted(r.value for r in THIRD_PARTY_ROLES))
        errors.append({"field": "role", "message": f"a third party is one of {allowed}"})
    email = phone = None
    if request.email:
        try:
            email = normalize_email(request.email)
        except InvalidIdentifier as error:
            errors.append({"field": "email", "message": str(error)})
    if request.phone:
        try:
            phone = normalize_phone(request.phone)
        except InvalidIdentifier as error:
            errors.append({"field": "phone", "message": str(error)})
    if not request.email and not request.phone:
        errors.append({"field": "email", "message": "give an email address or a phone number (or both)"})
    if errors:
        raise InvalidInput(errors)
    name = request.name.strip() if request.name and request.name.strip() else None
    return Party(id=new_id("P"), role=request.role, name=name, email=email, phone=phone, added_at=now)


def _audit(ticket_id: str, actor: str, action: str, party: Party, now: datetime) -> AuditEntry:
    changes = {"party_id": party.id, "role": party.role.value}
    if party.name:
        changes["name"] = party.name
    return AuditEntry(
        id=new_id("A"), ticket_id=ticket_id, actor=actor, action=action, changes=changes, at=now
    )


def add_party(ticket: Ticket, party: Party, actor: str, now: datetime) -> tuple[Ticket, AuditEntry]:
    """The ticket with ``party`` added. One address or number is one party per ticket: a second
    party with the same contact would make its messages ambiguous."""
    if ticket.merged_into is not None:
        raise Conflict(f"ticket {ticket.id} was merged into {ticket.merged_into}: add the party there")
    if len(ticket.parties) >= MAX_PARTIES:
        raise Conflict(f"ticket {ticket.id} already has {MAX_PARTIES} parties")
    for existing in ticket.parties:
        shared = (party.email and party.email == existing.email) or (
            party.phone and party.phone == existing.phone
        )
        if shared:
            raise Conflict(f"party {existing.id} of ticket {ticket.id} already has this email or phone")
    after = ticket.model_copy(update={"parties": [*ticket.parties, party], "updated_at": now})
    return after, _audit(ticket.id, actor, "party_added", party, now)


def remove_party(
    ticket: Ticket, party_id: str, actor: str, now: datetime
) -> tuple[Ticket, Party, AuditEntry]:
    party = next((p for p in ticket.parties if p.id == party_id), None)
    if party is None or party.role not in THIRD_PARTY_ROLES:
        raise NotFound("party", party_id)
    after = ticket.model_copy(
        update={"parties": [p for p in ticket.parties if p.id != party_id], "updated_at": now}
    )
    return after, party, _audit(ticket.id, actor, "party_removed", party, now)


def links_for(ticket_id: str, party: Party) -> list[PartyLink]:
    """The identity keys the party's messages arrive with: its email; its phone as an SMS or
    call number (E.164) and as a WhatsApp id (the same digits without "+")."""
    added_at = party.added_at or datetime.fromtimestamp(0, UTC)
    contacts: list[tuple[IdentityKind, str]] = []
    if party.email:
        contacts.append((IdentityKind.email, party.email))
    if party.phone:
        contacts += [(IdentityKind.phone, party.phone), (IdentityKind.whatsapp, party.phone.lstrip("+"))]
    return [
        PartyLink(
            kind=kind, value=value, ticket_id=ticket_id, party_id=party.id, role=party.role, added_at=added_at
        )
        for kind, value in contacts
    ]


def party_writing(ticket: Ticket, claims: list[IdentityClaim]) -> Party | None:
    """The third party of ``ticket`` whose address or number is among the sender's identifiers."""
    for party in ticket.parties:
        if party.role not in THIRD_PARTY_ROLES:
            continue
        for link in links_for(ticket.id, party):
            if any(c.kind is link.kind and c.value == link.value for c in claims):
                return party
    return None


def party_of(ticket: Ticket, party_id: str) -> Party:
    party = next((p for p in ticket.parties if p.id == party_id and p.role in THIRD_PARTY_ROLES), None)
    if party is None:
        raise NotFound("party", party_id)
    return party
