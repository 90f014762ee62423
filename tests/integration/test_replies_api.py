"""POST /api/tickets/{id}/replies through the handler, on moto, with the providers faked at the
HTTP boundary (a local server standing in for Twilio and the Meta Graph API) and SES on moto.

Each case seeds a ticket the way the processor does (record_message), posts the events/
sample, and checks what went over the wire, what the API answered and what was recorded.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions.replies_api import handler as replies
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.agent import Agent
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import DeliveryStatusUpdate, IdentityClaim, InboundMessage, ThreadHints
from shared.domain.message import DeliveryStatus
from shared.domain.ticket import TicketStatus
from shared.domain.ticket_work import TicketChange
from shared.services.channel_events import record_status
from shared.services.ingest import record_message
from shared.services.ticket_work import update_ticket
from tests.integration.test_outbound_clients import Answer, FakeProvider
from tests.support import FixedClock, load_event

SUPPORT = "support@guichet.local"
PHONE_NUMBER_ID = "106540352242922"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def env(aws: dict[str, Any], provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The replies function's environment on moto: its secret, its verified sender, the fakes."""
    secret_arn = boto3.client("secretsmanager").create_secret(
        Name="guichet/providers",
        SecretString=json.dumps(
            {
                "twilio_account_sid": "AC0123456789abcdef0123456789abcdef",
                "twilio_auth_token": "12345",
                "twilio_api_key_sid": "",
                "whatsapp_access_token": "wa-token",
                "messenger_page_access_token": "page-token",
                "instagram_access_token": "",  # not configured
            }
        ),
    )["ARN"]
    boto3.client("ses").verify_domain_identity(Domain="guichet.local")
    for name, value in {
        "PROVIDER_SECRETS_ARN": secret_arn,
        "SUPPORT_EMAIL_FROM": SUPPORT,
        "SUPPORT_EMAIL_NAME": "Service client",
        "TWILIO_API_BASE_URL": f"{provider.url}/twilio",
        "TWILIO_SMS_FROM": "+33757000000",
        "META_GRAPH_BASE_URL": f"{provider.url}/meta",
        "INSTAGRAM_GRAPH_BASE_URL": f"{provider.url}/meta",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "OUTBOUND_MAX_ATTEMPTS": "1",
        "OUTBOUND_READ_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(replies, "_wired", None)
    return aws


def _seed(
    env: dict[str, Any],
    channel: Channel,
    identity: IdentityClaim,
    *,
    ago: timedelta = timedelta(hours=1),
    text: str = "Bonjour, où en est ma commande ?",
    **fields: Any,
) -> str:
    now = datetime.now(UTC)
    result = record_message(
        DynamoRepository(env["table"]),
        FixedClock(now),
        InboundMessage(
            dedup_key=f"{channel.value}:{identity.value}:{ago}",
            channel=channel,
            identities=[identity],
            text=text,
            first_name="Léa",
            sent_at=now - ago,
            **fields,
        ),
    )
    assert result.ticket_id
    return result.ticket_id


def _post(
    ticket_id: str, body: dict[str, Any] | None, lambda_context: Any, sample: str = "post_reply"
) -> tuple[int, Any]:
    event = load_event(f"replies_api/{sample}")
    path = f"/api/tickets/{ticket_id}/replies"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"ticket_id": ticket_id}
    if body is not None:
        event["body"] = json.dumps(body)
    response = replies.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def _ticket(env: dict[str, Any], ticket_id: str) -> Any:
    found = DynamoRepository(env["table"]).get_ticket(ticket_id)
    assert found is not None
    return found.value


def _messages(env: dict[str, Any], ticket_id: str) -> list[Any]:
    _, page = DynamoRepository(env["table"]).ticket_messages(ticket_id, 50, None)
    return page.items


PREVIEW_AGENT = "3f1c2e9a-0000-4000-8000-00000000a9e1"  # the sample events' signed-in agent
WHATSAPP = IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678")
WAMID = "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QUIzQzQ1RDY3RThGOTBBMTIA"


def _whatsapp_ok(provider: FakeProvider) -> None:
    provider.script(Answer(200, {"messaging_product": "whatsapp", "messages": [{"id": WAMID}]}))


# --- WhatsApp -----------------------------------------------------------------------------


def test_whatsapp_within_24_hours_is_sent_and_recorded(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(hours=23))
    _whatsapp_ok(provider)

    status, body = _post(ticket_id, {"text": "Votre commande part demain."}, lambda_context)

    assert status == 201, body
    [request] = provider.requests
    assert request.path == f"/meta/v23.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == "Bearer wa-token"
    assert request.json()["to"] == "33612345678"
    assert request.json()["text"]["body"] == "Votre commande part demain."
    assert body["channel"] == "whatsapp" and body["tag"] is None
    assert body["window_closes_at"] is not None
    message = body["message"]
    assert message["direction"] == "outbound" and message["party_role"] == "agent"
    assert message["author_id"] == "3f1c2e9a-0000-4000-8000-00000000a9e1"
    assert message["delivery_status"] == "sent"
    assert message["provider_ids"] == {"wamid": WAMID}

    ticket = _ticket(env, ticket_id)
    assert ticket.message_count == 2
    assert ticket.status.value == "open"
    assert ticket.sla.first_responded_at is not None
    stored = _messages(env, ticket_id)
    assert [m.direction.value for m in stored] == ["inbound", "outbound"]
    ref = DynamoRepository(env["table"]).provider_message("whatsapp", WAMID)
    assert ref is not None and ref.ticket_id == ticket_id and ref.status_rank == DeliveryStatus.sent.rank


def test_whatsapp_outside_24_hours_is_refused_with_the_template_advice(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(hours=25))

    status, body = _post(ticket_id, {"text": "Des nouvelles ?"}, lambda_context)

    assert status == 409
    assert body["code"] == "template_required"
    assert "Pick an approved template" in body["message"]
    assert provider.requests == []  # nothing left
    assert len(_messages(env, ticket_id)) == 1  # nothing recorded
    assert _ticket(env, ticket_id).sla.first_responded_at is None


def test_whatsapp_outside_24_hours_with_an_approved_template(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(days=3))
    _whatsapp_ok(provider)

    status, body = _post(ticket_id, None, lambda_context, sample="post_reply_with_template")

    assert status == 201, body
    sent = provider.requests[0].json()
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "order_update"
    assert sent["template"]["components"][0]["parameters"] == [{"type": "text", "text": "#1001"}]
    assert body["message"]["metadata"]["template"] == "order_update"


def test_a_delivery_status_afterwards_updates_the_sent_message(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)
    _whatsapp_ok(provider)
    status, body = _post(ticket_id, {"text": "C'est parti."}, lambda_context)
    assert status == 201

    result = record_status(
        DynamoRepository(env["table"]),
        DeliveryStatusUpdate(
            dedup_key=f"status:{WAMID}:delivered",
            channel=Channel.whatsapp,
            provider_message_id=WAMID,
            status=DeliveryStatus.delivered,
            at=datetime.now(UTC),
        ),
    )

    assert result.ticket_id == ticket_id and not result.duplicate
    [reply] = [m for m in _messages(env, ticket_id) if m.id == body["message"]["id"]]
    assert reply.delivery_status is DeliveryStatus.delivered


# --- SMS ----------------------------------------------------------------------------------


def test_sms_returns_the_segment_count_and_asks_for_status_callbacks(env, provider, lambda_context):
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    ticket_id = _seed(env, Channel.sms, phone)
    provider.script(Answer(201, {"sid": "SM" + "a" * 32, "status": "queued", "num_segments": "2"}))
    text = (
        "Votre colis arrivera demain matin, à partir de 9 h : nous vous préviendrons. "
        "Bien à vous, Paul \u2013 Service client"  # an en dash: not GSM-7
    )

    status, body = _post(ticket_id, {"text": text}, lambda_context)

    assert status == 201, body
    assert body["segments"] == 2
    assert body["encoding"] == "UCS-2"  # 70-character segments
    form = dict(provider.requests[0].form())
    assert (
        provider.requests[0].path
        == "/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    )
    assert form["To"] == "+33612345678" and form["From"] == "+33757000000"
    assert form["StatusCallback"] == "https://api.example.com/webhooks/twilio/status"
    assert body["message"]["metadata"]["segments"] == "2"
    assert body["message"]["provider_ids"] == {"message_sid": "SM" + "a" * 32}


def test_a_provider_4xx_records_the_message_as_failed_and_answers_502(env, provider, lambda_context):
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    ticket_id = _seed(env, Channel.sms, phone)
    provider.script(
        Answer(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
    )

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context)

    assert status == 502
    assert body["code"] == "provider_rejected"
    assert body["provider"] == "twilio" and body["provider_code"] == "21211"
    assert "not a valid phone number" in body["message"]  # the provider's words, for the agent
    [failed] = [m for m in _messages(env, ticket_id) if m.direction.value == "outbound"]
    assert failed.id == body["message_id"]
    assert failed.delivery_status is DeliveryStatus.failed
    assert failed.error and "21211" in failed.error
    ticket = _ticket(env, ticket_id)
    assert ticket.message_count == 2  # on the ticket, where the agent sees it failed
    assert ticket.sla.first_responded_at is None  # the customer got no answer
    assert len(provider.requests) == 1  # a 4xx is never retried


def test_an_unreachable_provider_answers_503_and_says_it_was_not_sent(env, provider, lambda_context):
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    ticket_id = _seed(env, Channel.sms, phone)
    provider.script(Answer(503, {"message": "Service Unavailable"}))

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context)

    assert status == 503
    assert body["code"] == "provider_unavailable" and body["may_have_been_sent"] is False
    assert "not sent" in body["message"]
    [failed] = [m for m in _messages(env, ticket_id) if m.direction.value == "outbound"]
    assert failed.delivery_status is DeliveryStatus.failed


def test_a_lost_answer_says_the_reply_may_have_been_sent(env, provider, lambda_context):
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    ticket_id = _seed(env, Channel.sms, phone)
    provider.script(Answer(201, {"sid": "SM1"}, delay=3.0))  # longer than the read timeout

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context)

    assert status == 503
    assert body["may_have_been_sent"] is True
    assert "check the conversation before resending" in body["message"]
    [failed] = [m for m in _messages(env, ticket_id) if m.direction.value == "outbound"]
    assert failed.metadata["may_have_been_sent"] == "true"


# --- Messenger and Instagram --------------------------------------------------------------


def test_messenger_between_24_hours_and_7_days_uses_the_human_agent_tag(env, provider, lambda_context):
    psid = IdentityClaim(kind=IdentityKind.messenger, value="6789012345678901")
    ticket_id = _seed(env, Channel.messenger, psid, ago=timedelta(days=3))
    provider.script(Answer(200, {"recipient_id": psid.value, "message_id": "m_abc"}))

    status, body = _post(ticket_id, {"text": "Nous avons trouvé votre colis."}, lambda_context)

    assert status == 201, body
    sent = provider.requests[0].json()
    assert provider.requests[0].path == "/meta/v23.0/me/messages"
    assert sent["recipient"] == {"id": psid.value}
    assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
    assert body["tag"] == "HUMAN_AGENT"
    assert body["message"]["provider_ids"] == {"mid": "m_abc"}
    assert body["message"]["metadata"]["tag"] == "HUMAN_AGENT"


def test_messenger_after_7_days_is_refused(env, provider, lambda_context):
    psid = IdentityClaim(kind=IdentityKind.messenger, value="6789012345678901")
    ticket_id = _seed(env, Channel.messenger, psid, ago=timedelta(days=8))

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context)

    assert status == 409 and body["code"] == "window_closed"
    assert provider.requests == []


def test_a_channel_without_credentials_is_refused_before_anything_is_sent(env, provider, lambda_context):
    igsid = IdentityClaim(kind=IdentityKind.instagram, value="17841400000000000")
    ticket_id = _seed(env, Channel.instagram, igsid)

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context)

    assert status == 409 and body["code"] == "channel_not_configured"
    assert provider.requests == []


# --- email --------------------------------------------------------------------------------


def test_email_reply_threads_and_stores_the_ses_message_id(env, provider, lambda_context):
    lea = IdentityClaim(kind=IdentityKind.email, value="lea.martin@example.org")
    ticket_id = _seed(
        env,
        Channel.email,
        lea,
        subject="Où est ma commande ?",
        provider_ids={"ses_message_id": "in-1", "message_id": "CAF=parent@mail.example.org"},
        reply_to_provider_id="root@mail.example.org",
        message_ids=["CAF=parent@mail.example.org"],
    )

    status, body = _post(ticket_id, {"text": "Bonjour Léa,\nvotre colis part demain."}, lambda_context)

    assert status == 201, body
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[-1]
    mail = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert mail["In-Reply-To"] == "<CAF=parent@mail.example.org>"
    assert mail["References"] == "<root@mail.example.org> <CAF=parent@mail.example.org>"
    assert mail["Reply-To"] == f"support+t{ticket_id}@guichet.local"
    assert mail["Subject"] == f"Re: Où est ma commande ? [#{ticket_id}]"
    assert mail["From"] == "Service client <support@guichet.local>"
    assert mail["To"].addresses[0].addr_spec == "lea.martin@example.org"

    header_id = f"{sent.id}@eu-west-3.amazonses.com"
    assert body["message"]["provider_ids"] == {"ses_message_id": sent.id, "message_id": header_id}
    repo = DynamoRepository(env["table"])
    assert repo.ticket_for_email(header_id) == ticket_id

    # The customer's answer quotes the id SES wrote: it threads onto the same ticket.
    answer = record_message(
        repo,
        FixedClock(datetime.now(UTC)),
        InboundMessage(
            dedup_key="email:answer-1@mail.example.org",
            channel=Channel.email,
            identities=[lea],
            subject=f"Re: Où est ma commande ? [#{ticket_id}]",
            text="Merci !",
            thread_hints=ThreadHints(in_reply_to=header_id),
            sent_at=datetime.now(UTC),
        ),
    )
    assert answer.ticket_id == ticket_id
    assert _messages(env, ticket_id)[-1].thread_match == "in_reply_to"


def test_a_web_form_ticket_is_answered_by_email(env, provider, lambda_context):
    jean = IdentityClaim(kind=IdentityKind.email, value="jean.martin@example.net")
    ticket_id = _seed(env, Channel.web_form, jean, subject="Garantie")

    status, body = _post(ticket_id, {"text": "La batterie est couverte deux ans."}, lambda_context)

    assert status == 201, body
    assert body["channel"] == "email"
    mail = email.message_from_string(
        ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[-1].raw_data, policy=email.policy.default
    )
    assert mail["Subject"] == f"Garantie [#{ticket_id}]"
    assert "In-Reply-To" not in mail


# --- status, auth, validation -------------------------------------------------------------


def test_a_reply_can_put_the_ticket_on_hold_which_pauses_the_clock(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)
    _whatsapp_ok(provider)
    before = _ticket(env, ticket_id)

    status, body = _post(
        ticket_id, {"text": "Pouvez-vous m'envoyer une photo ?", "status": "pending_customer"}, lambda_context
    )

    assert status == 201, body
    ticket = _ticket(env, ticket_id)
    assert ticket.status.value == "pending_customer"
    assert ticket.sla.paused_since is not None
    item = env["table"].get_item(Key={"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"})["Item"]
    assert not set(keys.queue_keys("-", "-", ticket_id)) & set(item)  # out of the topic queue
    assert not set(keys.sla_due_keys(ticket_id, "-")) & set(item)  # and of the SLA check while paused
    stats = env["table"].get_item(Key={"pk": f"QUEUESTATS#{before.topic.value}", "sk": "#STATS"})["Item"]
    assert stats["backlog"] == 0
    audit = env["table"].query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
        ExpressionAttributeValues={":pk": f"TICKET#{ticket_id}", ":a": "AUDIT#"},
    )["Items"]
    assert [(a["action"], a["changes"].get("status")) for a in audit] == [
        ("replied", "new -> pending_customer")
    ]


def test_a_reply_can_solve_the_ticket_with_the_answer(env, provider, lambda_context):
    """Solved with the answer: the clock stops, the ticket leaves its agent's list and load,
    its collaborator's list too, and the resolution is counted, in the same request."""
    repo = DynamoRepository(env["table"])
    for agent_id in ("agent-paul", "agent-lea"):
        repo.save_agent(Agent(id=agent_id, name=agent_id, email=f"{agent_id}@example.net"))
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)
    update_ticket(
        repo,
        FixedClock(datetime.now(UTC)),
        ticket_id,
        TicketChange(assignee_id="agent-paul", status=TicketStatus.open, add_collaborators=["agent-lea"]),
        "agent:agent-paul",
    )
    assert [t.id for t in repo.list_tickets(10, None, view="mine", who="agent-lea").items] == [ticket_id]
    _whatsapp_ok(provider)

    status, body = _post(
        ticket_id, {"text": "C'est réglé, bonne journée", "status": "solved"}, lambda_context
    )

    assert status == 201, body
    ticket = _ticket(env, ticket_id)
    assert ticket.status is TicketStatus.solved and ticket.sla.resolved_at is not None
    assert ticket.sla.first_responded_at is not None  # the answer counts as the response too
    for agent_id in ("agent-paul", "agent-lea"):
        assert repo.list_tickets(10, None, view="mine", who=agent_id).items == []
    assert repo.get_agent("agent-paul").value.active_ticket_count == 0
    day = repo.kpis(datetime.now(UTC).strftime("%Y-%m-%d"))
    assert day["all"]["resolved"] == 1 and day["agent:agent-paul"]["resolved"] == 1


def test_a_reply_cannot_close_the_ticket(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)

    status, body = _post(ticket_id, {"text": "Bonne journée", "status": "closed"}, lambda_context)

    assert status == 409 and body["code"] == "invalid_status"
    assert provider.requests == []


def test_without_a_staff_role_the_reply_is_refused(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)

    status, body = _post(ticket_id, {"text": "Bonjour"}, lambda_context, sample="post_reply_no_role")

    assert status == 403 and "agent" in body["message"]
    assert provider.requests == []


def test_unknown_ticket_and_bad_bodies(env, provider, lambda_context):
    status, body = _post("ZZZZZZZZ", {"text": "Bonjour"}, lambda_context)
    assert status == 404 and body["message"] == "ticket ZZZZZZZZ not found"

    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP)
    status, body = _post(ticket_id, {"text": "   "}, lambda_context)
    assert status == 409 and body["code"] == "empty"
    status, _ = _post(ticket_id, {"text": "x", "channel": "fax"}, lambda_context)
    assert status == 422
    status, body = _post(ticket_id, {"text": "x" * 4097}, lambda_context)
    assert status == 409 and body["code"] == "too_long"
    assert provider.requests == []


def test_portal_replies_need_no_provider(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.portal, IdentityClaim(kind=IdentityKind.portal, value="sub-123"))

    status, body = _post(ticket_id, {"text": "Votre devis est prêt dans votre espace."}, lambda_context)

    assert status == 201, body
    assert body["message"]["delivery_status"] == "delivered"
    assert provider.requests == []


# --- canned responses ---------------------------------------------------------------------


def _call(sample: str, lambda_context: Any, **changes: Any) -> tuple[int, Any]:
    event = load_event(f"replies_api/{sample}")
    for key, value in changes.items():
        if key == "groups":
            event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = value
        elif key == "body":
            event["body"] = json.dumps(value)
        elif key == "path":
            event["rawPath"] = event["requestContext"]["http"]["path"] = value
        else:
            event[key] = value
    response = replies.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def test_admins_keep_canned_responses_and_agents_list_them(env, lambda_context):
    status, body = _call("put_canned", lambda_context, groups="[agent]")
    assert status == 403 and "admin" in body["message"]

    status, saved = _call("put_canned", lambda_context)
    assert status == 200, saved
    assert saved["id"] == "shipping-delay" and saved["variants"]["sms"]["body"].startswith("Commande")

    status, listed = _call("list_canned", lambda_context)
    assert status == 200 and [c["id"] for c in listed["items"]] == ["shipping-delay"]
    assert listed["next_cursor"] is None

    status, got = _call("get_canned", lambda_context)
    assert status == 200 and got == saved
    status, _ = _call("get_canned", lambda_context, groups="[supervisor]")
    assert status == 403

    status, _ = _call("delete_canned", lambda_context)
    assert status == 204
    status, body = _call("get_canned", lambda_context)
    assert status == 404 and body["message"] == "canned response shipping-delay not found"


def test_a_canned_template_with_an_unknown_variable_is_refused_at_save_time(env, lambda_context):
    event_body = load_event("replies_api/put_canned")["body"]
    body = json.loads(event_body)
    body["body"] = "Bonjour {{customer.email}}"

    status, answer = _call("put_canned", lambda_context, body=body)

    assert status == 422
    assert "customer.email" in json.dumps(answer)


def test_the_path_id_and_the_body_id_must_agree(env, lambda_context):
    body = json.loads(load_event("replies_api/put_canned")["body"])
    body["id"] = "other"
    status, answer = _call("put_canned", lambda_context, body=body)
    assert status == 422 and answer["errors"][0]["field"] == "id"


def test_preview_on_a_ticket_renders_for_the_channel_with_its_length_check(env, lambda_context):
    phone = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    ticket_id = _seed(env, Channel.sms, phone)
    assert _call("put_canned", lambda_context)[0] == 200
    # The signature is the agent's profile as admins named it, not the token's "Paul Martin".
    DynamoRepository(env["table"]).save_agent(
        Agent(id=PREVIEW_AGENT, name="Paulo Martin", email="paulo@example.net")
    )

    status, body = _call(
        "preview_canned",
        lambda_context,
        path=f"/api/tickets/{ticket_id}/canned/shipping-delay/preview",
        pathParameters={"ticket_id": ticket_id, "canned_id": "shipping-delay"},
    )

    assert status == 200, body
    preview = body["preview"]
    assert preview["channel"] == "sms" and preview["variant"] == "sms"
    assert preview["text"] == "Commande {{order.number}} en route. Paulo"  # no order on this ticket
    assert preview["missing"] == ["order.number"]
    assert body["length"]["segments"] == 1 and body["length"]["encoding"] == "GSM-7"
    assert body["ready"] is False
    assert preview["attachments"][0]["url"] == "https://shop.example/livraison.pdf"


def test_a_bad_canned_cursor_is_a_400(env, lambda_context):
    status, body = _call(
        "list_canned",
        lambda_context,
        rawQueryString="cursor=bm9wZQ",
        queryStringParameters={"cursor": "bm9wZQ"},
    )
    assert status == 400 and "cursor" in body["message"]
