"""Third parties on a ticket, and what a message does to the ticket's status and SLA clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import intake, parties
from shared.domain.common import Channel
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.message import PartyRole
from shared.domain.sla_policy import (
    DEFAULT_CALENDAR,
    DEFAULT_SLA_POLICY,
    add_business_time,
    record_reply,
    start_clock,
)
from shared.domain.ticket import Priority, Ticket, TicketStatus

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def _ticket(status: TicketStatus = TicketStatus.open, **extra) -> Ticket:
    return Ticket(
        id="K7M3Q9XA",
        channel=Channel.sms,
        customer_id="C1",
        status=status,
        priority=Priority.normal,
        sla=extra.pop("sla", start_clock(Priority.normal, MONDAY_10)),
        created_at=MONDAY_10,
        updated_at=MONDAY_10,
        **extra,
    )


def _inbound(at: datetime, claims: list[IdentityClaim] | None = None) -> InboundMessage:
    return InboundMessage(
        dedup_key="sms:1",
        channel=Channel.whatsapp,
        identities=claims or [IdentityClaim(kind=IdentityKind.phone, value="+33612345678")],
        text="Alors ?",
        sent_at=at,
    )


def test_a_party_is_normalised_and_reachable_by_its_email_and_phone_and_whatsapp():
    party = parties.new_party(
        parties.PartyIn(
            role=PartyRole.supplier, name=" Acme ", email="Ventes@ACME.fr", phone="06 98 76 54 32"
        ),
        MONDAY_10,
    )

    assert (party.email, party.phone, party.name) == ("ventes@acme.fr", "+33698765432", "Acme")
    links = parties.links_for("K7M3Q9XA", party)
    assert {(link.kind, link.value) for link in links} == {
        (IdentityKind.email, "ventes@acme.fr"),
        (IdentityKind.phone, "+33698765432"),
        (IdentityKind.whatsapp, "33698765432"),
    }
    ticket, _ = parties.add_party(_ticket(), party, "agent:paul", MONDAY_10)
    whatsapp = [IdentityClaim(kind=IdentityKind.whatsapp, value="33698765432")]
    assert parties.party_writing(ticket, whatsapp) == party
    assert parties.party_writing(ticket, [IdentityClaim(kind=IdentityKind.email, value="x@y.fr")]) is None


def test_a_party_without_contact_or_with_the_customer_role_is_refused_field_by_field():
    with pytest.raises(InvalidInput) as refused:
        parties.new_party(parties.PartyIn(role=PartyRole.customer, phone="12"), MONDAY_10)
    assert {e["field"] for e in refused.value.errors} == {"role", "phone"}


def test_the_same_address_twice_and_parties_on_a_merged_ticket_are_refused():
    party = parties.new_party(parties.PartyIn(role=PartyRole.carrier, email="a@b.fr"), MONDAY_10)
    ticket, _ = parties.add_party(_ticket(), party, "agent:paul", MONDAY_10)
    twin = parties.new_party(parties.PartyIn(role=PartyRole.supplier, email="A@b.fr"), MONDAY_10)
    with pytest.raises(Conflict):
        parties.add_party(ticket, twin, "agent:paul", MONDAY_10)
    with pytest.raises(Conflict):
        parties.add_party(_ticket(merged_into="OTHER123"), twin, "agent:paul", MONDAY_10)
    with pytest.raises(NotFound):
        parties.remove_party(ticket, "P-unknown", "agent:paul", MONDAY_10)


def test_a_customer_message_after_the_first_response_starts_the_next_response_deadline():
    answered = record_reply(start_clock(Priority.normal, MONDAY_10), MONDAY_10 + timedelta(minutes=30))
    ticket = _ticket(sla=answered)
    at = MONDAY_10 + timedelta(hours=1)

    after = intake.ticket_after_message(ticket, _inbound(at), at)

    assert after is not None
    assert after.sla is not None
    target = DEFAULT_SLA_POLICY.targets[Priority.normal].next_response
    assert after.sla.next_response_due_at == add_business_time(at, target, DEFAULT_CALENDAR)
    assert after.last_inbound_channel is Channel.whatsapp
    # a second message while the first waits for an answer does not move the deadline
    assert intake.ticket_after_message(after, _inbound(at + timedelta(minutes=5)), at) is None


def test_before_the_first_response_a_message_only_counts():
    assert intake.ticket_after_message(_ticket(), _inbound(MONDAY_10), MONDAY_10) is None


def test_each_wait_is_ended_by_the_one_it_waits_on():
    clock = start_clock(Priority.normal, MONDAY_10).model_copy(update={"paused_since": MONDAY_10})
    on_customer = _ticket(TicketStatus.pending_customer, sla=clock)
    on_party = _ticket(TicketStatus.pending_third_party, sla=clock)
    later = MONDAY_10 + timedelta(hours=2)

    reopened = intake.ticket_after_message(on_customer, _inbound(later), later)
    assert reopened is not None
    assert reopened.status is TicketStatus.open
    assert reopened.sla is not None
    assert reopened.sla.paused_since is None
    assert reopened.sla.paused_seconds == 2 * 3600
    # the customer writing does not end a wait on the carrier: the customer clock stays paused
    assert intake.ticket_after_message(on_party, _inbound(later), later) is None
    by_party = intake.ticket_after_message(on_party, _inbound(later), later, from_customer=False)
    assert by_party is not None
    assert by_party.status is TicketStatus.open
    assert by_party.last_inbound_channel is None  # replies still go to the customer's channel
