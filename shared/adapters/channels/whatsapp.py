"""WhatsApp Business Cloud API webhooks -> normalised inbound events (pure, no I/O).

One delivery can batch several entries, changes, messages and statuses: every one becomes an
event. Message types Guichet does not understand become ``content_type="unsupported"`` with
the provider's ``raw_type`` (never an error), so nothing a customer sends is silently lost.
Media arrive as ids with no URL; the processor resolves ``provider_media_id`` through Graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.adapters.channels.claims import claim, unique_claims
from shared.adapters.channels.errors import (
    ChannelPayloadError,
    JsonObject,
    as_obj,
    envelope_json,
    from_unix_seconds,
    opt_list,
    opt_obj,
    opt_str,
    req_list,
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
)
from shared.domain.message import Attachment, DeliveryStatus

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_STATUSES = {
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read,
    "failed": DeliveryStatus.failed,
}


def dedup_key(wamid: str) -> str:
    return f"whatsapp:{wamid}"


def status_dedup_key(wamid: str, status: str) -> str:
    return f"whatsapp:{wamid}:{status}"


def parse(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundEvent]:
    """The processor's entry point. ``fallback_dedup`` is unused: every event has a wamid."""
    return parse_body(envelope_json(envelope.payload, "whatsapp"), received_at=envelope.received_at)


def parse_body(body: JsonObject, *, received_at: datetime) -> list[InboundEvent]:
    """Every message and status of every ``entry[].changes[]`` whose field is ``messages``.

    Other fields (template status, account updates) are not customer traffic: ignored.
    ``received_at`` is unused today (every WhatsApp event carries its own timestamp) and kept
    so all channel parsers share one shape.
    """
    if opt_str(body, "object", "whatsapp") != OBJECT:
        raise ChannelPayloadError("whatsapp: object is not whatsapp_business_account")
    events: list[InboundEvent] = []
    for e, raw_entry in enumerate(req_list(body, "entry", "whatsapp")):
        entry = as_obj(raw_entry, f"whatsapp.entry[{e}]")
        waba_id = opt_str(entry, "id", f"whatsapp.entry[{e}]")
        for c, raw_change in enumerate(opt_list(entry, "changes", f"whatsapp.entry[{e}]")):
            where = f"whatsapp.entry[{e}].changes[{c}]"
            change = as_obj(raw_change, where)
            if change.get("field", "messages") != "messages":
                continue
            value = opt_obj(change, "value", where)
            if value is not None:
                events.extend(_parse_value(value, f"{where}.value", waba_id))
    return events


def _parse_value(value: JsonObject, where: str, waba_id: str | None) -> list[InboundEvent]:
    metadata: dict[str, str] = {}
    meta = opt_obj(value, "metadata", where)
    if meta is not None:
        for key in ("phone_number_id", "display_phone_number"):
            text = opt_str(meta, key, f"{where}.metadata")
            if text:
                metadata[key] = text
    if waba_id:
        metadata["waba_id"] = waba_id
    contacts = [as_obj(c, f"{where}.contacts[{i}]") for i, c in enumerate(opt_list(value, "contacts", where))]
    events: list[InboundEvent] = []
    for m, raw in enumerate(opt_list(value, "messages", where)):
        events.append(
            _message(as_obj(raw, f"{where}.messages[{m}]"), f"{where}.messages[{m}]", contacts, metadata)
        )
    for s, raw in enumerate(opt_list(value, "statuses", where)):
        update = _status(as_obj(raw, f"{where}.statuses[{s}]"), f"{where}.statuses[{s}]")
        if update is not None:
            events.append(update)
    return events


def _contact_for(message: JsonObject, contacts: list[JsonObject], where: str) -> JsonObject | None:
    """The contact that sent ``message``: by wa_id or BSUID, or the only one in the batch."""
    sender = opt_str(message, "from", where)
    sender_user = opt_str(message, "from_user_id", where)
    for contact in contacts:
        if sender and contact.get("wa_id") == sender:
            return contact
        if sender_user and contact.get("user_id") == sender_user:
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _wa_claim(value: str | None) -> IdentityClaim | None:
    """A WhatsApp recipient/sender id: a BSUID (``US.1349…``) or a wa_id (a phone without +)."""
    if value and "." in value:
        return claim(IdentityKind.whatsapp_user, value)
    return claim(IdentityKind.whatsapp, value)


def _message(
    message: JsonObject, where: str, contacts: list[JsonObject], metadata: dict[str, str]
) -> InboundMessage:
    wamid = req_str(message, "id", where)
    sent_at = from_unix_seconds(message.get("timestamp"), f"{where}.timestamp")
    contact = _contact_for(message, contacts, where)
    wa_id = opt_str(contact, "wa_id", "contact") if contact else None
    user_id = opt_str(contact, "user_id", "contact") if contact else None
    sender = opt_str(message, "from", where)
    wa_id = wa_id or (sender if sender and "." not in sender else None)
    user_id = (
        user_id or opt_str(message, "from_user_id", where) or (sender if sender and "." in sender else None)
    )
    # Lookup order: the wa_id (what existing customers are keyed on), the BSUID (stable when
    # the user hides the phone behind a username), then the phone itself to meet SMS and calls.
    identities = unique_claims(
        claim(IdentityKind.whatsapp, wa_id),
        claim(IdentityKind.whatsapp_user, user_id),
        claim(IdentityKind.phone, wa_id),
    )
    if not identities:
        raise ChannelPayloadError(f"{where} has no usable sender (wa_id or user_id)")
    profile = opt_obj(contact, "profile", "contact") if contact else None
    display_name = opt_str(profile, "name", "contact.profile") if profile else None

    info = dict(metadata)
    username = opt_str(profile, "username", "contact.profile") if profile else None
    if username:
        info["username"] = username
    context = opt_obj(message, "context", where)
    reply_to = opt_str(context, "id", f"{where}.context") if context else None
    if context and context.get("forwarded"):
        info["forwarded"] = "true"

    kind = opt_str(message, "type", where) or "unknown"
    text, content_type, attachments = _content(message, kind, where, info)
    if kind == "reaction":
        reaction = opt_obj(message, "reaction", where) or {}
        reply_to = opt_str(reaction, "message_id", f"{where}.reaction") or reply_to
    return InboundMessage(
        dedup_key=dedup_key(wamid),
        channel=Channel.whatsapp,
        identities=identities,
        display_name=display_name,
        text=text,
        content_type=content_type,
        raw_type=kind if content_type in ("unsupported", "interactive") else None,
        attachments=attachments,
        provider_ids={"wamid": wamid},
        reply_to_provider_id=reply_to,
        metadata=info,
        sent_at=sent_at,
    )


def _content(
    message: JsonObject, kind: str, where: str, info: dict[str, str]
) -> tuple[str, str, list[Attachment]]:
    """(text, content_type, attachments) for one message; unknown types -> "unsupported"."""
    raw_body = message.get(kind)
    body: JsonObject | None = raw_body if isinstance(raw_body, Mapping) else None
    if kind == "text" and body is not None:
        return opt_str(body, "body", f"{where}.text") or "", "text", []
    if kind in MEDIA_TYPES and body is not None:
        media_where = f"{where}.{kind}"
        sha = opt_str(body, "sha256", media_where)
        if sha:
            info["media_sha256"] = sha
        if body.get("voice"):
            info["voice"] = "true"
        attachment = Attachment(
            name=opt_str(body, "filename", media_where),
            content_type=opt_str(body, "mime_type", media_where),
            provider_media_id=req_str(body, "id", media_where),
        )
        return opt_str(body, "caption", media_where) or "", kind, [attachment]
    if kind == "location" and body is not None:
        return _location(body, f"{where}.location", info), "location", []
    if kind == "interactive" and body is not None:
        return _interactive(body, f"{where}.interactive", info), "interactive", []
    if kind == "button" and body is not None:  # quick-reply button of a template
        payload = opt_str(body, "payload", f"{where}.button")
        if payload:
            info["reply_id"] = payload
        return opt_str(body, "text", f"{where}.button") or "", "interactive", []
    if kind == "reaction" and body is not None:
        # An empty emoji means the customer removed their reaction.
        return opt_str(body, "emoji", f"{where}.reaction") or "", "reaction", []
    return _unsupported_text(message, kind, body, where, info), "unsupported", []


def _location(body: JsonObject, where: str, info: dict[str, str]) -> str:
    latitude = opt_str(body, "latitude", where)
    longitude = opt_str(body, "longitude", where)
    if latitude and longitude:
        info["latitude"] = latitude
        info["longitude"] = longitude
    parts = [p for p in (opt_str(body, "name", where), opt_str(body, "address", where)) if p]
    if latitude and longitude:
        parts.append(f"({latitude}, {longitude})")
    return ", ".join(parts)


def _interactive(body: JsonObject, where: str, info: dict[str, str]) -> str:
    """The customer's choice: the title they tapped (button or list row) is the text."""
    reply_type = opt_str(body, "type", where) or ""
    reply = opt_obj(body, reply_type, where) if reply_type and reply_type in body else None
    if reply is None:
        return ""
    reply_id = opt_str(reply, "id", f"{where}.{reply_type}")
    if reply_id:
        info["reply_id"] = reply_id
    title = opt_str(reply, "title", f"{where}.{reply_type}") or opt_str(
        reply, "body", f"{where}.{reply_type}"
    )
    return title or ""


def _unsupported_text(
    message: JsonObject, kind: str, body: Mapping[str, Any] | None, where: str, info: dict[str, str]
) -> str:
    """Keep what an agent can read of a type Guichet does not handle (system notes, errors)."""
    if kind == "system" and body is not None:
        new_wa_id = opt_str(body, "wa_id", f"{where}.system")
        if new_wa_id:
            info["new_wa_id"] = new_wa_id
        return opt_str(body, "body", f"{where}.system") or ""
    errors = opt_list(message, "errors", where)
    if errors and isinstance(errors[0], Mapping):
        title = opt_str(errors[0], "title", f"{where}.errors[0]") or opt_str(
            errors[0], "message", f"{where}.errors[0]"
        )
        if title:
            info["error"] = title
    return ""


def _status(status: JsonObject, where: str) -> DeliveryStatusUpdate | None:
    """A ``statuses[]`` item; statuses Guichet does not track (e.g. ``deleted``) yield None."""
    wamid = req_str(status, "id", where)
    raw_status = req_str(status, "status", where)
    mapped = _STATUSES.get(raw_status)
    if mapped is None:
        return None
    recipient = _wa_claim(opt_str(status, "recipient_id", where)) or claim(
        IdentityKind.whatsapp_user, opt_str(status, "recipient_user_id", where)
    )
    return DeliveryStatusUpdate(
        dedup_key=status_dedup_key(wamid, raw_status),
        channel=Channel.whatsapp,
        provider_message_id=wamid,
        status=mapped,
        at=from_unix_seconds(status.get("timestamp"), f"{where}.timestamp"),
        error=_error_text(opt_list(status, "errors", where), where),
        recipient=recipient,
    )


def _error_text(errors: list[Any], where: str) -> str | None:
    """``131047 Re-engagement message: <details>`` for each error, joined with "; "."""
    texts = []
    for i, raw in enumerate(errors):
        error = as_obj(raw, f"{where}.errors[{i}]")
        ew = f"{where}.errors[{i}]"
        code = opt_str(error, "code", ew)
        title = opt_str(error, "title", ew) or opt_str(error, "message", ew)
        data = opt_obj(error, "error_data", ew)
        details = opt_str(data, "details", f"{ew}.error_data") if data else None
        head = " ".join(p for p in (code, title) if p)
        texts.append(f"{head}: {details}" if details and head else head or details or "")
    joined = "; ".join(t for t in texts if t)
    return joined or None
