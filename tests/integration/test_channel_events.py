"""Statuses, receipts, calls, echoes and email threading, recorded on moto."""

from __future__ import annotations

from datetime import timedelta

from boto3.dynamodb.conditions import Key

from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import (
    CallRecord,
    DeliveryStatusUpdate,
    IdentityClaim,
    InboundMessage,
    OutboundEcho,
    ReadWatermark,
    ThreadHints,
)
from shared.domain.message import DeliveryStatus, Direction
from shared.domain.ticket import Priority, TicketType
from shared.services.channel_events import record_event
from tests.support import FixedClock

PSID = IdentityClaim(kind=IdentityKind.messenger, value="1254459154682919")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
EMAIL = IdentityClaim(kind=IdentityKind.email, value="jean@example.net")


def _messenger(clock, n=1):
    return InboundMessage(
        dedup_key=f"messenger:m_in{n}",
        channel=Channel.messenger,
        identities=[PSID],
        text="Bonjour",
        sent_at=clock.now(),
    )


def _echo(clock, mid="m_out1"):
    return OutboundEcho(
        dedup_key=f"messenger:{mid}",
        channel=Channel.messenger,
        provider_message_id=mid,
        recipient=PSID,
        text="Bonjour, que puis-je faire ?",
        app_id="1517776481860111",
        sent_at=clock.now(),
    )


def _messages(repo, ticket_id):
    return repo.ticket_messages(ticket_id, limit=50, cursor=None)[1].items


def _outbound(repo, ticket_id):
    [message] = [m for m in _messages(repo, ticket_id) if m.direction is Direction.outbound]
    return message


def _timeline(aws, customer_id):
    return aws["table"].query(
        KeyConditionExpression=Key("pk").eq(f"CUSTOMER#{customer_id}") & Key("sk").begins_with("TL#")
    )["Items"]


def test_an_echo_is_recorded_as_outbound_never_as_a_customer_message(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(repo, clock, _messenger(clock))
    clock.advance(minutes=1)

    echoed = record_event(repo, clock, _echo(clock))

    assert echoed.ticket_id == first.ticket_id
    messages = _messages(repo, first.ticket_id)
    assert sorted(m.direction.value for m in messages) == ["inbound", "outbound"]
    outbound = _outbound(repo, first.ticket_id)
    assert outbound.provider_ids == {"mid": "m_out1"}
    assert repo.get_ticket(first.ticket_id).value.message_count == 2
    assert record_event(repo, clock, _echo(clock)).duplicate


def test_delivery_statuses_only_move_forward_and_land_on_the_timeline(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(repo, clock, _messenger(clock))
    record_event(repo, clock, _echo(clock))

    def status(value, error=None):
        clock.advance(seconds=5)
        return record_event(
            repo,
            clock,
            DeliveryStatusUpdate(
                dedup_key=f"messenger:m_out1:{value}:{clock.now().isoformat()}",
                channel=Channel.messenger,
                provider_message_id="m_out1",
                status=DeliveryStatus(value),
                at=clock.now(),
                error=error,
            ),
        )

    assert not status("read").duplicate
    assert status("delivered").duplicate  # late: read is already further
    assert _outbound(repo, first.ticket_id).delivery_status is DeliveryStatus.read
    assert not status("failed", error="131047 re-engagement required").duplicate
    assert status("read").duplicate  # failed is final
    outbound = _outbound(repo, first.ticket_id)
    assert outbound.delivery_status is DeliveryStatus.failed
    assert outbound.error == "131047 re-engagement required"
    kinds = [t["kind"] for t in _timeline(aws, first.customer_id)]
    assert kinds.count("status") == 2


def test_a_receipt_before_the_echo_is_kept_for_the_message(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(repo, clock, _messenger(clock))
    record_event(
        repo,
        clock,
        DeliveryStatusUpdate(
            dedup_key="messenger:early",
            channel=Channel.messenger,
            provider_message_id="m_out9",
            status=DeliveryStatus.delivered,
            at=clock.now(),
        ),
    )

    record_event(repo, clock, _echo(clock, mid="m_out9"))

    assert _outbound(repo, first.ticket_id).delivery_status is DeliveryStatus.delivered


def test_a_read_watermark_marks_every_earlier_outbound_message_read(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(repo, clock, _messenger(clock))
    for mid in ("m_a", "m_b"):
        clock.advance(seconds=30)
        record_event(repo, clock, _echo(clock, mid=mid))
    watermark = clock.now() + timedelta(seconds=1)

    record_event(
        repo,
        clock,
        ReadWatermark(
            dedup_key="messenger:read:1254459154682919:1",
            channel=Channel.messenger,
            recipient=PSID,
            status=DeliveryStatus.read,
            watermark=watermark,
        ),
    )

    statuses = [
        m.delivery_status for m in _messages(repo, first.ticket_id) if m.direction is Direction.outbound
    ]
    assert statuses == [DeliveryStatus.read, DeliveryStatus.read]


def test_a_missed_call_opens_a_call_back_ticket_once(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="sms:SM1", channel=Channel.sms, identities=[PHONE], text="Bonjour", sent_at=clock.now()
        ),
    )
    missed = CallRecord(
        dedup_key="twilio:CA1:no-answer:3",
        provider="twilio",
        provider_call_id="CA1",
        direction="inbound",
        status="no-answer",
        caller=PHONE,
        at=clock.now(),
    )

    result = record_event(repo, clock, missed)

    ticket = repo.get_ticket(result.ticket_id).value
    assert ticket.type is TicketType.callback
    # A call-back starts high; the same person also wrote by SMS within 24 h: they rise to urgent.
    assert ticket.priority is Priority.urgent
    assert result.created_ticket
    assert record_event(repo, clock, missed).duplicate
    # The SMS conversation's ticket is left as it was; the call-back is its own case.
    assert len(repo.list_tickets(limit=10, cursor=None).items) == 2


def test_a_completed_call_is_logged_on_the_timeline_with_duration_and_recording(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    result = record_event(
        repo,
        clock,
        CallRecord(
            dedup_key="twilio:CA2:completed:5",
            provider="twilio",
            provider_call_id="CA2",
            direction="inbound",
            status="completed",
            caller=PHONE,
            duration_s=125,
            at=clock.now(),
            recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        ),
    )

    [entry] = _timeline(aws, result.customer_id)
    assert entry["kind"] == "call"
    assert entry["summary"] == "phone: inbound call, 2 min 05 s"
    assert entry["details"]["recording_url"].endswith("/RE1")
    assert repo.list_tickets(limit=10, cursor=None).items == []


def test_email_threads_by_plus_tag_then_message_id_then_subject_token(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    opened = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:<first@example.net>",
            channel=Channel.email,
            identities=[EMAIL],
            subject="Panne",
            text="Ma box est en panne",
            message_ids=["<first@example.net>"],
            sent_at=clock.now(),
        ),
    )
    # The customer's open-ticket pointer moves on: a later email must still find the old case.
    other = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:<other@example.net>",
            channel=Channel.email,
            identities=[IdentityClaim(kind=IdentityKind.email, value="other@example.net")],
            text="x",
            sent_at=clock.now(),
        ),
    )

    def reply(n, hints):
        clock.advance(minutes=1)
        return record_event(
            repo,
            clock,
            InboundMessage(
                dedup_key=f"email:<reply{n}@example.net>",
                channel=Channel.email,
                identities=[EMAIL],
                text=f"reply {n}",
                thread_hints=hints,
                sent_at=clock.now(),
            ),
        )

    by_reply_to = reply(1, ThreadHints(in_reply_to="<first@example.net>"))
    by_references = reply(2, ThreadHints(references=["<unknown@x>", "<first@example.net>"]))
    by_plus = reply(3, ThreadHints(plus_tag_ticket=opened.ticket_id, in_reply_to="<nothing@x>"))
    by_subject = reply(4, ThreadHints(subject_ticket=other.ticket_id))

    assert (by_reply_to.ticket_id, by_reply_to.thread_match) == (opened.ticket_id, "in_reply_to")
    assert (by_references.ticket_id, by_references.thread_match) == (opened.ticket_id, "references")
    assert (by_plus.ticket_id, by_plus.thread_match) == (opened.ticket_id, "plus_tag")
    assert (by_subject.ticket_id, by_subject.thread_match) == (other.ticket_id, "subject_token")
    assert [m.thread_match for m in _messages(repo, opened.ticket_id)] == [
        None,
        "in_reply_to",
        "references",
        "plus_tag",
    ]


def test_an_unknown_address_replying_in_the_thread_joins_the_ticket_not_a_proven_profile(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="whatsapp:wamid.1",
            channel=Channel.whatsapp,
            identities=[PHONE],
            text="Bonjour",
            sent_at=clock.now(),
        ),
    )
    clock.advance(minutes=10)

    reply = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:<r1@example.org>",
            channel=Channel.email,
            identities=[EMAIL],
            text="suite",
            thread_hints=ThreadHints(plus_tag_ticket=first.ticket_id),
            sent_at=clock.now(),
        ),
    )

    # Agents see the reply on the case, with the evidence; but writing to a thread's address proves
    # nothing about who one is, and the WhatsApp profile holds a proven number: the address stays
    # off it (else it would receive the profile's messages, and open its customer space).
    assert (reply.customer_id, reply.ticket_id) == (first.customer_id, first.ticket_id)
    assert repo.identity_owner("email", "jean@example.net") is None
    [_, message] = _messages(repo, first.ticket_id)
    assert message.metadata["identity_linked_by"] == "email thread (plus_tag)"
    assert message.metadata["identifiers_not_added"] == "email:jean@example.net"


def test_an_unknown_address_replying_in_the_thread_of_a_form_joins_its_profile_as_a_claim(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="web_form:1",
            channel=Channel.web_form,
            identities=[PHONE],
            text="Bonjour",
            sent_at=clock.now(),
        ),
    )
    clock.advance(minutes=10)
    record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:<r2@example.org>",
            channel=Channel.email,
            identities=[EMAIL],
            text="suite",
            thread_hints=ThreadHints(plus_tag_ticket=first.ticket_id),
            sent_at=clock.now(),
        ),
    )
    # A profile of claims only (a form) links what agents need, as claims.
    assert repo.identity_owner("email", "jean@example.net") == first.customer_id
    profile = repo.get_customer(first.customer_id)
    assert profile is not None
    assert {(i.value, i.proof.value) for i in profile.value.identities} == {
        ("+33612345678", "claimed"),
        ("jean@example.net", "claimed"),
    }


def test_a_typed_subject_token_does_not_attach_an_unknown_address_to_the_customer(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="whatsapp:wamid.2",
            channel=Channel.whatsapp,
            identities=[PHONE],
            text="Bonjour",
            sent_at=clock.now(),
        ),
    )
    clock.advance(minutes=10)

    stranger = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:<s1@example.org>",
            channel=Channel.email,
            identities=[EMAIL],
            text="je suis le livreur",
            thread_hints=ThreadHints(subject_ticket=first.ticket_id),
            sent_at=clock.now(),
        ),
    )

    assert stranger.ticket_id == first.ticket_id  # the exchange stays on the case...
    assert stranger.customer_id != first.customer_id  # ...but the stranger is not the customer
