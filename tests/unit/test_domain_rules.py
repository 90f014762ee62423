from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.adapters.channels.web_form import ContactForm
from shared.adapters.dynamodb import cursor
from shared.domain.common import Channel
from shared.domain.errors import InvalidCursor
from shared.domain.ids import is_ticket_reference, new_id, stable_id, ticket_reference
from shared.domain.inbound import InboundMessage
from shared.domain.intake import accepts_messages, open_ticket, ticket_after_message
from shared.domain.message import DeliveryStatus, advance_status
from shared.domain.ticket import Priority, TicketStatus, default_sla

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _message(**changes):
    fields = {"dedup_key": "web_form:x", "channel": Channel.web_form, "identities": [], "sent_at": NOW}
    fields.update(changes)
    return InboundMessage(**fields)


def test_delivery_status_only_moves_forward_and_failure_is_final():
    assert advance_status(DeliveryStatus.sent, DeliveryStatus.delivered) is DeliveryStatus.delivered
    assert advance_status(DeliveryStatus.read, DeliveryStatus.delivered) is DeliveryStatus.read
    assert advance_status(DeliveryStatus.sent, DeliveryStatus.read) is DeliveryStatus.read
    assert advance_status(DeliveryStatus.delivered, DeliveryStatus.failed) is DeliveryStatus.failed
    assert advance_status(DeliveryStatus.failed, DeliveryStatus.read) is DeliveryStatus.failed


def test_sla_clock_pauses_and_reports_the_earliest_running_deadline():
    clock = default_sla(Priority.urgent, NOW)
    assert clock.next_due() == NOW + timedelta(hours=1)
    answered = clock.model_copy(update={"first_responded_at": NOW + timedelta(minutes=20)})
    assert answered.next_due() == NOW + timedelta(hours=8)
    paused = answered.model_copy(update={"paused_since": NOW + timedelta(hours=2)})
    assert paused.next_due() is None


def test_a_new_ticket_gets_a_readable_reference_and_its_sla():
    ticket = open_ticket(_message(subject="Panne box", text="Plus d'internet"), "C1", NOW)
    assert is_ticket_reference(ticket.id)
    assert ticket.subject == "Panne box"
    assert ticket.status is TicketStatus.new
    # Qualified from the words, and the SLA runs in business hours (Paris, 09:00-18:00):
    # 10:00 Paris + 4 business hours for a normal-priority first response.
    qualified = (ticket.type.value, ticket.topic.value, ticket.priority.value)
    assert qualified == ("assistance", "tech_support", "normal")
    assert ticket.sla is not None
    assert ticket.sla.first_response_due_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_a_customer_reply_ends_the_wait_on_the_customer():
    ticket = open_ticket(_message(), "C1", NOW).model_copy(update={"status": TicketStatus.pending_customer})
    after = ticket_after_message(ticket, _message(), NOW)
    assert after is not None
    assert after.status is TicketStatus.open
    assert after.message_count == ticket.message_count + 1


def test_solved_or_merged_tickets_take_no_new_message():
    ticket = open_ticket(_message(), "C1", NOW)
    assert accepts_messages(ticket)
    assert not accepts_messages(ticket.model_copy(update={"status": TicketStatus.solved}))
    assert not accepts_messages(ticket.model_copy(update={"merged_into": "ABCDEFGH"}))


def test_ids_are_time_ordered_and_provider_ids_map_to_stable_ids():
    assert new_id("C", now_ms=1_000) < new_id("C", now_ms=2_000)
    assert stable_id("M", "whatsapp:wamid.1") == stable_id("M", "whatsapp:wamid.1")
    assert stable_id("M", "whatsapp:wamid.1") != stable_id("M", "whatsapp:wamid.2")
    assert len({ticket_reference() for _ in range(200)}) == 200


def test_cursor_round_trip_and_forgeries():
    state = {"0": {"pk": "TICKET#A", "sk": "#TICKET"}, "1": None}
    keys = frozenset({"pk", "sk"})
    assert cursor.decode(cursor.encode(state), keys) == state
    with pytest.raises(InvalidCursor):
        cursor.decode("%%%not-base64", keys)
    with pytest.raises(InvalidCursor):
        cursor.decode(cursor.encode({"0": {"pk": "X", "password": "y"}}), keys)
    with pytest.raises(InvalidCursor):
        cursor.decode(cursor.encode({"0": {"pk": 3}}), keys)


def _form(**changes):
    fields = {"name": "Jean", "email": "jean@example.com", "message": "Bonjour", "consent": True}
    fields.update(changes)
    return ContactForm.model_validate(fields)


def test_contact_form_names_every_bad_field():
    with pytest.raises(ValidationError) as caught:
        ContactForm.model_validate({"name": "", "email": "nope", "message": "", "consent": False})
    fields = {e["loc"][0] for e in caught.value.errors()}
    assert fields == {"name", "email", "message", "consent"}


def test_contact_form_blank_optional_fields_are_missing_and_honeypot_flags_spam():
    form = _form(phone="", subject="  ", website="")
    assert form.phone is None and form.subject is None
    assert not form.is_spam
    assert _form(website="http://spam.example").is_spam


def test_contact_form_needs_a_way_to_answer():
    with pytest.raises(ValidationError, match="email address or a phone number"):
        _form(email=None)


def test_a_stored_ticket_keeps_its_request_type():
    from shared.adapters.dynamodb.items import from_item, to_item
    from shared.domain.ticket import Ticket, TicketType

    ticket = open_ticket(_message(ticket_type=TicketType.callback), "C1", NOW)
    item = to_item(ticket, "ticket", {"pk": "TICKET#X", "sk": "#TICKET"})
    assert from_item(item, Ticket).type is TicketType.callback
