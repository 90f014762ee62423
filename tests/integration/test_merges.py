"""One message proving identifiers of two proven profiles merges them; an agent can undo it. A claim
(a form) merges only profiles made of claims: it never merges a profile that holds a proof."""

from __future__ import annotations

from boto3.dynamodb.conditions import Key

from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind, Proof
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from shared.services.merges import undo_merge
from tests.support import FixedClock

EMAIL = IdentityClaim(kind=IdentityKind.email, value="jean@example.net")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")


def _message(clock, key, identities, channel=Channel.web_form):
    return InboundMessage(
        dedup_key=key, channel=channel, identities=identities, text=key, sent_at=clock.now()
    )


def _authenticated_email(clock, key):
    """Mail SES authenticated (SPF, DKIM, DMARC pass, envelope in the From domain): proven."""
    return InboundMessage(
        dedup_key=key,
        channel=Channel.email,
        identities=[EMAIL],
        text=key,
        verdicts={"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
        metadata={"source": "bounce@example.net"},
        sent_at=clock.now(),
    )


def _signed_in_with_both(clock, key):
    """A customer-space message whose sign-in verified both the email and the phone."""
    proven = [c.model_copy(update={"proof": Proof.sign_in}) for c in (EMAIL, PHONE)]
    sub = IdentityClaim(kind=IdentityKind.portal, value="sub-jean", proof=Proof.sign_in)
    return InboundMessage(
        dedup_key=key, channel=Channel.portal, identities=[sub, *proven], text=key, sent_at=clock.now()
    )


def _proven_profiles(repo, clock):
    by_email = record_event(repo, clock, _authenticated_email(clock, "email:1"))
    clock.advance(hours=1)
    by_phone = record_event(repo, clock, _message(clock, "sms:1", [PHONE], Channel.sms))
    assert by_email.customer_id != by_phone.customer_id
    clock.advance(hours=1)
    return by_email, by_phone


def _two_profiles(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    by_email, by_phone = _proven_profiles(repo, clock)
    linking = record_event(repo, clock, _signed_in_with_both(clock, "portal:1"))
    return repo, clock, by_email, by_phone, linking


def test_a_message_with_both_identifiers_merges_the_two_profiles_with_evidence(aws):
    repo, _, by_email, by_phone, linking = _two_profiles(aws)

    survivor = repo.get_customer(by_email.customer_id).value  # the older profile survives
    merged = repo.get_customer(by_phone.customer_id).value
    assert linking.customer_id == survivor.id
    assert merged.merged_into == survivor.id
    assert repo.identity_owner("phone", "+33612345678") == survivor.id
    assert {(i.kind.value, i.value, i.proof.value) for i in survivor.identities} == {
        ("email", "jean@example.net", "provider"),
        ("phone", "+33612345678", "provider"),
        ("portal", "sub-jean", "sign_in"),
    }
    [evidence] = survivor.merges
    assert evidence.merged_customer_id == merged.id
    assert evidence.identifiers == ["email:jean@example.net", "phone:+33612345678"]
    assert evidence.rule == "one message carried identifiers of both profiles"
    assert survivor.traits.contacts_per_channel[Channel.sms] == 1  # the merged profile's contacts follow
    timeline = aws["table"].query(
        KeyConditionExpression=Key("pk").eq(f"CUSTOMER#{survivor.id}") & Key("sk").begins_with("TL#")
    )["Items"]
    assert "merge" in [t["kind"] for t in timeline]


def test_after_a_merge_either_identifier_finds_the_survivor(aws):
    repo, clock, by_email, _, _ = _two_profiles(aws)
    clock.advance(hours=1)

    later = record_event(repo, clock, _message(clock, "sms:2", [PHONE], Channel.sms))

    assert later.customer_id == by_email.customer_id


def test_an_agent_can_undo_the_merge(aws):
    repo, clock, by_email, by_phone, _ = _two_profiles(aws)
    clock.advance(minutes=5)

    restored = undo_merge(repo, clock, by_email.customer_id, by_phone.customer_id, by="agent:paul")

    assert {i.kind.value for i in restored.identities} == {"email", "portal"}
    assert restored.merges[0].undone_by == "agent:paul"
    assert restored.traits.contacts_per_channel.get(Channel.sms, 0) == 0
    assert repo.get_customer(by_phone.customer_id).value.merged_into is None
    assert repo.identity_owner("phone", "+33612345678") == by_phone.customer_id
    clock.advance(minutes=1)
    again = record_event(repo, clock, _message(clock, "sms:3", [PHONE], Channel.sms))
    assert again.customer_id == by_phone.customer_id


def test_an_undone_merge_is_not_redone_by_the_next_linking_message(aws):
    repo, clock, by_email, by_phone, _ = _two_profiles(aws)
    undo_merge(repo, clock, by_email.customer_id, by_phone.customer_id, by="agent:paul")
    clock.advance(minutes=1)

    linking_again = record_event(repo, clock, _signed_in_with_both(clock, "portal:2"))

    assert linking_again.customer_id == by_email.customer_id
    assert repo.get_customer(by_phone.customer_id).value.merged_into is None
    assert repo.identity_owner("phone", "+33612345678") == by_phone.customer_id


def test_a_company_contact_merged_into_another_profile_brings_the_company_and_undo_takes_it_back(aws):
    import json

    from functions.agent_api.handler import handler as agent_api
    from tests.support import LambdaContext, api_event

    def call(method, path, body=None):
        event = api_event(
            "agent_api/get_ticket", method, path, body=body, claims={"cognito:groups": "[supervisor]"}
        )
        response = agent_api(event, LambdaContext())
        return response["statusCode"], json.loads(response["body"])

    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    by_email, by_phone = _proven_profiles(repo, clock)
    assert call("PUT", "/api/accounts/ACME", {"name": "Acme SAS"})[0] == 200
    status, body = call(
        "PUT",
        f"/api/accounts/ACME/contacts/{by_phone.customer_id}",
        {"name": "Jean Martin", "roles": ["billing"]},
    )
    assert status == 200, body
    clock.advance(hours=1)

    record_event(repo, clock, _signed_in_with_both(clock, "portal:1"))  # proves both: merge

    survivor = repo.get_customer(by_email.customer_id).value
    assert survivor.account_id == "ACME"
    assert survivor.merges[0].moved_account_id == "ACME"
    status, view = call("GET", f"/api/customers/{survivor.id}")
    assert status == 200
    assert view["account"]["id"] == "ACME"

    restored = undo_merge(repo, clock, by_email.customer_id, by_phone.customer_id, by="agent:paul")

    assert restored.account_id is None
    assert repo.get_customer(by_phone.customer_id).value.account_id == "ACME"  # never left it


def test_a_form_typing_both_identifiers_never_merges_profiles_that_hold_proofs(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    by_email, by_phone = _proven_profiles(repo, clock)

    typed = record_event(repo, clock, _message(clock, "form:1", [EMAIL, PHONE]))

    # The form links its message for agents to the first profile it names, with the evidence,
    # and changes neither profile: the phone stays with its owner, nothing merged.
    assert typed.customer_id == by_email.customer_id
    assert repo.get_customer(by_phone.customer_id).value.merged_into is None
    assert repo.identity_owner("phone", "+33612345678") == by_phone.customer_id
    assert {i.kind.value for i in repo.get_customer(by_email.customer_id).value.identities} == {"email"}
    [message] = [
        m
        for m in repo.ticket_messages(typed.ticket_id, limit=10, cursor=None)[1].items
        if m.channel is Channel.web_form
    ]
    assert message.metadata["identity_linked_by"] == "claim (email:jean@example.net)"
    assert message.metadata["identifiers_not_added"] == "phone:+33612345678"


def test_forms_link_profiles_made_of_claims_only(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    first = record_event(repo, clock, _message(clock, "form:1", [EMAIL]))
    clock.advance(hours=1)
    second = record_event(repo, clock, _message(clock, "form:2", [PHONE]))
    clock.advance(hours=1)

    record_event(repo, clock, _message(clock, "form:3", [EMAIL, PHONE]))

    assert repo.get_customer(second.customer_id).value.merged_into == first.customer_id
    survivor = repo.get_customer(first.customer_id).value
    assert {(i.kind.value, i.proof.value) for i in survivor.identities} == {
        ("email", "claimed"),
        ("phone", "claimed"),
    }
