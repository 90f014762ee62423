"""Pure reply rules: channel choice, recipient, email threading, last inbound time, ticket after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.common import Channel
from shared.domain.customer import Customer, CustomerTraits, Identity
from shared.domain.identity import IdentityKind, Proof
from shared.domain.message import Direction, Message
from shared.domain.replies import (
    ReplyRefused,
    after_reply,
    default_channel,
    email_thread,
    last_inbound_at,
    recipient,
    reply_channel,
)
from shared.domain.sla_policy import start_clock
from shared.domain.ticket import Priority, Ticket, TicketStatus
from shared.domain.ticket_work import merge_into

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def ticket(**fields: object) -> Ticket:
    values: dict[str, object] = {
        "id": "K7M3Q9XA",
        "channel": Channel.whatsapp,
        "customer_id": "C1",
        "sla": start_clock(Priority.normal, T0),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Ticket.model_validate(values)


def customer(*identities: tuple[IdentityKind, str, Channel | None, int], **fields: object) -> Customer:
    return Customer(
        id="C1",
        identities=[
            Identity(
                kind=kind,
                value=value,
                source_channel=source,
                first_seen_at=T0 + timedelta(days=day),
                # What a form typed is a claim; what the customer wrote from, the provider asserts.
                proof=Proof.claimed if source is Channel.web_form else Proof.provider,
            )
            for kind, value, source, day in identities
        ],
        created_at=T0,
        updated_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def message(channel: Channel, direction: Direction, minutes: int, **fields: object) -> Message:
    return Message.model_validate(
        {
            "id": f"M{minutes}",
            "ticket_id": "K7M3Q9XA",
            "channel": channel,
            "direction": direction,
            "sent_at": T0 + timedelta(minutes=minutes),
            "received_at": T0 + timedelta(minutes=minutes),
            **fields,
        }
    )


def test_channel_requested_else_last_inbound_else_origin_and_forms_by_email() -> None:
    assert reply_channel(Channel.sms, ticket(last_inbound_channel=Channel.whatsapp)) is Channel.sms
    assert reply_channel(None, ticket(last_inbound_channel=Channel.messenger)) is Channel.messenger
    assert reply_channel(None, ticket()) is Channel.whatsapp
    assert reply_channel(None, ticket(channel=Channel.web_form)) is Channel.email


def test_recipient_per_channel() -> None:
    lea = customer(
        (IdentityKind.email, "old@example.org", Channel.web_form, 0),
        (IdentityKind.email, "lea@example.org", Channel.email, 1),
        (IdentityKind.email, "newest@example.org", Channel.web_form, 2),
        (IdentityKind.whatsapp, "33612345678", Channel.whatsapp, 0),
        (IdentityKind.messenger, "PSID1", Channel.messenger, 0),
    )
    assert recipient(lea, Channel.email) == "lea@example.org"  # the one she writes from
    assert recipient(lea, Channel.whatsapp) == "33612345678"
    assert recipient(lea, Channel.sms) == "+33612345678"  # her WhatsApp number takes SMS too
    assert recipient(lea, Channel.messenger) == "PSID1"
    assert recipient(lea, Channel.portal) is None
    with pytest.raises(ReplyRefused) as caught:
        recipient(lea, Channel.instagram)
    assert caught.value.code == "no_address"
    phone_only = customer((IdentityKind.phone, "+33699999999", Channel.sms, 0))
    assert recipient(phone_only, Channel.whatsapp) == "33699999999"


def test_a_proven_profile_is_never_written_to_at_an_address_only_claimed() -> None:
    # A form typed an email beside a number the provider asserts: the profile's messages must not
    # go to an address anyone could have typed.
    proven = customer(
        (IdentityKind.phone, "+33699999999", Channel.sms, 0),
        (IdentityKind.email, "typed@example.org", Channel.web_form, 1),
    )
    with pytest.raises(ReplyRefused) as caught:
        recipient(proven, Channel.email)
    assert caught.value.code == "no_address"
    assert recipient(proven, Channel.sms) == "+33699999999"
    # A profile made of claims only (a contact form) is answered where it asked to be.
    form_only = customer((IdentityKind.email, "typed@example.org", Channel.web_form, 1))
    assert recipient(form_only, Channel.email) == "typed@example.org"


def test_email_thread_answers_the_last_inbound_email_with_the_conversation() -> None:
    recent = [  # newest first, as the store returns them
        message(Channel.whatsapp, Direction.inbound, 50),
        message(Channel.email, Direction.outbound, 40, provider_ids={"message_id": "ours-2@ses"}),
        message(
            Channel.email,
            Direction.inbound,
            30,
            provider_ids={"message_id": "<parent@mail>"},
            reply_to_provider_id="ours-1@ses",
        ),
        message(Channel.email, Direction.outbound, 20, provider_ids={"message_id": "ours-1@ses"}),
        message(Channel.email, Direction.inbound, 10, provider_ids={"message_id": "root@mail"}),
    ]
    thread = email_thread(recent)
    assert thread.in_reply_to == "<parent@mail>"
    assert thread.references == ["root@mail", "ours-1@ses", "parent@mail"]
    assert email_thread([message(Channel.sms, Direction.inbound, 1)]).in_reply_to is None


def test_last_inbound_on_the_channel_or_from_the_profile() -> None:
    recent = [
        message(Channel.sms, Direction.inbound, 30),
        message(Channel.whatsapp, Direction.outbound, 20),
        message(Channel.whatsapp, Direction.inbound, 10),
    ]
    assert last_inbound_at(recent, Channel.whatsapp) == T0 + timedelta(minutes=10)
    assert last_inbound_at(recent, Channel.messenger) is None
    elsewhere = customer(
        traits=CustomerTraits(last_contact_at=T0 + timedelta(hours=5), last_inbound_channel=Channel.whatsapp)
    )
    assert last_inbound_at(recent, Channel.whatsapp, elsewhere) == T0 + timedelta(hours=5)


def test_a_reply_opens_a_new_ticket_and_records_the_first_response() -> None:
    at = T0 + timedelta(hours=1)
    after = after_reply(ticket(message_count=1), at)
    assert after.status_changed and after.ticket.status is TicketStatus.open
    assert after.ticket.sla is not None and after.ticket.sla.first_responded_at == at
    assert after.ticket.message_count == 2 and after.ticket.last_message_at == at


def test_on_hold_pauses_and_back_to_open_resumes() -> None:
    held = after_reply(ticket(status=TicketStatus.open), T0, TicketStatus.pending_customer).ticket
    assert held.sla is not None and held.sla.paused_since == T0
    still = after_reply(held, T0 + timedelta(hours=1)).ticket  # no status: stays on hold
    assert still.status is TicketStatus.pending_customer and still.sla is not None
    assert still.sla.paused_since == T0
    back = after_reply(still, T0 + timedelta(hours=2), TicketStatus.open).ticket
    assert back.sla is not None and back.sla.paused_since is None and back.sla.paused_seconds > 0


def test_a_reply_cannot_close_or_make_new() -> None:
    for status in (TicketStatus.closed, TicketStatus.new):
        with pytest.raises(ReplyRefused) as caught:
            after_reply(ticket(), T0, status)
        assert caught.value.code == "invalid_status"


def test_a_reply_that_solves_answers_and_stops_the_clock() -> None:
    held = after_reply(ticket(status=TicketStatus.open), T0, TicketStatus.pending_customer).ticket
    solved = after_reply(held, T0 + timedelta(hours=1), TicketStatus.solved)

    assert solved.status_changed and solved.ticket.status is TicketStatus.solved
    clock = solved.ticket.sla
    assert clock is not None and clock.resolved_at == T0 + timedelta(hours=1)
    assert clock.paused_since is None and clock.next_due() is None


def test_no_channel_named_defaults_to_the_customers_last_message_they_can_be_answered_on() -> None:
    phone_only = customer(
        (IdentityKind.phone, "+33612345678", Channel.web_form, 0),
        traits=CustomerTraits(last_inbound_channel=Channel.web_form),
    )
    # A form that gave only a phone number: answered by SMS, not refused for want of an email.
    assert default_channel(ticket(channel=Channel.web_form), phone_only) is Channel.sms
    both = customer(
        (IdentityKind.email, "lea@example.fr", Channel.email, 0),
        (IdentityKind.whatsapp, "33612345678", Channel.whatsapp, 0),
        traits=CustomerTraits(
            last_inbound_channel=Channel.email,
            last_contact_per_channel={Channel.email: T0, Channel.whatsapp: T0 - timedelta(hours=1)},
        ),
    )
    # The ticket's last inbound is the customer's last message there: kept when reachable...
    assert default_channel(ticket(last_inbound_channel=Channel.whatsapp), both) is Channel.whatsapp
    # ... else (a Messenger ticket merged in from another profile) their last message anywhere.
    assert default_channel(ticket(last_inbound_channel=Channel.messenger), both) is Channel.email


def test_a_merged_ticket_brings_its_later_channel_only_for_the_same_customer() -> None:
    target = ticket(last_inbound_channel=Channel.email, last_inbound_at=T0)
    later = ticket(id="B2C3D4E5", last_inbound_channel=Channel.sms, last_inbound_at=T0 + timedelta(hours=1))
    _, survivor, _ = merge_into(later, target, "agent:paul", T0 + timedelta(hours=2))
    assert survivor.last_inbound_channel is Channel.sms
    someone_else = later.model_copy(update={"customer_id": "C2"})
    _, survivor, _ = merge_into(someone_else, target, "agent:paul", T0 + timedelta(hours=2))
    assert survivor.last_inbound_channel is Channel.email
