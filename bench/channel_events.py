"""Three deliveries per channel for the benchmark (warm-up, a first message, a later message of
the same person), built from events/ samples and signed exactly as each sender signs."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from shared.adapters.channels.signatures import compute_twilio_signature, hmac_sha256_hex
from tests.support import load_event

META_SECRET = "TEST_APP_SECRET"
TWILIO_TOKEN = "12345"
TWILIO_BASE = "https://api.example.com"


@dataclass(frozen=True)
class Scenario:
    channel: str
    function: str | None  # None: the delivery is an SQS body (no HTTP hop)
    deliveries: Callable[[dict[str, Any]], list[Any]]


def _meta(
    sample: str, new_id: Callable[[dict[str, Any], int], None]
) -> Callable[[dict[str, Any]], list[Any]]:
    def build(_: dict[str, Any]) -> list[Any]:
        events = []
        for n in range(3):
            event = load_event(f"meta_webhook/{sample}")
            body = json.loads(event["body"])
            new_id(body, n)
            raw = json.dumps(body).encode()
            event["body"] = raw.decode()
            event["headers"]["x-hub-signature-256"] = "sha256=" + hmac_sha256_hex(META_SECRET, raw)
            events.append(event)
        return events

    return build


def _whatsapp_id(body: dict[str, Any], n: int) -> None:
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.bench{n}"


def _messaging_id(body: dict[str, Any], n: int) -> None:
    body["entry"][0]["messaging"][0]["message"]["mid"] = f"m_bench{n}"


def _twilio(sample: str, route: str, sid_field: str) -> Callable[[dict[str, Any]], list[Any]]:
    def build(_: dict[str, Any]) -> list[Any]:
        events = []
        for n in range(3):
            event = load_event(f"twilio_webhook/{sample}")
            params = dict(parse_qsl(base64.b64decode(event["body"]).decode(), keep_blank_values=True))
            params[sid_field] = f"{params[sid_field][:2]}bench{n:028d}"
            body = urlencode(params)
            event["body"] = base64.b64encode(body.encode()).decode()
            url = f"{TWILIO_BASE}/webhooks/twilio/{route}"
            signature = compute_twilio_signature(url, {k: [v] for k, v in params.items()}, TWILIO_TOKEN)
            event["headers"]["x-twilio-signature"] = signature
            events.append(event)
        return events

    return build


def sms_from(phone: str, sid: str) -> dict[str, Any]:
    """One signed Twilio SMS delivery from ``phone`` (another channel of a known customer)."""
    event = load_event("twilio_webhook/twilio_sms_inbound")
    params = dict(parse_qsl(base64.b64decode(event["body"]).decode(), keep_blank_values=True))
    params.update(From=phone, MessageSid=sid)
    event["body"] = base64.b64encode(urlencode(params).encode()).decode()
    url = f"{TWILIO_BASE}/webhooks/twilio/sms"
    event["headers"]["x-twilio-signature"] = compute_twilio_signature(
        url, {k: [v] for k, v in params.items()}, TWILIO_TOKEN
    )
    return event


def _portal(_: dict[str, Any]) -> list[Any]:
    events = []
    for n in range(3):
        event = load_event("portal_api/post_message")
        body = json.loads(event["body"])
        body["client_submission_id"] = f"bench-{n}"
        event["body"] = json.dumps(body)
        events.append(event)
    return events


def _email(handles: dict[str, Any]) -> list[Any]:
    """SQS bodies as the SES receipt rule produces them: the mail in S3, the notification via SNS."""
    import boto3

    template = json.loads(load_event("inbound_processor/email_s3_action_record")["Records"][0]["body"])
    bodies = []
    for n in range(3):
        mail = EmailMessage()
        mail["From"] = "Marie Dupont <marie.dupont@example.org>"
        mail["To"] = "support@support.example.com"
        mail["Subject"] = f"Colis non reçu ({n})"
        mail["Message-ID"] = make_msgid(domain="example.org")
        mail.set_content("Toujours rien reçu.\n\n> Le 09/06/2025, Support a écrit :\n> Nous enquêtons.")
        mail.add_attachment(b"\xff\xd8\xff" * 100, maintype="image", subtype="jpeg", filename="bordereau.jpg")
        envelope = copy.deepcopy(template)
        notification = json.loads(envelope["Message"])
        key = f"inbound-mail/bench{n}"
        notification["mail"]["messageId"] = f"bench{n}"
        notification["receipt"]["action"]["objectKey"] = key
        envelope["Message"] = json.dumps(notification)
        envelope["MessageId"] = f"sns-bench-{n}"
        boto3.client("s3").put_object(Bucket=handles["bucket"], Key=key, Body=mail.as_bytes())
        bodies.append(json.dumps(envelope))
    return bodies


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("whatsapp", "meta_webhook", _meta("whatsapp_message_text", _whatsapp_id)),
    Scenario("messenger", "meta_webhook", _meta("messenger_message", _messaging_id)),
    Scenario("instagram", "meta_webhook", _meta("instagram_message", _messaging_id)),
    Scenario("sms (twilio)", "twilio_webhook", _twilio("twilio_sms_inbound", "sms", "MessageSid")),
    Scenario(
        "phone (twilio call)", "twilio_webhook", _twilio("twilio_voice_status_callback", "voice", "CallSid")
    ),
    Scenario("customer space", "portal_api", _portal),
    Scenario("email (SES)", None, _email),
)
