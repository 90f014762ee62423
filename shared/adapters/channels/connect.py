"""Amazon Connect contact events (EventBridge) -> CallRecord for finished or missed voice calls.

Connect delivers "best effort", unordered and possibly twice, and the AWS samples mix key
casing (``eventType``/``EventType``, ``VOICE``/``Voice``), so keys are read without regard to
case. The caller's number is not in the event: it is taken from ``customerEndpoint`` or a
contact attribute when the flow set one, else the record has no caller (DescribeContact, an
API call, is the processor's business, not this pure parser's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.channels.claims import claim
from shared.adapters.channels.errors import ChannelPayloadError, envelope_json, from_iso
from shared.domain.identity import IdentityKind
from shared.domain.inbound import CallRecord, InboundEnvelope, InboundEvent

DETAIL_TYPE = "amazon connect contact event"
FINAL_EVENTS = ("disconnected", "completed")
# Contact attributes a flow may set with the caller's number ($.CustomerEndpoint.Address).
DEFAULT_CALLER_ATTRIBUTES = ("customernumber", "customer_number", "customerphone", "callernumber", "caller")
_OUTBOUND = ("outbound", "api", "callback", "agent_reply", "campaign")


def _ci(value: Any) -> Any:
    """The same JSON with every object key lowercased (values untouched)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): _ci(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ci(v) for v in value]
    return value


def dedup_key(event_id: str | None, contact_id: str, event_type: str) -> str:
    """``connect:<EventBridge event id>``, else ``connect:<contactId>:<EVENTTYPE>``."""
    return f"connect:{event_id}" if event_id else f"connect:{contact_id}:{event_type.upper()}"


def parse(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundEvent]:
    """The processor's entry point; the payload is the event, ``{"eventbridge": event}`` or a body.

    ``fallback_dedup`` is unused: an event always has its id or, failing that, a contact id.
    """
    payload = envelope.payload
    event = payload.get("eventbridge") if isinstance(payload.get("eventbridge"), Mapping) else None
    record = parse_contact_event(event if event is not None else envelope_json(payload, "connect"))
    return [record] if record is not None else []


def parse_contact_event(
    event: Mapping[str, Any], *, caller_attributes: Sequence[str] = DEFAULT_CALLER_ATTRIBUTES
) -> CallRecord | None:
    """A CallRecord for a voice contact that ended (DISCONNECTED, or COMPLETED after ACW).

    Other event types and other channels (chat, task, email) yield None. A call that was
    queued but never reached an agent is ``no-answer`` (a missed call, so a call-back);
    one that ended in the IVR without queueing is ``completed`` (self-service or hang-up).
    """
    data = _ci(event)
    detail_type = str(data.get("detail-type") or "").lower()
    if detail_type and detail_type != DETAIL_TYPE:
        return None
    detail = data.get("detail")
    if not isinstance(detail, Mapping):
        raise ChannelPayloadError("connect: the event has no detail object")
    event_type = str(detail.get("eventtype") or "").lower()
    channel = str(detail.get("channel") or "voice").lower()
    if event_type not in FINAL_EVENTS or channel != "voice":
        return None
    contact_id = detail.get("contactid")
    if not isinstance(contact_id, str) or not contact_id:
        raise ChannelPayloadError("connect: detail.contactId is missing")
    direction = "outbound" if str(detail.get("initiationmethod") or "").lower() in _OUTBOUND else "inbound"
    agent = detail.get("agentinfo")
    connected_at = (
        _time(agent.get("connectedtoagenttimestamp"), "agentInfo") if isinstance(agent, Mapping) else None
    )
    queue = detail.get("queueinfo")
    queued = isinstance(queue, Mapping) and bool(queue.get("enqueuetimestamp") or queue.get("queuearn"))
    status = (
        "completed" if connected_at is not None or (not queued and direction == "inbound") else "no-answer"
    )
    ended_at = _time(detail.get("disconnecttimestamp"), "disconnectTimestamp")
    answered_at = _time(detail.get("connectedtosystemtimestamp"), "connectedToSystemTimestamp") or _time(
        detail.get("initiationtimestamp"), "initiationTimestamp"
    )
    at = ended_at or _time(data.get("time"), "time")
    if at is None:
        raise ChannelPayloadError("connect: neither detail.disconnectTimestamp nor time")
    duration = None
    if ended_at is not None and answered_at is not None:
        duration = max(0, round((ended_at - answered_at).total_seconds()))
    event_id = data.get("id") if isinstance(data.get("id"), str) else None
    return CallRecord(
        dedup_key=dedup_key(event_id, contact_id, event_type),
        provider="connect",
        provider_call_id=contact_id,
        direction=direction,
        status=status,
        caller=claim(IdentityKind.phone, _caller_number(detail, caller_attributes)),
        duration_s=duration,
        at=at,
    )


def _time(value: Any, name: str) -> datetime | None:
    return from_iso(value, f"connect: {name}") if isinstance(value, str) and value else None


def _caller_number(detail: Mapping[str, Any], attribute_names: Sequence[str]) -> str | None:
    """``customerEndpoint.address`` (a phone endpoint), else a contact attribute the flow set."""
    endpoint = detail.get("customerendpoint")
    if isinstance(endpoint, Mapping):
        address = endpoint.get("address")
        kind = str(endpoint.get("type") or "telephone_number").lower()
        if isinstance(address, str) and address and kind == "telephone_number":
            return address
    wanted = {name.lower() for name in attribute_names}
    for key in ("attributes", "contactattributes", "userdefinedattributes"):
        attributes = detail.get(key)
        if not isinstance(attributes, Mapping):
            continue
        for name, raw in attributes.items():
            if name not in wanted:
                continue
            value = raw.get("value") if isinstance(raw, Mapping) else raw  # {"value": "+33…"} shapes
            if isinstance(value, str) and value:
                return value
    return None
