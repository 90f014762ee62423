"""Twilio webhooks (SMS, WhatsApp via Twilio, status and voice callbacks): signature and parsers.

The signature check (twilio-python's ``RequestValidator`` algorithm) lives in ``signatures``
so a webhook can import it without the domain; it is re-exported here under the same names.
Nothing Twilio signs carries a time: dedup keys are built from the SIDs plus the status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from shared.adapters.channels.claims import claim, unique_claims
from shared.adapters.channels.errors import ChannelPayloadError
from shared.adapters.channels.signatures import (
    TwilioParams,
    compute_twilio_signature,
    parse_form,
    verify_twilio_signature,
)
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import (
    CallRecord,
    DeliveryStatusUpdate,
    IdentityClaim,
    InboundEnvelope,
    InboundEvent,
    InboundMessage,
)
from shared.domain.message import Attachment, DeliveryStatus

__all__ = [
    "SIGNATURE_HEADER",
    "TwilioParams",
    "compute_twilio_signature",
    "envelope_params",
    "parse",
    "parse_call_status",
    "parse_form",
    "parse_inbound_message",
    "parse_message_status",
    "parse_params",
    "verify_twilio_signature",
]

SIGNATURE_HEADER = "X-Twilio-Signature"

# Twilio's message statuses -> Guichet's. Everything before delivery means "Twilio has it".
_MESSAGE_STATUSES = {
    "accepted": DeliveryStatus.sent,
    "scheduled": DeliveryStatus.sent,
    "queued": DeliveryStatus.sent,
    "sending": DeliveryStatus.sent,
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "partially_delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read,
    "undelivered": DeliveryStatus.failed,
    "failed": DeliveryStatus.failed,
    "canceled": DeliveryStatus.failed,
}
_INBOUND_STATUSES = ("received", "receiving")
_MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


# --- parsers --------------------------------------------------------------------------------


def message_dedup_key(message_sid: str) -> str:
    return f"twilio:{message_sid}"


def status_dedup_key(message_sid: str, status: str) -> str:
    return f"twilio:{message_sid}:{status}"


def call_dedup_key(call_sid: str, call_status: str, sequence: str | None) -> str:
    return f"twilio:{call_sid}:{call_status}:{sequence if sequence is not None else '-'}"


def envelope_params(payload: Mapping[str, object]) -> dict[str, str]:
    """One value per name, from ``payload["params"]`` if the webhook gave them, else the body.

    Form bodies are parsed; a JSON body (``bodySHA256`` callbacks) is read as a flat object.
    """
    if "eventbridge" in payload:
        raise ChannelPayloadError("twilio: an EventBridge event; Amazon Connect goes to connect.parse")
    raw_params = payload.get("params")
    if isinstance(raw_params, Mapping) and raw_params:
        return _flatten(raw_params)
    body = payload.get("body")
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", errors="replace")
    if not isinstance(body, str):
        raise ChannelPayloadError("twilio: no params and no body")
    content_type = payload.get("content_type")
    if isinstance(content_type, str) and "json" in content_type.lower():
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise ChannelPayloadError("twilio: the body is not JSON") from exc
        if not isinstance(value, dict):
            raise ChannelPayloadError("twilio: the body is not a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return {name: values[0] for name, values in parse_form(body.strip()).items() if values}


def _flatten(params: Mapping[object, object]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, str):
            flat[str(name)] = value
        elif isinstance(value, Sequence) and value and isinstance(value[0], str):
            flat[str(name)] = value[0]
    return flat


def parse(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundEvent]:
    """The processor's entry point: one Twilio request is one event (or none if irrelevant).

    The kind is read from the parameters, not from the URL, so one queue serves every Twilio
    webhook. ``fallback_dedup`` is unused: every kind has a SID.
    """
    event = parse_params(envelope_params(envelope.payload), received_at=envelope.received_at)
    return [event] if event is not None else []


def parse_params(params: Mapping[str, str], *, received_at: datetime) -> InboundEvent | None:
    """A voice status callback, a message status callback, or an inbound message.

    ``received_at`` dates events whose parameters carry no timestamp (Twilio sends none with
    messages). Unknown message statuses yield None rather than an error.
    """
    if params.get("CallSid") and params.get("CallStatus") and not params.get("MessageSid"):
        return parse_call_status(params, received_at=received_at)
    status = (params.get("MessageStatus") or "").lower()
    if status and status not in _INBOUND_STATUSES:
        return parse_message_status(params, received_at=received_at)
    if _message_sid(params):
        return parse_inbound_message(params, received_at=received_at)
    raise ChannelPayloadError("twilio: neither a message (MessageSid) nor a call (CallSid, CallStatus)")


def _message_sid(params: Mapping[str, str]) -> str | None:
    # SmsMessageSid and SmsSid are deprecated duplicates of MessageSid.
    return params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or None


def _address(value: str | None) -> tuple[Channel, str]:
    """``whatsapp:+336…`` -> (whatsapp, "+336…"); ``messenger:<psid>``; otherwise an SMS number."""
    raw = (value or "").strip()
    prefix, sep, rest = raw.partition(":")
    if sep and prefix.lower() == "whatsapp":
        return Channel.whatsapp, rest
    if sep and prefix.lower() == "messenger":
        return Channel.messenger, rest
    if sep and prefix.lower() in ("rcs", "sms", "tel"):
        return Channel.sms, rest
    return Channel.sms, raw


def _claims_for(channel: Channel, address: str, wa_id: str | None = None) -> list[IdentityClaim]:
    if channel is Channel.whatsapp:
        return unique_claims(
            claim(IdentityKind.whatsapp, wa_id or address), claim(IdentityKind.phone, address)
        )
    if channel is Channel.messenger:
        return unique_claims(claim(IdentityKind.messenger, address))
    return unique_claims(claim(IdentityKind.phone, address))


def parse_inbound_message(params: Mapping[str, str], *, received_at: datetime) -> InboundMessage:
    """An SMS or WhatsApp message sent to one of our Twilio numbers."""
    sid = _message_sid(params)
    if not sid:
        raise ChannelPayloadError("twilio: MessageSid is missing")
    channel, sender = _address(params.get("From"))
    identities = _claims_for(channel, sender, params.get("WaId"))
    if not identities:
        raise ChannelPayloadError("twilio: From is not a usable address")
    attachments = _media(params)
    message_type = (params.get("MessageType") or "").lower() or None
    text = params.get("Body") or ""
    metadata: dict[str, str] = {}
    _, ours = _address(params.get("To"))
    for key, value in (
        ("to", ours),
        ("account_sid", params.get("AccountSid")),
        ("messaging_service_sid", params.get("MessagingServiceSid")),
        ("from_country", params.get("FromCountry")),
    ):
        if value:
            metadata[key] = value
    raw_type: str | None = None
    if attachments:
        content_type = message_type if message_type in _MEDIA_TYPES else _media_kind(attachments[0])
    elif message_type in (None, "text"):
        content_type = "text"
    elif message_type == "location":
        content_type = "location"
        text = text or _location(params, metadata)
    elif message_type in ("button", "interactive"):
        content_type, raw_type = "interactive", message_type
        text = params.get("ButtonText") or params.get("ListTitle") or text
        reply_id = params.get("ButtonPayload") or params.get("ListId")
        if reply_id:
            metadata["reply_id"] = reply_id
    else:
        content_type, raw_type = "unsupported", message_type
    return InboundMessage(
        dedup_key=message_dedup_key(sid),
        channel=channel,
        identities=identities,
        display_name=params.get("ProfileName") or None,
        text=text,
        content_type=content_type,
        raw_type=raw_type,
        attachments=attachments,
        provider_ids={"message_sid": sid},
        reply_to_provider_id=params.get("OriginalRepliedMessageSid") or None,
        metadata=metadata,
        sent_at=received_at,
    )


def _media(params: Mapping[str, str]) -> list[Attachment]:
    """``MediaUrl{N}``/``MediaContentType{N}``, in N order (every N present, whatever NumMedia says)."""
    indexes = sorted(int(k[8:]) for k in params if k.startswith("MediaUrl") and k[8:].isdigit())
    return [
        Attachment(url=params[f"MediaUrl{n}"], content_type=params.get(f"MediaContentType{n}") or None)
        for n in indexes
        if params[f"MediaUrl{n}"]
    ]


def _media_kind(attachment: Attachment) -> str:
    family = (attachment.content_type or "").split("/")[0].lower()
    return family if family in ("image", "video", "audio") else "document"


def _location(params: Mapping[str, str], metadata: dict[str, str]) -> str:
    latitude, longitude = params.get("Latitude"), params.get("Longitude")
    parts = [p for p in (params.get("Label"), params.get("Address")) if p]
    if latitude and longitude:
        metadata["latitude"], metadata["longitude"] = latitude, longitude
        parts.append(f"({latitude}, {longitude})")
    return ", ".join(parts)


def _timestamp(params: Mapping[str, str], received_at: datetime) -> datetime:
    """Twilio's RFC 2822 ``Timestamp`` when present (voice), else when the webhook received it."""
    value = params.get("Timestamp")
    if value:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return received_at
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return received_at


def parse_message_status(params: Mapping[str, str], *, received_at: datetime) -> DeliveryStatusUpdate | None:
    """A status callback for a message Guichet sent; the customer is ``To``."""
    sid = _message_sid(params)
    if not sid:
        raise ChannelPayloadError("twilio: MessageSid is missing")
    raw_status = (params.get("MessageStatus") or "").lower()
    status = _MESSAGE_STATUSES.get(raw_status)
    if status is None:
        return None
    channel, customer = _address(params.get("To"))
    if channel is Channel.sms:
        channel = _address(params.get("From"))[0]
    recipients = _claims_for(channel, customer)
    error = None
    code = params.get("ErrorCode")
    if code:
        message = params.get("ErrorMessage")
        error = f"{code}: {message}" if message else code
    return DeliveryStatusUpdate(
        dedup_key=status_dedup_key(sid, raw_status),
        channel=channel,
        provider_message_id=sid,
        status=status,
        at=_timestamp(params, received_at),
        error=error,
        recipient=recipients[0] if recipients else None,
    )


def parse_call_status(params: Mapping[str, str], *, received_at: datetime) -> CallRecord:
    """A voice status callback. The customer is ``From`` on inbound calls, ``To`` on outbound."""
    call_sid = params.get("CallSid")
    call_status = (params.get("CallStatus") or "").lower()
    if not call_sid or not call_status:
        raise ChannelPayloadError("twilio: CallSid or CallStatus is missing")
    raw_direction = (params.get("Direction") or "inbound").lower()
    direction = "outbound" if raw_direction.startswith("outbound") else "inbound"
    customer = params.get("From") if direction == "inbound" else params.get("To")
    sequence = params.get("SequenceNumber") or None
    return CallRecord(
        dedup_key=call_dedup_key(call_sid, call_status, sequence),
        provider="twilio",
        provider_call_id=call_sid,
        direction=direction,
        status=call_status,
        caller=claim(IdentityKind.phone, _address(customer)[1]) if customer else None,
        duration_s=_int(params.get("CallDuration")),
        recording_url=params.get("RecordingUrl") or None,
        at=_timestamp(params, received_at),
        sequence=_int(sequence),
    )


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ChannelPayloadError("twilio: a numeric field is not a number") from exc
