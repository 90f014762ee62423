"""Record every normalised inbound event: messages, delivery statuses, receipts, calls, echoes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from shared.domain import intake
from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.ids import stable_id
from shared.domain.inbound import (
    CallRecord,
    DeliveryStatusUpdate,
    IdentityClaim,
    InboundEvent,
    InboundMessage,
    OutboundEcho,
    ReadWatermark,
)
from shared.domain.intake import Playbook
from shared.domain.message import DeliveryStatus, Direction, Message, PartyRole
from shared.domain.ticket import TicketType
from shared.domain.timeline import TimelineEntry
from shared.ports import Clock, InboundWrite, OrderLookup, Repository
from shared.services.identity_resolution import find_customer
from shared.services.ingest import IngestResult, record_message, thread_target, with_retries

WATERMARK_SCAN_LIMIT = 50  # newest messages of the ticket checked against a read watermark


def record_event(
    repo: Repository,
    clock: Clock,
    event: InboundEvent,
    sleep: Callable[[float], None] = time.sleep,
    playbook: Playbook | None = None,
    *,
    orders: OrderLookup | None = None,
) -> IngestResult:
    """``playbook``: the team's rules for new tickets (None: the defaults); ``orders``: see
    ingest.record_message."""
    if isinstance(event, InboundMessage):
        return record_message(repo, clock, event, sleep, playbook, orders=orders)
    if isinstance(event, DeliveryStatusUpdate):
        return record_status(repo, event)
    if isinstance(event, ReadWatermark):
        return record_watermark(repo, event)
    if isinstance(event, CallRecord):
        return record_call(repo, clock, event, sleep, playbook)
    return record_echo(repo, clock, event, sleep)


def record_status(repo: Repository, update: DeliveryStatusUpdate) -> IngestResult:
    """Statuses only move forward; a status for a message not known yet is kept for it."""
    ref = repo.provider_message(update.channel.value, update.provider_message_id)
    entry = None
    if ref is not None and ref.customer_id:
        entry = TimelineEntry(
            event_id=f"{update.provider_message_id}:{update.status.value}",
            kind="status",
            channel=update.channel,
            direction=Direction.outbound.value,
            summary=f"{update.channel.value}: message {update.status.value}"
            + (f" ({update.error})" if update.error else ""),
            ticket_id=ref.ticket_id,
            at=update.at,
        )
    applied = repo.apply_delivery_status(
        update.dedup_key,
        channel=update.channel.value,
        provider_id=update.provider_message_id,
        ref=ref,
        status=update.status,
        error=update.error,
        timeline=entry,
    )
    return IngestResult(
        ticket_id=ref.ticket_id if ref else None,
        message_id=None,
        customer_id=ref.customer_id if ref else None,
        duplicate=not applied,
    )


def record_watermark(repo: Repository, receipt: ReadWatermark) -> IngestResult:
    """Messenger receipts cover every message sent to the person up to the watermark."""
    provider_ids = list(receipt.mids)
    if not provider_ids:
        owner = repo.identity_owner(receipt.recipient.kind.value, receipt.recipient.value)
        customer = repo.get_customer(owner) if owner else None
        ticket_id = customer.value.open_ticket_id if customer else None
        if ticket_id:
            for message in repo.outbound_messages_before(ticket_id, receipt.watermark, WATERMARK_SCAN_LIMIT):
                if message.delivery_status.rank < receipt.status.rank:
                    provider_ids += [v for k, v in message.provider_ids.items() if k == "mid"]
    applied = 0
    for mid in provider_ids:
        result = record_status(
            repo,
            DeliveryStatusUpdate(
                dedup_key=f"{receipt.dedup_key}:{mid}",
                channel=receipt.channel,
                provider_message_id=mid,
                status=receipt.status,
                at=receipt.watermark,
            ),
        )
        applied += 0 if result.duplicate else 1
    return IngestResult(None, None, None, duplicate=applied == 0)


def record_call(
    repo: Repository,
    clock: Clock,
    call: CallRecord,
    sleep: Callable[[float], None] = time.sleep,
    playbook: Playbook | None = None,
) -> IngestResult:
    """A missed inbound call opens a call-back ticket; a completed call goes on the timeline."""
    if call.caller is None or not (call.missed or call.completed):
        # Ringing/in-progress callbacks, and calls the provider did not attribute to a number.
        return IngestResult(None, None, None, duplicate=True)
    details = {"provider": call.provider, "call_id": call.provider_call_id, "direction": call.direction}
    details["status"] = call.status
    if call.duration_s is not None:
        details["duration_s"] = str(call.duration_s)
    if call.recording_url:
        details["recording_url"] = call.recording_url
    if call.missed:
        return record_message(
            repo,
            clock,
            InboundMessage(
                dedup_key=call.dedup_key,
                channel=Channel.phone,
                identities=[call.caller],
                subject=f"Call back {call.caller.value}",
                text=f"Missed call ({call.status}) from {call.caller.value}",
                content_type="call",
                provider_ids={call.provider: call.provider_call_id},
                metadata=details,
                ticket_type=TicketType.callback,
                sent_at=call.at,
            ),
            sleep,
            playbook,
        )
    minutes, seconds = divmod(call.duration_s or 0, 60)
    entry = TimelineEntry(
        event_id=stable_id("E", call.dedup_key),
        kind="call",
        channel=Channel.phone,
        direction="inbound" if call.direction == "inbound" else "outbound",
        summary=f"phone: {call.direction} call, {minutes} min {seconds:02d} s",
        details=details,
        at=call.at,
    )
    return _timeline_only(
        repo,
        clock,
        dedup_key=call.dedup_key,
        who=call.caller,
        channel=Channel.phone,
        entry=entry,
        sleep=sleep,
    )


def record_echo(
    repo: Repository, clock: Clock, echo: OutboundEcho, sleep: Callable[[float], None] = time.sleep
) -> IngestResult:
    """A message the page sent itself: outbound in the customer's open ticket, never inbound.

    Replies Guichet sent are already recorded under the same provider id: their echo is a no-op.
    """
    known = repo.provider_message(echo.channel.value, echo.provider_message_id)
    if known is not None and known.message_sk:
        return IngestResult(None, None, None, duplicate=True)
    # A receipt may have arrived before the echo: the message starts at that status.
    status = DeliveryStatus.by_rank(max(DeliveryStatus.sent.rank, known.status_rank if known else 0))

    def attempt(taken: set[tuple[str, str]]) -> IngestResult:
        now = clock.now()
        probe = InboundMessage(
            dedup_key=echo.dedup_key, channel=echo.channel, identities=[echo.recipient], sent_at=echo.sent_at
        )
        found = find_customer(repo, probe)
        customer = found.value if found else intake.new_customer(probe, now)
        current, _ = thread_target(repo, probe, customer if found else None)
        ticket_id = current.value.id if current else None
        message = Message(
            id=stable_id("M", echo.dedup_key),
            ticket_id=ticket_id or "",
            customer_id=customer.id,
            channel=echo.channel,
            direction=Direction.outbound,
            party_role=PartyRole.agent,
            author_id=echo.app_id,
            text=echo.text,
            attachments=echo.attachments,
            provider_ids={"mid": echo.provider_message_id},
            delivery_status=status,
            sent_at=echo.sent_at,
            received_at=now,
        )
        entry = intake.message_entry(message, f"{echo.channel.value}: {echo.text[:140]}".strip())
        entry = entry.model_copy(update={"ticket_id": ticket_id})
        identities = [] if found else intake.missing_identities(customer, probe, now)
        identities = [i for i in identities if (i.kind.value, i.value) not in taken]
        repo.record_inbound(
            InboundWrite(
                dedup_key=echo.dedup_key,
                timeline=entry,
                claimed_identities=identities,
                new_customer=None if found else _profile_without_contact(customer, identities, now),
                unchanged_customer_id=customer.id if found else None,
                message=message if current else None,
                ticket_update=intake.outbound_on_ticket(current.value, echo.sent_at, now)
                if current
                else None,
                outbound_provider_ids=[f"{echo.channel.value}:{echo.provider_message_id}"],
            )
        )
        return IngestResult(ticket_id, message.id, customer.id, created_customer=found is None)

    return with_retries(attempt, sleep)


def _profile_without_contact(customer: Customer, identities: list[Identity], now: datetime) -> Customer:
    """A profile first seen through something the business sent: identities, no inbound contact."""
    return customer.model_copy(update={"identities": [*customer.identities, *identities], "updated_at": now})


def _timeline_only(
    repo: Repository,
    clock: Clock,
    *,
    dedup_key: str,
    who: IdentityClaim,
    channel: Channel,
    entry: TimelineEntry,
    sleep: Callable[[float], None],
) -> IngestResult:
    def attempt(taken: set[tuple[str, str]]) -> IngestResult:
        now = clock.now()
        probe = InboundMessage(dedup_key=dedup_key, channel=channel, identities=[who], sent_at=entry.at)
        found = find_customer(repo, probe)
        customer = found.value if found else intake.new_customer(probe, now)
        identities = [
            i for i in intake.missing_identities(customer, probe, now) if (i.kind.value, i.value) not in taken
        ]
        if found:
            update = intake.contact_update(customer, probe, identities, "", now)
            new_customer, customer_update = None, update.model_copy(update={"open_ticket_id": None})
        else:
            new_customer = intake.record_contact(customer, probe, identities, "", now).model_copy(
                update={"open_ticket_id": None}
            )
            customer_update = None
        repo.record_inbound(
            InboundWrite(
                dedup_key=dedup_key,
                timeline=entry,
                claimed_identities=identities,
                new_customer=new_customer,
                customer_update=customer_update,
            )
        )
        return IngestResult(None, None, customer.id, created_customer=found is None)

    return with_retries(attempt, sleep)
