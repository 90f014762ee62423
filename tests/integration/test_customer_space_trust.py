"""The customer-space takeover (issue 15, item 1) through the real handlers on moto: the public form,
the processor and the customer space. A claim typed in a form links messages for agents; it never
opens anyone's customer space, and data stored before proof levels is read the safest way."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from functions.form_webhook.handler import handler as form_webhook
from functions.inbound_processor.handler import handler as processor
from functions.portal_api.handler import handler as portal_api
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import to_item
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.customer import Customer
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from tests.support import FixedClock, LambdaContext, api_event, load_event, sqs_event

VICTIM_PHONE = "+33612345678"
VICTIM_EMAIL = "claire.dubois@example.org"
ATTACKER_EMAIL = "mallory@attacker.example"
ATTACKER_PHONE = "+33798765432"
ATTACKER_SUB = "sub-mallory"


def _process(aws: dict[str, Any]) -> None:
    while True:
        messages = (
            aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages")
        )
        if not messages:
            return
        assert processor(sqs_event(messages), LambdaContext()) == {"batchItemFailures": []}
        for m in messages:
            aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=m["ReceiptHandle"])


def _form(aws: dict[str, Any], email: str, phone: str, text: str) -> None:
    event = load_event("form_webhook/json_submission")
    body = json.loads(event["body"])
    body.update(email=email, phone=phone, message=text, client_submission_id=uuid.uuid4().hex)
    event["body"] = json.dumps(body)
    assert form_webhook(event, LambdaContext())["statusCode"] == 202
    _process(aws)


def _as(sub: str, email: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A customer-space call with a Cognito ID token for ``email``, verified (as API Gateway renders it)."""
    claims = {"sub": sub, "email": email, "email_verified": "true", "name": "Mallory"}
    event = api_event("portal_api/post_message", method, path, body=body, claims=claims)
    response = portal_api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _victim_sms(aws: dict[str, Any], text: str) -> str:
    repo = DynamoRepository(aws["table"])
    sms = InboundMessage(
        dedup_key=f"sms:{text}",
        channel=Channel.sms,
        identities=[IdentityClaim(kind=IdentityKind.phone, value=VICTIM_PHONE)],
        text=text,
        sent_at=datetime.now(UTC),
    )
    result = record_event(repo, FixedClock(datetime.now(UTC)), sms)
    assert result.ticket_id is not None
    return result.ticket_id


def _attacker_reads(aws: dict[str, Any]) -> tuple[list[str], str]:
    """The attacker writes from their own verified space, then lists what it shows."""
    status, _ = _as(ATTACKER_SUB, ATTACKER_EMAIL, "POST", "/api/portal/messages", {"text": "Bonjour"})
    assert status == 202
    _process(aws)
    status, listed = _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", "/api/portal/tickets")
    assert status == 200
    return [t["id"] for t in listed["items"]], json.dumps(listed)


def test_a_form_with_the_victims_phone_opens_nothing_of_theirs(aws):
    victim_ticket = _victim_sms(aws, "Mon IBAN est FR76 3000 6000 0112 3456 7890 189")
    _form(aws, ATTACKER_EMAIL, VICTIM_PHONE, "Je change d'adresse email")

    repo = DynamoRepository(aws["table"])
    victim_id = repo.identity_owner("phone", VICTIM_PHONE)
    # For agents, the form is linked to the victim's case, with the evidence; the email stays off it.
    assert repo.identity_owner("email", ATTACKER_EMAIL) is None
    _, page = repo.ticket_messages(victim_ticket, limit=10, cursor=None)
    form = next(m for m in page.items if m.channel is Channel.web_form)
    assert form.metadata["identity_linked_by"] == f"claim (phone:{VICTIM_PHONE})"
    assert form.metadata["identifiers_not_added"] == f"email:{ATTACKER_EMAIL}"

    ids, listed = _attacker_reads(aws)

    assert victim_ticket not in ids and "IBAN" not in listed and len(ids) == 1
    assert _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", f"/api/portal/tickets/{victim_ticket}")[0] == 404
    rating = _as(
        ATTACKER_SUB, ATTACKER_EMAIL, "POST", f"/api/portal/tickets/{victim_ticket}/rating", {"score": 1}
    )
    assert rating[0] == 404
    # The attacker got a profile of their own; the victim's holds no trace of the attacker.
    attacker_id = repo.identity_owner("portal", ATTACKER_SUB)
    assert attacker_id not in (None, victim_id)
    victim = repo.get_customer(victim_id).value
    assert {(i.kind.value, i.value) for i in victim.identities} == {("phone", VICTIM_PHONE)}


def test_two_forms_chaining_the_victims_email_to_the_attackers_open_nothing(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock(datetime.now(UTC))
    authenticated = InboundMessage(
        dedup_key="email:<iban@example.org>",
        channel=Channel.email,
        identities=[IdentityClaim(kind=IdentityKind.email, value=VICTIM_EMAIL)],
        subject="Remboursement",
        text="Voici mon RIB : FR76 3000 6000 0112 3456 7890 189",
        verdicts={"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
        metadata={"source": VICTIM_EMAIL},
        sent_at=clock.now(),
    )
    victim_ticket = record_event(repo, clock, authenticated).ticket_id
    _form(aws, VICTIM_EMAIL, ATTACKER_PHONE, "premier formulaire")
    _form(aws, ATTACKER_EMAIL, ATTACKER_PHONE, "second formulaire")

    ids, listed = _attacker_reads(aws)

    assert victim_ticket not in ids and "RIB" not in listed
    status, body = _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", f"/api/portal/tickets/{victim_ticket}")
    assert status == 404 and "RIB" not in json.dumps(body)
    assert repo.identity_owner("phone", ATTACKER_PHONE) != repo.identity_owner("email", VICTIM_EMAIL)


def test_the_victim_signing_in_with_their_verified_email_sees_their_case(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock(datetime.now(UTC))
    authenticated = InboundMessage(
        dedup_key="email:<hello@example.org>",
        channel=Channel.email,
        identities=[IdentityClaim(kind=IdentityKind.email, value=VICTIM_EMAIL)],
        text="Bonjour",
        verdicts={"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
        metadata={"source": VICTIM_EMAIL},
        sent_at=clock.now(),
    )
    ticket = record_event(repo, clock, authenticated).ticket_id

    status, listed = _as("sub-claire", VICTIM_EMAIL, "GET", "/api/portal/tickets")

    assert status == 200 and [t["id"] for t in listed["items"]] == [ticket]
    # The same email, not verified by the sign-in, opens nothing.
    claims = {"sub": "sub-other", "email": VICTIM_EMAIL, "email_verified": "false"}
    event = api_event("portal_api/post_message", "GET", "/api/portal/tickets", claims=claims)
    assert json.loads(portal_api(event, LambdaContext())["body"])["items"] == []


# ------------------------------------------------------------------ data stored by the old code
def _store_old_profile(
    aws: dict[str, Any], customer_id: str, created: datetime, identities: list[dict]
) -> None:
    """A profile as the code before proof levels stored it: identities without a proof, and the
    identity records naming it."""
    customer = Customer(id=customer_id, created_at=created, updated_at=created)
    item = to_item(
        customer, "customer", {"pk": keys.customer_pk(customer_id), "sk": keys.PROFILE_SK}, version=1
    )
    item["identities"] = identities
    aws["table"].put_item(Item=item)
    for identity in identities:
        aws["table"].put_item(
            Item={
                "pk": keys.identity_pk(identity["kind"], identity["value"]),
                "sk": keys.IDENT_SK,
                "entity": "identity",
                "customer_id": customer_id,
                "kind": identity["kind"],
            }
        )


def test_a_takeover_stored_by_the_old_code_opens_nothing(aws):
    created = datetime.now(UTC) - timedelta(days=30)
    later = (created + timedelta(days=2)).isoformat()
    _store_old_profile(
        aws,
        "COLDVICTIM",
        created,
        [
            {
                "kind": "phone",
                "value": VICTIM_PHONE,
                "source_channel": "sms",
                "first_seen_at": created.isoformat(),
            },
            {"kind": "email", "value": ATTACKER_EMAIL, "source_channel": "web_form", "first_seen_at": later},
            {"kind": "portal", "value": ATTACKER_SUB, "source_channel": "portal", "first_seen_at": later},
        ],
    )
    victim_ticket = _victim_sms(aws, "Mon IBAN est FR76 3000 6000 0112 3456 7890 189")
    assert DynamoRepository(aws["table"]).get_ticket(victim_ticket).value.customer_id == "COLDVICTIM"

    status, _ = _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", f"/api/portal/tickets/{victim_ticket}")
    assert status == 404
    status, listed = _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", "/api/portal/tickets")
    assert status == 200 and listed["items"] == []


def test_a_customer_space_profile_stored_by_the_old_code_still_opens_for_its_owner(aws):
    created = datetime.now(UTC) - timedelta(days=30)
    _store_old_profile(
        aws,
        "COLDOWNER",
        created,
        [
            {
                "kind": "portal",
                "value": "sub-owner",
                "source_channel": "portal",
                "first_seen_at": created.isoformat(),
            }
        ],
    )
    status, _ = _as("sub-owner", "owner@example.org", "POST", "/api/portal/messages", {"text": "Toujours là"})
    assert status == 202
    _process(aws)
    status, listed = _as("sub-owner", "owner@example.org", "GET", "/api/portal/tickets")
    assert status == 200 and len(listed["items"]) == 1
    assert listed["items"][0]["customer_id"] == "COLDOWNER"


def test_the_owner_of_a_number_claimed_on_a_proven_profile_takes_it_back(aws):
    # The old code let an attacker type the victim's number in a form on their own (signed-in)
    # profile: the victim's SMS would have landed there, readable in the attacker's space.
    created = datetime.now(UTC) - timedelta(days=30)
    _store_old_profile(
        aws,
        "COLDATTACKER",
        created,
        [
            {
                "kind": "portal",
                "value": ATTACKER_SUB,
                "source_channel": "portal",
                "first_seen_at": created.isoformat(),
            },
            {
                "kind": "phone",
                "value": VICTIM_PHONE,
                "source_channel": "web_form",
                "first_seen_at": (created + timedelta(days=1)).isoformat(),
            },
        ],
    )

    victim_ticket = _victim_sms(aws, "Mon code d'accès est 4321")

    repo = DynamoRepository(aws["table"])
    victim_id = repo.identity_owner("phone", VICTIM_PHONE)
    assert victim_id not in (None, "COLDATTACKER")
    attacker = repo.get_customer("COLDATTACKER")
    assert [i.kind.value for i in attacker.value.identities] == ["portal"]
    timeline = aws["table"].query(
        KeyConditionExpression=Key("pk").eq(keys.customer_pk("COLDATTACKER")) & Key("sk").begins_with("TL#")
    )["Items"]
    assert [t["kind"] for t in timeline] == ["identity_released"]
    status, listed = _as(ATTACKER_SUB, ATTACKER_EMAIL, "GET", "/api/portal/tickets")
    assert status == 200 and victim_ticket not in [t["id"] for t in listed["items"]]
    # The number now leads to its owner: the next SMS joins the same case.
    assert _victim_sms(aws, "Et encore") == victim_ticket
