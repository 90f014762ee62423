"""Writing to a third party from the ticket (POST /api/tickets/{id}/replies with party_id), and
the party's answer threading back: the customer's conversation, clock and channel stay theirs."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage, ThreadHints
from shared.domain.message import PartyRole
from shared.domain.parties import PartyIn
from shared.services import customers, parties
from shared.services.ingest import record_message
from tests.integration import test_replies_api as replies_tests
from tests.integration.test_outbound_clients import Answer
from tests.support import FixedClock

CARRIER_EMAIL = "litiges@transports-rapides.fr"
WHATSAPP = replies_tests.WHATSAPP
env = replies_tests.env  # the replies function on moto, providers faked at the HTTP boundary
provider = replies_tests.provider
_messages, _post, _seed, _ticket = (
    replies_tests._messages,
    replies_tests._post,
    replies_tests._seed,
    replies_tests._ticket,
)


def _add(env: dict[str, Any], ticket_id: str, **fields: Any) -> str:
    ticket = parties.add_party(
        DynamoRepository(env["table"]),
        FixedClock(datetime.now(UTC)),
        ticket_id,
        PartyIn(**fields),
        "agent:paul",
    )
    return ticket.parties[-1].id


def test_an_email_to_the_carrier_goes_to_its_address_and_its_answer_threads_back(
    env, provider, lambda_context
):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(minutes=10))
    carrier = _add(env, ticket_id, role=PartyRole.carrier, name="Transports Rapides", email=CARRIER_EMAIL)

    status, body = _post(
        ticket_id,
        {"party_id": carrier, "text": "Pouvez-vous localiser le colis ?", "status": "pending_third_party"},
        lambda_context,
    )

    assert status == 201, body
    assert body["channel"] == "email"  # a party is written to by email when it has an address
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[-1]
    mail = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert mail["To"].addresses[0].addr_spec == CARRIER_EMAIL
    assert mail["Reply-To"] == f"support+t{ticket_id}@guichet.local"
    assert body["message"]["party_id"] == carrier
    ticket = _ticket(env, ticket_id)
    assert ticket.status.value == "pending_third_party"
    assert ticket.sla.first_responded_at is None  # the customer has not been answered yet
    assert ticket.sla.paused_since is not None  # waiting on the carrier pauses the clock
    assert ticket.last_inbound_channel is Channel.whatsapp

    # the carrier answers the email: the plus-address brings it back to the ticket, as the carrier's
    now = datetime.now(UTC)
    record_message(
        DynamoRepository(env["table"]),
        FixedClock(now),
        InboundMessage(
            dedup_key="email:<answer@transports-rapides.fr>",
            channel=Channel.email,
            identities=[IdentityClaim(kind=IdentityKind.email, value=CARRIER_EMAIL)],
            subject=f"Re: colis [#{ticket_id}]",
            text="Colis retrouvé à Lyon.",
            thread_hints=ThreadHints(
                plus_tag_ticket=ticket_id, in_reply_to=body["message"]["provider_ids"]["message_id"]
            ),
            sent_at=now,
        ),
    )
    answer = [m for m in _messages(env, ticket_id) if m.direction.value == "inbound" and m.party_id]
    assert [(m.party_role.value, m.party_id) for m in answer] == [("carrier", carrier)]
    assert _ticket(env, ticket_id).status.value == "open"  # the wait on the carrier is over
    _, visible = customers.own_ticket(DynamoRepository(env["table"]), ticket.customer_id, ticket_id, 50)
    assert [m.direction.value for m in visible] == ["inbound"]  # only the customer's own message


def test_the_customer_reply_after_a_party_exchange_still_goes_to_the_customer(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(minutes=10))
    supplier = _add(env, ticket_id, role=PartyRole.supplier, phone="+33698765432")
    provider.script(Answer(201, {"sid": "SM" + "b" * 32, "status": "queued", "num_segments": "1"}))

    status, body = _post(ticket_id, {"party_id": supplier, "text": "Stock dispo ?"}, lambda_context)

    assert status == 201, body
    assert body["channel"] == "sms"
    assert dict(provider.requests[0].form())["To"] == "+33698765432"
    replies_tests._whatsapp_ok(provider)
    status, body = _post(ticket_id, {"text": "Nous vérifions le stock."}, lambda_context)
    assert status == 201, body
    assert body["channel"] == "whatsapp"
    assert provider.requests[1].json()["to"] == "33612345678"
    assert _ticket(env, ticket_id).sla.first_responded_at is not None


def test_a_party_cannot_be_written_to_on_a_customer_channel_or_when_unknown(env, provider, lambda_context):
    ticket_id = _seed(env, Channel.whatsapp, WHATSAPP, ago=timedelta(minutes=10))
    carrier = _add(env, ticket_id, role=PartyRole.carrier, email=CARRIER_EMAIL)

    status, body = _post(ticket_id, {"party_id": carrier, "text": "x", "channel": "whatsapp"}, lambda_context)
    assert status == 409
    assert body["code"] == "party_channel"
    status, body = _post(ticket_id, {"party_id": carrier, "text": "x", "channel": "sms"}, lambda_context)
    assert status == 409
    assert body["code"] == "no_address"  # registered by email only
    status, body = _post(ticket_id, {"party_id": "P-nobody", "text": "x"}, lambda_context)
    assert status == 404
    assert provider.requests == []
