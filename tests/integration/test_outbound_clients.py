"""Provider clients against a local HTTP server (exact requests, parsing, timeouts, retries)
and the SES client on moto (raw MIME with the threading headers)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.adapters.outbound import (
    EmailFile,
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    RejectionKind,
    UnsupportedReply,
    WhatsAppTemplate,
)
from shared.adapters.outbound.http import HttpClient, HttpUnavailable, RetryPolicy, Timeouts
from shared.adapters.outbound.meta_send import MetaSendClient, MetaSendConfig
from shared.adapters.outbound.ses_email import SesEmailClient, SesEmailConfig
from shared.adapters.outbound.twilio_sms import TwilioConfig, TwilioMessagesClient
from shared.adapters.outbound.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudConfig
from shared.domain.common import Channel
from shared.domain.message import DeliveryStatus

# --- a scripted provider on 127.0.0.1 -----------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # dict -> JSON, bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


class FakeProvider:
    """Answers from a script (the last answer repeats) and records every request."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.answers: list[Answer] = [Answer(200, {})]
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                with fake._lock:
                    fake.requests.append(
                        Seen(
                            self.command,
                            parts.path,
                            parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                    answer = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body
                data = (
                    json.dumps(payload).encode()
                    if isinstance(payload, dict | list)
                    else (payload.encode() if isinstance(payload, str) else (payload or b""))
                )
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def script(self, *answers: Answer) -> None:
        self.answers = list(answers)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def http(base_url: str, sleeps: Sleeps, *, read: float = 2.0, attempts: int = 3) -> HttpClient:
    return HttpClient(
        base_url,
        timeouts=Timeouts(connect=1.0, read=read),
        retry=RetryPolicy(attempts=attempts),
        sleep=sleeps,
        jitter=lambda: 1.0,
    )


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def sms_reply(**overrides: Any) -> OutboundReply:
    values: dict[str, Any] = {
        "message_id": "msg-1",
        "ticket_id": "K7M3Q9XA",
        "channel": Channel.sms,
        "to": "+33612345678",
        "text": "Votre colis arrive demain.",
    }
    values.update(overrides)
    return OutboundReply(**values)


TWILIO_CREATED = {
    "sid": "SM0123456789abcdef0123456789abcdef",
    "status": "queued",
    "num_segments": "2",
    "error_code": None,
}


# --- Twilio -------------------------------------------------------------------------------


def twilio(provider: FakeProvider, sleeps: Sleeps, **config: Any) -> TwilioMessagesClient:
    settings: dict[str, Any] = {
        "account_sid": "AC123",
        "auth_token": "tok3n",
        "sms_from": "+33700000000",
        "whatsapp_from": "+14155238886",
        "status_callback_url": "https://api.example.com/webhooks/twilio/status",
        "base_url": provider.url,
    }
    settings.update(config)
    cfg = TwilioConfig(**settings)
    return TwilioMessagesClient(cfg, http=http(cfg.base_url, sleeps))


def test_twilio_sms_request_and_answer(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, TWILIO_CREATED))
    result = twilio(provider, sleeps).send(sms_reply(text="Votre colis arrive demain."))

    [seen] = provider.requests
    assert seen.method == "POST"
    assert seen.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert seen.headers["authorization"] == basic("AC123", "tok3n")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.form() == [
        ("To", "+33612345678"),
        ("From", "+33700000000"),
        ("Body", "Votre colis arrive demain."),
        ("StatusCallback", "https://api.example.com/webhooks/twilio/status"),
    ]
    assert result.provider == "twilio"
    assert result.provider_message_id == "SM0123456789abcdef0123456789abcdef"
    assert result.segments == 2
    assert result.raw_status == "queued" and result.status is DeliveryStatus.sent
    assert sleeps == []


def test_twilio_messaging_service_media_and_api_key(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, TWILIO_CREATED))
    client = twilio(
        provider, sleeps, messaging_service_sid="MG999", api_key_sid="SK42", status_callback_url=None
    )
    client.send(sms_reply(text="ê", media_urls=("https://cdn.example/a.jpg", "https://cdn.example/b.jpg")))
    [seen] = provider.requests
    assert seen.headers["authorization"] == basic("SK42", "tok3n")
    assert seen.path == "/2010-04-01/Accounts/AC123/Messages.json"  # the account, not the key
    assert seen.form() == [
        ("To", "+33612345678"),
        ("MessagingServiceSid", "MG999"),
        ("Body", "ê"),
        ("MediaUrl", "https://cdn.example/a.jpg"),
        ("MediaUrl", "https://cdn.example/b.jpg"),
    ]


def test_twilio_whatsapp_text_and_content_template(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, {**TWILIO_CREATED, "num_segments": "1"}))
    client = twilio(provider, sleeps)
    client.send(sms_reply(channel=Channel.whatsapp, to="+33612345678", text="Bonjour"))
    template = WhatsAppTemplate(name="order_update", body_params=("Léa", "#1001"), content_sid="HX00ff")
    client.send(sms_reply(channel=Channel.whatsapp, to="whatsapp:+33612345678", text="", template=template))

    text, templated = provider.requests
    assert text.form()[:3] == [
        ("To", "whatsapp:+33612345678"),
        ("From", "whatsapp:+14155238886"),
        ("Body", "Bonjour"),
    ]
    fields = dict(templated.form())
    assert fields["To"] == "whatsapp:+33612345678" and "Body" not in fields
    assert fields["ContentSid"] == "HX00ff"
    assert json.loads(fields["ContentVariables"]) == {"1": "Léa", "2": "#1001"}


def test_twilio_4xx_is_not_retried_and_is_parsed(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(
        Answer(
            400,
            {
                "code": 21211,
                "message": "The 'To' number +3361234 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            },
        )
    )
    with pytest.raises(ProviderRejected) as caught:
        twilio(provider, sleeps).send(sms_reply(to="+3361234"))
    error = caught.value
    assert (error.provider, error.status, error.code, error.kind) == (
        "twilio",
        400,
        "21211",
        RejectionKind.recipient,
    )
    assert error.provider_message is not None and "not a valid phone number" in error.provider_message
    assert "+3361234" not in str(error)  # the loggable text carries no personal data
    assert len(provider.requests) == 1 and sleeps == []


def test_twilio_auth_failure(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(401, {"code": 20003, "message": "Authenticate", "status": 401}))
    with pytest.raises(ProviderRejected) as caught:
        twilio(provider, sleeps).send(sms_reply())
    assert caught.value.kind is RejectionKind.auth and len(provider.requests) == 1


def test_503_twice_then_success(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(503, {"message": "busy"}), Answer(503, "oops"), Answer(201, TWILIO_CREATED))
    result = twilio(provider, sleeps).send(sms_reply())
    assert result.provider_message_id == TWILIO_CREATED["sid"]
    assert len(provider.requests) == 3
    assert sleeps == [0.25, 0.5]  # exponential backoff (jitter pinned at its maximum)
    assert provider.requests[0].body == provider.requests[2].body  # the same request each time


def test_429_is_retried_with_retry_after(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(
        Answer(429, {"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "1"}),
        Answer(201, TWILIO_CREATED),
    )
    twilio(provider, sleeps).send(sms_reply())
    assert len(provider.requests) == 2 and sleeps == [1.0]


def test_a_long_retry_after_gives_up_at_once(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(429, {"code": 20429}, headers={"Retry-After": "120"}))
    with pytest.raises(ProviderUnavailable) as caught:
        twilio(provider, sleeps).send(sms_reply())
    assert caught.value.retry_after == 120 and caught.value.status == 429
    assert len(provider.requests) == 1 and sleeps == []


def test_5xx_until_the_attempts_run_out(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(502, "bad gateway"))
    with pytest.raises(ProviderUnavailable) as caught:
        twilio(provider, sleeps).send(sms_reply())
    error = caught.value
    assert error.status == 502 and error.attempts == 3 and not error.ambiguous
    assert "HTTP 502 after 3 attempt(s)" in str(error)
    assert len(provider.requests) == 3 and len(sleeps) == 2


def test_retries_stop_when_the_time_budget_is_spent(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(503, "busy"))
    ticks = iter(range(0, 1000, 8))  # every look at the clock: 8 more seconds
    client = HttpClient(
        provider.url,
        retry=RetryPolicy(attempts=5, budget=20.0),
        sleep=sleeps,
        clock=lambda: float(next(ticks)),
    )
    with pytest.raises(HttpUnavailable) as caught:
        client.request("POST", "/x", json_body={})
    assert "no time left" in caught.value.reason and caught.value.attempts < 5
    assert len(provider.requests) == caught.value.attempts


def test_read_timeout_is_ambiguous_and_not_retried(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, TWILIO_CREATED, delay=1.0))
    cfg = TwilioConfig(account_sid="AC123", auth_token="t", sms_from="+33700000000", base_url=provider.url)
    client = TwilioMessagesClient(cfg, http=http(provider.url, sleeps, read=0.2))
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        client.send(sms_reply())
    assert time.monotonic() - started < 0.9
    assert caught.value.ambiguous and "read timeout" in caught.value.reason
    assert "may have been sent" in str(caught.value)
    assert len(provider.requests) == 1 and sleeps == []


def test_read_timeout_can_be_retried_when_asked(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, TWILIO_CREATED, delay=0.5), Answer(201, TWILIO_CREATED))
    client = HttpClient(
        provider.url,
        timeouts=Timeouts(connect=1, read=0.2),
        retry=RetryPolicy(attempts=2, retry_ambiguous=True),
        sleep=sleeps,
    )
    assert client.request("POST", "/x", json_body={}).status == 201
    assert len(provider.requests) == 2


def test_connection_refused_is_retried_then_unavailable(sleeps: Sleeps) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = TwilioConfig(
        account_sid="AC123", auth_token="t", sms_from="+33700000000", base_url=f"http://127.0.0.1:{port}"
    )
    client = TwilioMessagesClient(cfg, http=http(cfg.base_url, sleeps))
    with pytest.raises(ProviderUnavailable) as caught:
        client.send(sms_reply())
    assert not caught.value.ambiguous and caught.value.attempts == 3
    assert "connection refused" in caught.value.reason
    assert len(sleeps) == 2


def test_base_url_with_a_path_prefix(provider: FakeProvider, sleeps: Sleeps) -> None:
    """The local stack serves fakes under /local/providers/<provider>/..."""
    provider.script(Answer(201, TWILIO_CREATED))
    client = twilio(provider, sleeps, base_url=provider.url + "/local/providers/twilio/")
    client.send(sms_reply())
    assert provider.requests[0].path == "/local/providers/twilio/2010-04-01/Accounts/AC123/Messages.json"


def test_unexpected_success_body_is_reported_as_ambiguous(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(201, "<html>proxy</html>"))
    with pytest.raises(ProviderUnavailable) as caught:
        twilio(provider, sleeps).send(sms_reply())
    assert caught.value.ambiguous


def test_misconfiguration_fails_before_any_request(provider: FakeProvider, sleeps: Sleeps) -> None:
    client = twilio(provider, sleeps, sms_from=None)
    with pytest.raises(UnsupportedReply):
        client.send(sms_reply())
    with pytest.raises(UnsupportedReply):
        twilio(provider, sleeps).send(sms_reply(channel=Channel.email))
    assert provider.requests == []


# --- WhatsApp Cloud API -------------------------------------------------------------------


def whatsapp(provider: FakeProvider, sleeps: Sleeps) -> WhatsAppCloudClient:
    cfg = WhatsAppCloudConfig(phone_number_id="1065551234", access_token="EAAG-token", base_url=provider.url)
    return WhatsAppCloudClient(cfg, http=http(provider.url, sleeps))


WA_OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "33612345678", "wa_id": "33612345678"}],
    "messages": [{"id": "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QTND", "message_status": "accepted"}],
}


def test_whatsapp_text_request_and_answer(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(200, WA_OK))
    reply = sms_reply(
        channel=Channel.whatsapp, to="33612345678", text="Bonjour Léa", reply_to_provider_id="wamid.IN"
    )
    result = whatsapp(provider, sleeps).send(reply)

    [seen] = provider.requests
    assert (seen.method, seen.path) == ("POST", "/v23.0/1065551234/messages")
    assert seen.headers["authorization"] == "Bearer EAAG-token"
    assert seen.headers["content-type"] == "application/json"
    assert seen.query == {}  # the token never travels in the URL
    assert seen.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "33612345678",
        "type": "text",
        "text": {"preview_url": False, "body": "Bonjour Léa"},
        "context": {"message_id": "wamid.IN"},
    }
    assert result.provider_message_id == "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QTND"
    assert result.status is DeliveryStatus.sent and result.raw_status == "accepted"


def test_whatsapp_template_request(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(200, WA_OK))
    template = WhatsAppTemplate(name="order_update", language="fr", body_params=("Léa", "#1001"))
    whatsapp(provider, sleeps).send(sms_reply(channel=Channel.whatsapp, text="", template=template))
    body = provider.requests[0].json()
    assert body["type"] == "template" and "text" not in body
    assert body["template"] == {
        "name": "order_update",
        "language": {"code": "fr"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Léa"}, {"type": "text", "text": "#1001"}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (131047, RejectionKind.outside_window),
        (130429, RejectionKind.throttled),
        (131026, RejectionKind.recipient),
        (190, RejectionKind.auth),
        (100, RejectionKind.invalid),
    ],
)
def test_whatsapp_errors(provider: FakeProvider, sleeps: Sleeps, code: int, kind: RejectionKind) -> None:
    provider.script(
        Answer(
            400,
            {
                "error": {
                    "message": "(#131047) Re-engagement message",
                    "type": "OAuthException",
                    "code": code,
                    "error_data": {
                        "messaging_product": "whatsapp",
                        "details": "More than 24 hours have passed",
                    },
                    "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
                }
            },
        )
    )
    with pytest.raises(ProviderRejected) as caught:
        whatsapp(provider, sleeps).send(sms_reply(channel=Channel.whatsapp))
    error = caught.value
    assert (error.provider, error.status, error.code, error.kind) == ("whatsapp_cloud", 400, str(code), kind)
    assert error.provider_message == "(#131047) Re-engagement message More than 24 hours have passed"
    assert len(provider.requests) == 1 and sleeps == []


def test_whatsapp_5xx_is_retried(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(
        Answer(
            500, {"error": {"code": 2, "message": "Service temporarily unavailable", "is_transient": True}}
        ),
        Answer(200, WA_OK),
    )
    assert (
        whatsapp(provider, sleeps)
        .send(sms_reply(channel=Channel.whatsapp))
        .provider_message_id.startswith("wamid.")
    )
    assert len(provider.requests) == 2


# --- Messenger / Instagram ----------------------------------------------------------------


def meta(provider: FakeProvider, sleeps: Sleeps, channel: Channel, **config: Any) -> MetaSendClient:
    cfg = MetaSendConfig(access_token="PAGE-token", base_url=provider.url, **config)
    return MetaSendClient(channel, cfg, http=http(provider.url, sleeps))


def test_messenger_inside_the_window_is_a_response(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(200, {"recipient_id": "2468", "message_id": "m_AG5Hz2U"}))
    result = meta(provider, sleeps, Channel.messenger).send(
        sms_reply(channel=Channel.messenger, to="2468", text="Bonjour")
    )
    [seen] = provider.requests
    assert (seen.method, seen.path) == ("POST", "/v23.0/me/messages")
    assert seen.headers["authorization"] == "Bearer PAGE-token"
    assert seen.json() == {
        "recipient": {"id": "2468"},
        "message": {"text": "Bonjour"},
        "messaging_type": "RESPONSE",
    }
    assert result.provider == "messenger" and result.provider_message_id == "m_AG5Hz2U"


def test_messenger_human_agent_tag(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(200, {"recipient_id": "2468", "message_id": "m_2"}))
    meta(provider, sleeps, Channel.messenger).send(
        sms_reply(channel=Channel.messenger, to="2468", text="Suite à votre demande", tag="HUMAN_AGENT")
    )
    body = provider.requests[0].json()
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"


def test_instagram_with_its_own_base_url_and_account(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(Answer(200, {"recipient_id": "1357", "message_id": "aWdfZAG1"}))
    client = meta(provider, sleeps, Channel.instagram, api_version="v22.0", sender_id="17841400000000")
    result = client.send(sms_reply(channel=Channel.instagram, to="1357", text="Merci !"))
    assert provider.requests[0].path == "/v22.0/17841400000000/messages"
    assert result.provider == "instagram" and result.provider_message_id == "aWdfZAG1"


def test_messenger_outside_the_window_error(provider: FakeProvider, sleeps: Sleeps) -> None:
    provider.script(
        Answer(
            400,
            {
                "error": {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "type": "OAuthException",
                    "code": 10,
                    "error_subcode": 2018278,
                    "fbtrace_id": "AbC",
                }
            },
        )
    )
    with pytest.raises(ProviderRejected) as caught:
        meta(provider, sleeps, Channel.messenger).send(sms_reply(channel=Channel.messenger, to="2468"))
    assert caught.value.kind is RejectionKind.outside_window and caught.value.code == "10/2018278"
    assert len(provider.requests) == 1


def test_meta_client_refuses_what_it_cannot_express(provider: FakeProvider, sleeps: Sleeps) -> None:
    client = meta(provider, sleeps, Channel.messenger)
    for reply in (
        sms_reply(channel=Channel.instagram),
        sms_reply(channel=Channel.messenger, template=WhatsAppTemplate(name="x")),
        sms_reply(channel=Channel.messenger, tag="MARKETING"),
        sms_reply(channel=Channel.messenger, text=""),
    ):
        with pytest.raises(UnsupportedReply):
            client.send(reply)
    assert provider.requests == []


# --- the local stack's fake provider answers ----------------------------------------------


def test_clients_parse_the_local_stack_fake_answers(provider: FakeProvider, sleeps: Sleeps) -> None:
    """infra/local/outbox.py answers like Twilio/Meta under /local/providers/<provider>/...:
    each client's request, answered by the stack's provider_reply, must parse."""
    from infra.local.outbox import parse_body, provider_reply

    base = provider.url + "/local/providers"
    clients_and_replies: list[tuple[Any, OutboundReply]] = [
        (
            TwilioMessagesClient(
                TwilioConfig(
                    account_sid="AC1", auth_token="t", sms_from="+33700000000", base_url=base + "/twilio"
                ),
                http=http(base + "/twilio", sleeps),
            ),
            sms_reply(),
        ),
        (
            WhatsAppCloudClient(
                WhatsAppCloudConfig(phone_number_id="106", access_token="t", base_url=base + "/meta"),
                http=http(base + "/meta", sleeps),
            ),
            sms_reply(channel=Channel.whatsapp),
        ),
        (
            MetaSendClient(
                Channel.messenger,
                MetaSendConfig(access_token="t", base_url=base + "/meta"),
                http=http(base + "/meta", sleeps),
            ),
            sms_reply(channel=Channel.messenger, to="2468"),
        ),
    ]
    for client, reply in clients_and_replies:
        provider.script(Answer(200, {}))
        with pytest.raises(ProviderUnavailable):
            client.send(reply)  # "{}" is no send result: reported, not swallowed
        seen = provider.requests[-1]
        name, path = seen.path.removeprefix("/local/providers/").split("/", 1)
        status, body = provider_reply(name, "/" + path, parse_body(seen.headers["content-type"], seen.body))
        provider.script(Answer(status, body))
        result = client.send(reply)
        assert result.provider_message_id
        assert result.segments == (1 if name == "twilio" else None)


# --- SES on moto --------------------------------------------------------------------------

SUPPORT = "support@shop.example"


@pytest.fixture
def ses_clients() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        ses = boto3.client("ses", region_name="eu-west-3")
        ses.verify_email_identity(EmailAddress=SUPPORT)
        yield ses, boto3.client("sesv2", region_name="eu-west-3")


def email_reply(**overrides: Any) -> OutboundReply:
    values: dict[str, Any] = {
        "message_id": "msg-9",
        "ticket_id": "K7M3Q9XA",
        "channel": Channel.email,
        "to": "lea.martin@example.org",
        "to_name": "Léa Martin",
        "subject": "Re: Où est ma commande ?",
        "text": "Bonjour Léa,\nvotre colis part demain.",
        "html": "<p>Bonjour Léa,</p><p>votre colis part demain.</p>",
        "in_reply_to": "<CAF=parent@mail.example.org>",
        "references": ("root@mail.example.org", "<CAF=parent@mail.example.org>"),
    }
    values.update(overrides)
    return OutboundReply(**values)


def last_raw() -> email.message.EmailMessage:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[-1]
    assert sent.raw_data.isascii()  # every part is 7-bit
    parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize("api", ["sesv2", "ses"])
def test_ses_reply_keeps_threading_headers(ses_clients: tuple[Any, Any], api: str) -> None:
    ses, sesv2 = ses_clients
    client = SesEmailClient(
        sesv2 if api == "sesv2" else ses, SesEmailConfig(from_address=SUPPORT, from_name="Support Boutique")
    )
    result = client.send(email_reply())

    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[-1]
    assert result.provider == "ses" and result.provider_message_id == sent.id
    assert result.email_message_id == f"{sent.id}@eu-west-3.amazonses.com"
    message = last_raw()
    assert message["In-Reply-To"] == "<CAF=parent@mail.example.org>"
    assert message["References"] == "<root@mail.example.org> <CAF=parent@mail.example.org>"
    assert message["Reply-To"] == "support+tK7M3Q9XA@shop.example"
    assert message["Subject"] == "Re: Où est ma commande ? [#K7M3Q9XA]"
    assert message["To"] == "Léa Martin <lea.martin@example.org>"
    assert message["From"] == "Support Boutique <support@shop.example>"
    assert "Message-ID" not in message  # SES sets its own
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == "Bonjour Léa,\nvotre colis part demain.\n"
    assert "<p>Bonjour Léa,</p>" in html.get_content()


def test_ses_attachments_and_configuration_set(ses_clients: tuple[Any, Any]) -> None:
    _, sesv2 = ses_clients
    sesv2.create_configuration_set(ConfigurationSetName="guichet")
    client = SesEmailClient(sesv2, SesEmailConfig(from_address=SUPPORT, configuration_set="guichet"))
    file = EmailFile(filename="facture.pdf", content_type="application/pdf", data=b"%PDF-1.7 fake")
    client.send(email_reply(html=None, files=(file,), in_reply_to=None, references=()))
    message = last_raw()
    assert message.get_content_type() == "multipart/mixed"
    assert "In-Reply-To" not in message and "References" not in message
    assert message["Subject"] == "Re: Où est ma commande ? [#K7M3Q9XA]"  # the agent's subject kept
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "facture.pdf"
    assert attachment.get_content() == b"%PDF-1.7 fake"


def test_ses_unverified_sender_is_rejected(ses_clients: tuple[Any, Any]) -> None:
    ses, _ = ses_clients
    client = SesEmailClient(ses, SesEmailConfig(from_address="nobody@unverified.example"))
    with pytest.raises(ProviderRejected) as caught:
        client.send(email_reply())
    assert caught.value.provider == "ses" and caught.value.code == "MessageRejected"
    assert caught.value.kind is RejectionKind.invalid
