"""Amazon Connect contact events -> CallRecord (finished and missed voice calls)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.adapters.channels import connect
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import CallRecord, IdentityClaim, InboundEnvelope
from tests.unit.channels.fixtures import RECEIVED_AT, envelope, sample_json

CONTACT = "11111111-1111-1111-1111-111111111111"


def _event(**detail_changes) -> dict:
    event = sample_json("connect_contact_event_disconnected.json")
    for key, value in detail_changes.items():
        if value is None:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event


def test_disconnected_sample():
    record = connect.parse_contact_event(sample_json("connect_contact_event_disconnected.json"))
    assert isinstance(record, CallRecord)
    assert record.dedup_key == "connect:3a3030ce-859f-fbc1-dcef-975a250de885"
    assert (record.provider, record.provider_call_id) == ("connect", CONTACT)
    assert (record.direction, record.status) == ("inbound", "completed")
    assert record.caller is None  # the number is not in the event
    assert record.at == datetime(2025, 6, 10, 12, 18, 37, tzinfo=UTC)
    assert record.duration_s == 344  # connected to the system 12:12:53, disconnected 12:18:37
    assert record.completed and not record.missed


@pytest.mark.parametrize(
    "payload",
    [
        lambda e: {"eventbridge": e},  # the router's wrapper
        lambda e: e,  # the event itself
        lambda e: {"body": json.dumps(e)},  # as a raw body
    ],
)
def test_parse_accepts_every_envelope_shape(payload):
    event = sample_json("connect_contact_event_disconnected.json")
    env = InboundEnvelope(
        channel=Channel.phone, received_at=RECEIVED_AT, reference="r", payload=payload(event)
    )
    [record] = connect.parse(env, "phone:sqs:1")
    assert record.provider_call_id == CONTACT


def test_queued_but_never_answered_is_a_missed_call():
    record = connect.parse_contact_event(_event(agentInfo=None))
    assert record is not None
    assert (record.status, record.missed) == ("no-answer", True)


def test_a_call_that_ends_in_the_ivr_is_not_missed():
    record = connect.parse_contact_event(_event(agentInfo=None, queueInfo=None))
    assert record is not None
    assert (record.status, record.missed) == ("completed", False)


def test_completed_after_contact_work_is_recorded_too():
    record = connect.parse_contact_event(_event(eventType="COMPLETED"))
    assert record is not None and record.status == "completed"


@pytest.mark.parametrize("event_type", ["INITIATED", "QUEUED", "CONNECTED_TO_AGENT", "CONTACT_DATA_UPDATED"])
def test_intermediate_events_are_ignored(event_type):
    assert connect.parse_contact_event(_event(eventType=event_type)) is None


def test_other_channels_and_detail_types_are_ignored():
    assert connect.parse_contact_event(_event(channel="CHAT")) is None
    other = sample_json("connect_contact_event_disconnected.json")
    other["detail-type"] = "Amazon Connect Agent Event"
    assert connect.parse_contact_event(other) is None
    env = envelope(Channel.phone, json.dumps(_event(channel="TASK")))
    assert connect.parse(env, "fb") == []


def test_keys_are_read_without_regard_to_case():
    event = sample_json("connect_contact_event_disconnected.json")
    detail = event.pop("detail")
    event["Detail"] = {k[0].upper() + k[1:]: v for k, v in detail.items()}
    event["Detail"]["Channel"] = "Voice"
    event["Detail"]["EventType"] = "Disconnected"
    record = connect.parse_contact_event(event)
    assert record is not None
    assert (record.provider_call_id, record.status) == (CONTACT, "completed")


def test_caller_from_the_customer_endpoint_or_an_attribute():
    with_endpoint = _event(customerEndpoint={"type": "TELEPHONE_NUMBER", "address": "+33612345678"})
    record = connect.parse_contact_event(with_endpoint)
    assert record is not None
    assert record.caller == IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    with_attribute = _event(attributes={"CustomerNumber": {"value": "06 12 34 56 78"}})
    record = connect.parse_contact_event(with_attribute)
    assert record is not None and record.caller is not None
    assert record.caller.value == "+33612345678"
    custom = _event(attributes={"appelant": "+33612345678"})
    record = connect.parse_contact_event(custom, caller_attributes=["Appelant"])
    assert record is not None and record.caller is not None


def test_outbound_calls():
    record = connect.parse_contact_event(_event(initiationMethod="OUTBOUND"))
    assert record is not None and record.direction == "outbound"
    unanswered = connect.parse_contact_event(_event(initiationMethod="OUTBOUND", agentInfo=None))
    assert unanswered is not None and not unanswered.missed  # missed is about inbound calls


def test_dedup_without_an_event_id():
    event = sample_json("connect_contact_event_disconnected.json")
    del event["id"]
    record = connect.parse_contact_event(event)
    assert record is not None and record.dedup_key == f"connect:{CONTACT}:DISCONNECTED"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("detail"),
        lambda e: e["detail"].pop("contactId"),
        lambda e: e["detail"].update(disconnectTimestamp="yesterday"),
        lambda e: (e["detail"].pop("disconnectTimestamp"), e.pop("time")),
    ],
)
def test_malformed_events_raise_a_clear_error(mutate):
    event = sample_json("connect_contact_event_disconnected.json")
    mutate(event)
    with pytest.raises(ChannelPayloadError):
        connect.parse_contact_event(event)
