"""Messenger and Instagram Messaging webhooks -> normalised inbound events (pure, no I/O).

Both products share one envelope (``object`` is ``page`` or ``instagram``; ``entry[]`` then
``messaging[]``), so one parser serves both and only the channel and identity kind differ.
Echoes (what the page itself sent) become ``OutboundEcho`` and never customer messages;
receipts become ``ReadWatermark`` (Messenger: everything up to a time) or
``DeliveryStatusUpdate`` (Instagram: one message id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.channels.claims import claim
from shared.adapters.channels.errors import (
    ChannelPayloadError,
    JsonObject,
    as_obj,
    envelope_json,
    from_unix_millis,
    opt_list,
    opt_obj,
    opt_str,
    req_list,
    req_obj,
    req_str,
)
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import (
    DeliveryStatusUpdate,
    IdentityClaim,
    InboundEnvelope,
    InboundEvent,
    InboundMessage,
    OutboundEcho,
    ReadWatermark,
)
from shared.domain.message import Attachment, DeliveryStatus

OBJECTS = {"page": Channel.messenger, "instagram": Channel.instagram}
_KINDS = {Channel.messenger: IdentityKind.messenger, Channel.instagram: IdentityKind.instagram}
# Meta attachment type -> Guichet content type; the MIME family goes on the Attachment so the
# UI can pick a viewer before the processor downloads the file.
_ATTACHMENT_TYPES = {
    "image": ("image", "image/*"),
    "video": ("video", "video/*"),
    "audio": ("audio", "audio/*"),
    "file": ("document", None),
    "reel": ("video", "video/*"),
    "ig_reel": ("video", "video/*"),
}


def dedup_key(channel: Channel, mid: str) -> str:
    """``messenger:<mid>`` / ``instagram:<mid>`` for customer messages."""
    return f"{channel.value}:{mid}"


def receipt_dedup_key(channel: Channel, kind: str, sender: str, mark: str) -> str:
    """``<channel>:<kind>:<sender>:<watermark or mid>`` for delivery/read receipts."""
    return f"{channel.value}:{kind}:{sender}:{mark}"


def event_dedup_key(channel: Channel, kind: str, mid: str) -> str:
    """``<channel>:echo:<mid>`` and ``instagram:deleted:<mid>``: same mid as another event."""
    return f"{channel.value}:{kind}:{mid}"


def parse(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundEvent]:
    """The processor's entry point. ``fallback_dedup`` is unused: every event has a provider key."""
    return parse_body(envelope_json(envelope.payload, "messenger"), received_at=envelope.received_at)


def parse_body(body: JsonObject, *, received_at: datetime) -> list[InboundEvent]:
    """Every item of every ``entry[].messaging[]`` (and Instagram's ``changes[]`` of field messages).

    Events Guichet does not use (optins, referrals, handover, policy notices) are skipped.
    ``received_at`` dates an item that carries no timestamp of its own and no ``entry.time``.
    """
    kind = opt_str(body, "object", "messenger")
    channel = OBJECTS.get(kind or "")
    if channel is None:
        raise ChannelPayloadError("messenger: object is not page or instagram")
    events: list[InboundEvent] = []
    for e, raw_entry in enumerate(req_list(body, "entry", "messenger")):
        ew = f"messenger.entry[{e}]"
        entry = as_obj(raw_entry, ew)
        entry_time = from_unix_millis(entry["time"], f"{ew}.time") if entry.get("time") else received_at
        items = [(f"{ew}.messaging[{i}]", item) for i, item in enumerate(opt_list(entry, "messaging", ew))]
        # Instagram API with Instagram Login delivers the same item under changes[].value.
        for c, raw_change in enumerate(opt_list(entry, "changes", ew)):
            change = as_obj(raw_change, f"{ew}.changes[{c}]")
            if change.get("field") == "messages" and isinstance(change.get("value"), dict):
                items.append((f"{ew}.changes[{c}].value", change["value"]))
        for where, raw_item in items:
            event = _item(as_obj(raw_item, where), where, channel, entry_time)
            if event is not None:
                events.append(event)
    return events


def _item(item: JsonObject, where: str, channel: Channel, default_at: datetime) -> InboundEvent | None:
    sender = req_str(req_obj(item, "sender", where), "id", f"{where}.sender")
    recipient_obj = opt_obj(item, "recipient", where)
    recipient = opt_str(recipient_obj, "id", f"{where}.recipient") if recipient_obj else None
    at = from_unix_millis(item["timestamp"], f"{where}.timestamp") if item.get("timestamp") else default_at
    message = opt_obj(item, "message", where)
    if message is not None:
        if message.get("is_echo"):
            return _echo(message, f"{where}.message", channel=channel, recipient=recipient, at=at)
        return _message(
            message, f"{where}.message", channel=channel, sender=sender, recipient=recipient, at=at
        )
    postback = opt_obj(item, "postback", where)
    if postback is not None:
        return _postback(
            postback, f"{where}.postback", channel=channel, sender=sender, recipient=recipient, at=at
        )
    reaction = opt_obj(item, "reaction", where)
    if reaction is not None:
        return _reaction(
            reaction, f"{where}.reaction", channel=channel, sender=sender, recipient=recipient, at=at
        )
    delivery = opt_obj(item, "delivery", where)
    if delivery is not None:
        return _receipt(
            delivery,
            f"{where}.delivery",
            channel=channel,
            sender=sender,
            status=DeliveryStatus.delivered,
            at=at,
        )
    read = opt_obj(item, "read", where)
    if read is not None:
        return _receipt(
            read, f"{where}.read", channel=channel, sender=sender, status=DeliveryStatus.read, at=at
        )
    return None


def _customer(channel: Channel, value: str, where: str) -> IdentityClaim:
    identity = claim(_KINDS[channel], value)
    if identity is None:
        raise ChannelPayloadError(f"{where} is not a usable id")
    return identity


def _attachments(message: JsonObject, where: str) -> tuple[list[Attachment], str | None]:
    """Attachments with their URL, and the content type the first one gives the message."""
    attachments: list[Attachment] = []
    first_type: str | None = None
    for i, raw in enumerate(opt_list(message, "attachments", where)):
        aw = f"{where}.attachments[{i}]"
        item = as_obj(raw, aw)
        kind = opt_str(item, "type", aw) or "unknown"
        payload = opt_obj(item, "payload", aw) or {}
        content_type, mime = _ATTACHMENT_TYPES.get(kind, ("unsupported", None))
        first_type = first_type or (content_type if content_type != "unsupported" else kind)
        attachments.append(
            Attachment(
                name=opt_str(payload, "title", f"{aw}.payload"),
                content_type=mime,
                url=opt_str(payload, "url", f"{aw}.payload"),
            )
        )
    return attachments, first_type


def _message(
    message: JsonObject, where: str, *, channel: Channel, sender: str, recipient: str | None, at: datetime
) -> InboundMessage:
    mid = req_str(message, "mid", where)
    metadata: dict[str, str] = {}
    if recipient:
        metadata["account_id"] = recipient
    key = dedup_key(channel, mid)
    text = opt_str(message, "text", where) or ""
    attachments, first_type = _attachments(message, where)
    content_type = "text"
    raw_type: str | None = None
    if message.get("is_deleted"):
        # The customer unsent an Instagram message: same mid as the original, so its own key.
        content_type, raw_type = "unsupported", "is_deleted"
        key = event_dedup_key(channel, "deleted", mid)
    elif message.get("is_unsupported"):
        content_type, raw_type = "unsupported", "is_unsupported"
    elif not text and first_type is not None:
        content_type = first_type
        if first_type not in ("image", "video", "audio", "document"):
            content_type, raw_type = "unsupported", first_type
    elif not text:
        content_type, raw_type = "unsupported", "empty"
    quick_reply = opt_obj(message, "quick_reply", where)
    if quick_reply is not None:
        payload = opt_str(quick_reply, "payload", f"{where}.quick_reply")
        if payload:
            metadata["quick_reply_payload"] = payload
    reply_to = opt_obj(message, "reply_to", where)
    reply_mid = opt_str(reply_to, "mid", f"{where}.reply_to") if reply_to else None
    story = opt_obj(reply_to, "story", f"{where}.reply_to") if reply_to else None
    if story is not None:
        story_url = opt_str(story, "url", f"{where}.reply_to.story")
        if story_url:
            metadata["story_url"] = story_url
    return InboundMessage(
        dedup_key=key,
        channel=channel,
        identities=[_customer(channel, sender, f"{where} sender.id")],
        text=text,
        content_type=content_type,
        raw_type=raw_type,
        attachments=attachments,
        provider_ids={"mid": mid},
        reply_to_provider_id=reply_mid,
        metadata=metadata,
        sent_at=at,
    )


def _echo(
    message: JsonObject, where: str, *, channel: Channel, recipient: str | None, at: datetime
) -> OutboundEcho:
    """What the page/account sent (from Guichet, the Page inbox or another tool)."""
    mid = req_str(message, "mid", where)
    if not recipient:
        raise ChannelPayloadError(f"{where}: an echo without recipient.id")
    attachments, _ = _attachments(message, where)
    return OutboundEcho(
        dedup_key=event_dedup_key(channel, "echo", mid),
        channel=channel,
        provider_message_id=mid,
        recipient=_customer(channel, recipient, f"{where} recipient.id"),
        text=opt_str(message, "text", where) or "",
        attachments=attachments,
        app_id=opt_str(message, "app_id", where),
        sent_at=at,
    )


def _postback(
    postback: JsonObject, where: str, *, channel: Channel, sender: str, recipient: str | None, at: datetime
) -> InboundMessage:
    """A tapped button: its title is what the customer "said", its payload goes to metadata."""
    mid = opt_str(postback, "mid", where)
    payload = opt_str(postback, "payload", where)
    millis = str(int(at.timestamp() * 1000))
    key = dedup_key(channel, mid) if mid else receipt_dedup_key(channel, "postback", sender, millis)
    metadata = {"postback_payload": payload} if payload else {}
    if recipient:
        metadata["account_id"] = recipient
    return InboundMessage(
        dedup_key=key,
        channel=channel,
        identities=[_customer(channel, sender, f"{where} sender.id")],
        text=opt_str(postback, "title", where) or "",
        content_type="interactive",
        raw_type="postback",
        provider_ids={"mid": mid} if mid else {},
        metadata=metadata,
        sent_at=at,
    )


def _reaction(
    reaction: JsonObject, where: str, *, channel: Channel, sender: str, recipient: str | None, at: datetime
) -> InboundMessage:
    mid = req_str(reaction, "mid", where)
    action = opt_str(reaction, "action", where) or "react"
    emoji = opt_str(reaction, "emoji", where) or ""
    metadata = {"reaction_action": action}
    if recipient:
        metadata["account_id"] = recipient
    return InboundMessage(
        dedup_key=receipt_dedup_key(
            channel, "reaction", sender, f"{mid}:{action}:{int(at.timestamp() * 1000)}"
        ),
        channel=channel,
        identities=[_customer(channel, sender, f"{where} sender.id")],
        text=emoji if action == "react" else "",
        content_type="reaction",
        reply_to_provider_id=mid,
        metadata=metadata,
        sent_at=at,
    )


def _receipt(
    receipt: JsonObject, where: str, *, channel: Channel, sender: str, status: DeliveryStatus, at: datetime
) -> ReadWatermark | DeliveryStatusUpdate | None:
    """Messenger: a watermark (all messages up to it). Instagram ``messaging_seen``: one mid."""
    customer = _customer(channel, sender, f"{where} sender.id")
    kind = "delivery" if status is DeliveryStatus.delivered else "read"
    watermark: Any = receipt.get("watermark")
    if watermark is not None:
        mids = [m for m in opt_list(receipt, "mids", where) if isinstance(m, str)]
        return ReadWatermark(
            dedup_key=receipt_dedup_key(channel, kind, sender, str(opt_str(receipt, "watermark", where))),
            channel=channel,
            recipient=customer,
            status=status,
            watermark=from_unix_millis(watermark, f"{where}.watermark"),
            mids=mids,
        )
    mid = opt_str(receipt, "mid", where)
    if mid:
        return DeliveryStatusUpdate(
            dedup_key=receipt_dedup_key(channel, kind, sender, mid),
            channel=channel,
            provider_message_id=mid,
            status=status,
            at=at,
            recipient=customer,
        )
    return None
