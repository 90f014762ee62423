"""Every new message re-evaluates an open ticket's priority and qualification; agents' choices hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.common import Channel
from shared.domain.customer import Customer, CustomerTraits
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.intake import recent_contacts
from shared.domain.reassessment import reassess
from shared.domain.sla_policy import start_clock
from shared.domain.ticket import ManualChoice, Priority, Ticket, TicketStatus, TicketType, Topic
from shared.domain.ticket_work import PriorityFacts, TicketChange, apply_change

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday morning


def _ticket(**fields: object) -> Ticket:
    values: dict[str, object] = {
        "id": "K7M3Q9XA",
        "channel": Channel.web_form,
        "customer_id": "C1",
        "status": TicketStatus.new,
        "sla": start_clock(Priority.normal, T0),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Ticket.model_validate(values)


def _customer(**contacts: datetime) -> Customer:
    traits = CustomerTraits(last_contact_per_channel={Channel(k): v for k, v in contacts.items()})
    return Customer(id="C1", traits=traits, created_at=T0, updated_at=T0)


def _message(channel: Channel, text: str, at: datetime) -> InboundMessage:
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    return InboundMessage(
        dedup_key=f"{channel.value}:{at}", channel=channel, identities=[phone], text=text, sent_at=at
    )


def test_a_second_channel_within_the_window_raises_the_priority_and_tightens_the_sla() -> None:
    ticket = _ticket()
    at = T0 + timedelta(seconds=20)

    found = reassess(ticket, _customer(web_form=T0), _message(Channel.sms, "Allô ?", at), at)

    assert found is not None
    after = found.ticket
    assert after.priority is Priority.high
    assert any("impatient customer" in reason for reason in after.priority_reasons)
    assert found.changes["priority"] == "normal -> high"
    assert after.sla is not None and ticket.sla is not None
    assert after.sla.first_response_due_at is not None and ticket.sla.first_response_due_at is not None
    assert after.sla.first_response_due_at < ticket.sla.first_response_due_at  # high's targets


def test_a_message_that_changes_nothing_is_no_rewrite() -> None:
    """The same channel again, nothing to qualify: None, i.e. the cheap counter update."""
    at = T0 + timedelta(minutes=5)
    assert reassess(_ticket(), _customer(web_form=T0), _message(Channel.web_form, "Re", at), at) is None
    # An old contact elsewhere (two days ago) is not impatience.
    old = _customer(sms=T0 - timedelta(days=2))
    assert reassess(_ticket(), old, _message(Channel.web_form, "Re", at), at) is None


def test_a_still_unqualified_ticket_is_qualified_with_the_new_words() -> None:
    at = T0 + timedelta(seconds=50)
    contacts = _customer(web_form=T0, sms=T0 + timedelta(seconds=10), whatsapp=T0 + timedelta(seconds=30))
    ticket = _ticket(priority=Priority.high)  # already raised by the SMS

    found = reassess(ticket, contacts, _message(Channel.email, "C'est inadmissible", at), at)

    assert found is not None
    assert found.ticket.type is TicketType.complaint
    assert found.ticket.priority is Priority.urgent  # a complaint starts high, impatience adds one
    assert found.changes["type"] == "unqualified -> complaint"


def test_what_an_agent_set_by_hand_is_never_overridden() -> None:
    at = T0 + timedelta(seconds=20)
    chosen = ManualChoice(by="agent:paul", at=T0)
    message = _message(Channel.sms, "C'est inadmissible", at)
    by_hand = _ticket(priority_manual=chosen, qualification_manual=chosen)
    assert reassess(by_hand, _customer(web_form=T0), message, at) is None

    priority_only = reassess(_ticket(priority_manual=chosen), _customer(web_form=T0), message, at)
    assert priority_only is not None
    assert (
        priority_only.ticket.type is TicketType.complaint and priority_only.ticket.priority is Priority.normal
    )


def test_the_rules_never_lower_a_priority() -> None:
    escalated = _ticket(priority=Priority.urgent, type=TicketType.information)
    at = T0 + timedelta(minutes=1)
    assert reassess(escalated, _customer(sms=T0), _message(Channel.email, "Merci", at), at) is None
    solved = _ticket(status=TicketStatus.solved)
    assert reassess(solved, _customer(web_form=T0), _message(Channel.sms, "Allô", at), at) is None


def test_recent_contacts_are_the_last_one_per_channel_plus_this_message() -> None:
    at = T0 + timedelta(minutes=1)
    contacts = recent_contacts(
        _customer(web_form=T0, sms=T0 + timedelta(minutes=5)), _message(Channel.sms, "", at)
    )
    assert contacts == [(Channel.sms, at), (Channel.web_form, T0)]  # a later one is not earlier


def test_a_type_changed_by_hand_recomputes_the_priority_and_is_recorded() -> None:
    ticket = _ticket(type=TicketType.information, priority=Priority.low, sla=start_clock(Priority.low, T0))
    now = T0 + timedelta(minutes=10)
    facts = PriorityFacts(recent_contacts=[(Channel.web_form, T0)])

    after, audit = apply_change(
        ticket, TicketChange(type=TicketType.complaint), "agent:paul", now, priority_facts=facts
    )

    assert after.type is TicketType.complaint and after.priority is Priority.high
    assert after.qualification_manual == ManualChoice(by="agent:paul", at=now)
    assert after.priority_manual is None  # the rules chose this priority, from the new type
    assert audit[0].changes == {"type": "information -> complaint", "priority": "low -> high"}
    assert after.sla is not None and after.sla.policy.endswith("high")

    pinned, _ = apply_change(after, TicketChange(priority=Priority.normal), "agent:lea", now)
    assert pinned.priority_manual == ManualChoice(by="agent:lea", at=now)
    again, _ = apply_change(pinned, TicketChange(type=TicketType.information), "agent:lea", now)
    assert again.priority is Priority.normal  # the agent's priority stands


def test_a_topic_changed_by_hand_stops_requalification() -> None:
    after, _ = apply_change(_ticket(), TicketChange(topic=Topic.billing), "agent:paul", T0)
    at = T0 + timedelta(minutes=1)
    assert after.qualification_manual is not None
    assert reassess(after, None, _message(Channel.web_form, "C'est inadmissible", at), at) is None
