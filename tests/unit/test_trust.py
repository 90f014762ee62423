"""Trust rules (shared/domain/trust.py): what each message proves, which profile it joins, what the
profile takes, what merges, what opens the customer space, where messages may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.auth import Forbidden, customer_from_event
from shared.adapters.channels.portal import PortalAuthor
from shared.domain import trust
from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.identity import IdentityKind, Proof
from shared.domain.inbound import IdentityClaim, InboundMessage

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EMAIL = IdentityClaim(kind=IdentityKind.email, value="lea@example.org")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
ATTACKER_EMAIL = IdentityClaim(kind=IdentityKind.email, value="mallory@example.net")
SUB = IdentityClaim(kind=IdentityKind.portal, value="sub-lea", proof=Proof.sign_in)
PASSING = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}


def _message(channel: Channel, *claims: IdentityClaim, **fields: object) -> InboundMessage:
    return InboundMessage.model_validate(
        {"dedup_key": "k", "channel": channel, "identities": list(claims), "sent_at": NOW, **fields}
    )


def _profile(*held: tuple[IdentityClaim, Proof], customer_id: str = "C1") -> Customer:
    return Customer(
        id=customer_id,
        identities=[Identity(kind=c.kind, value=c.value, first_seen_at=NOW, proof=p) for c, p in held],
        created_at=NOW,
        updated_at=NOW,
    )


# ------------------------------------------------------------------ what a message proves
@pytest.mark.parametrize(
    ("channel", "claim"),
    [
        (Channel.whatsapp, IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678")),
        (Channel.whatsapp, PHONE),
        (Channel.sms, PHONE),
        (Channel.phone, PHONE),
        (Channel.messenger, IdentityClaim(kind=IdentityKind.messenger, value="PSID1")),
        (Channel.instagram, IdentityClaim(kind=IdentityKind.instagram, value="IGSID1")),
    ],
)
def test_the_provider_asserts_the_sender_of_verified_deliveries(channel, claim):
    assert trust.proof_of(_message(channel, claim), claim) is Proof.provider


def test_whatever_a_form_says_is_a_claim():
    message = _message(Channel.web_form, EMAIL, PHONE)
    assert [trust.proof_of(message, c) for c in message.identities] == [Proof.claimed, Proof.claimed]


@pytest.mark.parametrize(
    ("verdicts", "envelope", "proof"),
    [
        (PASSING, "lea@example.org", Proof.provider),
        (PASSING, "bounces@mail.example.org", Proof.provider),  # a subdomain of From's: aligned
        ({"spf": "PASS", "dkim": "PASS", "dmarc": "GRAY"}, "lea@example.org", Proof.provider),  # no policy
        ({"spf": "PASS", "dkim": "PASS", "dmarc": "FAIL"}, "lea@example.org", Proof.claimed),
        ({"spf": "FAIL", "dkim": "PASS", "dmarc": "PASS"}, "lea@example.org", Proof.claimed),
        ({"spf": "PASS", "dkim": "FAIL", "dmarc": "PASS"}, "lea@example.org", Proof.claimed),
        ({}, "lea@example.org", Proof.claimed),
        # Anyone passes SPF and DKIM for their own domain while writing From: someone else.
        (PASSING, "mallory@attacker.example", Proof.claimed),
        (PASSING, "x@notexample.org", Proof.claimed),
        (PASSING, "", Proof.claimed),
    ],
)
def test_mail_is_proven_only_when_ses_authenticated_it_for_the_from_domain(verdicts, envelope, proof):
    message = _message(
        Channel.email, EMAIL, verdicts=verdicts, metadata={"source": envelope} if envelope else {}
    )
    assert trust.proof_of(message, EMAIL) is proof


def test_the_customer_space_says_what_the_sign_in_proves():
    verified = PortalAuthor(subject="sub-lea", email="Lea@Example.org", email_verified=True)
    unverified = PortalAuthor(subject="sub-lea", email="lea@example.org", phone="0612345678")
    assert [(c.kind.value, c.value, c.proof) for c in verified.claims()] == [
        ("portal", "sub-lea", Proof.sign_in),
        ("email", "lea@example.org", Proof.sign_in),
    ]
    assert [c.proof for c in unverified.claims()] == [Proof.sign_in, Proof.claimed, Proof.claimed]
    assert verified.sign_in() == trust.SignIn("sub-lea", verified_email="lea@example.org")
    assert unverified.sign_in() == trust.SignIn("sub-lea")
    message = _message(Channel.portal, *unverified.claims())
    assert trust.proof_of(message, message.identities[1]) is Proof.claimed


def _event(claims: dict[str, object]) -> dict[str, object]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}}}


def test_email_verified_is_read_as_api_gateway_renders_it_and_as_a_token_has_it():
    base = {"sub": "s1", "email": "lea@example.org", "phone_number": "+33612345678"}
    assert customer_from_event(_event({**base, "email_verified": "true"})).sign_in().verified_email
    assert customer_from_event(_event({**base, "email_verified": True})).sign_in().verified_email
    assert customer_from_event(_event({**base, "email_verified": "false"})).sign_in().verified_email is None
    assert customer_from_event(_event(base)).sign_in().verified_email is None
    both = customer_from_event(_event({**base, "email_verified": "true", "phone_number_verified": "true"}))
    assert both.sign_in().verified_phone == "+33612345678"
    with pytest.raises(Forbidden):
        customer_from_event(_event({"email": "lea@example.org", "email_verified": "true"}))


# ------------------------------------------------------------------ which profile a message joins
def test_a_proven_tie_wins_over_an_earlier_claim():
    claims_only = _profile((EMAIL, Proof.claimed), customer_id="D")
    proven = _profile((PHONE, Proof.provider), customer_id="V")
    message = _message(Channel.whatsapp, EMAIL, PHONE)  # the email is a claim even here
    matches = [trust.match(message, EMAIL, claims_only, 1), trust.match(message, PHONE, proven, 1)]
    assert trust.resolve(message, matches).found.customer.id == "V"


def test_a_claim_links_messages_for_agents():
    victim = _profile((PHONE, Proof.provider))
    message = _message(Channel.web_form, ATTACKER_EMAIL, PHONE)
    found = trust.resolve(message, [trust.match(message, PHONE, victim, 1)]).found
    assert found is not None and found.customer.id == "C1" and not found.proven


def test_a_signed_in_customer_never_joins_a_profile_through_a_claim():
    # A form planted the attacker's email on the victim's profile; the attacker then verified it.
    victim = _profile((PHONE, Proof.provider), (ATTACKER_EMAIL, Proof.claimed))
    proven_email = ATTACKER_EMAIL.model_copy(update={"proof": Proof.sign_in})
    message = _message(Channel.portal, SUB, proven_email)
    assert trust.resolve(message, [trust.match(message, proven_email, victim, 1)]).found is None
    # Through a proof, it does: the victim's own verified email.
    own = _profile((EMAIL, Proof.provider))
    email = EMAIL.model_copy(update={"proof": Proof.sign_in})
    message = _message(Channel.portal, SUB, email)
    found = trust.resolve(message, [trust.match(message, email, own, 1)]).found
    assert found is not None and found.proven


def test_a_proven_sender_takes_back_what_a_proven_profile_only_claimed():
    # Stored before proofs: the attacker's own profile holds a proof and the victim's number, typed.
    attacker = _profile((SUB, Proof.sign_in), (PHONE, Proof.claimed))
    sms = _message(Channel.sms, PHONE)
    resolution = trust.resolve(sms, [trust.match(sms, PHONE, attacker, 4)])
    assert resolution.found is None
    [taken_back] = resolution.releases
    release = trust.release(taken_back, NOW)
    assert (release.customer_id, release.version, release.identity.value) == ("C1", 4, PHONE.value)
    assert [i.kind for i in release.remaining] == [IdentityKind.portal]
    assert "phone:+33612345678" in release.timeline.summary
    # A profile of claims only keeps linking: the form's number, then its owner's SMS (one case).
    form = _profile((EMAIL, Proof.claimed), (PHONE, Proof.claimed))
    resolution = trust.resolve(sms, [trust.match(sms, PHONE, form, 1)])
    assert resolution.found is not None and resolution.releases == []


# ------------------------------------------------------------------ what a profile takes
def test_a_new_profile_takes_the_proven_identifiers_or_else_the_claims():
    signed_in = _message(Channel.portal, SUB, EMAIL)  # email unverified: a claim
    assert [(i.kind, i.proof) for i in trust.identities_to_add(None, signed_in, None, NOW)] == [
        (IdentityKind.portal, Proof.sign_in)
    ]
    form = _message(Channel.web_form, EMAIL, PHONE)
    assert [i.proof for i in trust.identities_to_add(None, form, None, NOW)] == [Proof.claimed] * 2


def test_a_claim_adds_nothing_to_a_proven_profile_and_claims_to_a_profile_of_claims():
    form = _message(Channel.web_form, ATTACKER_EMAIL, PHONE)
    victim = _profile((PHONE, Proof.provider))
    via = trust.match(form, PHONE, victim, 1)
    assert trust.identities_to_add(victim, form, via, NOW) == []
    assert trust.left_out(form, [], victim) == ["email:mallory@example.net"]
    claims = _profile((PHONE, Proof.claimed))
    via = trust.match(form, PHONE, claims, 1)
    assert [(i.value, i.proof) for i in trust.identities_to_add(claims, form, via, NOW)] == [
        ("mallory@example.net", Proof.claimed)
    ]
    # A proven sender reaching a profile of claims adds only claims: it gains no proof by a claim.
    whatsapp = _message(
        Channel.whatsapp, IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678"), PHONE
    )
    via = trust.match(whatsapp, PHONE, claims, 1)
    assert {i.proof for i in trust.identities_to_add(claims, whatsapp, via, NOW)} == {Proof.claimed}


def test_a_profile_reached_by_proof_takes_the_proven_identifiers_only():
    email = EMAIL.model_copy(update={"proof": Proof.sign_in})
    message = _message(
        Channel.portal, SUB, email, IdentityClaim(kind=IdentityKind.phone, value="+33700000000")
    )
    own = _profile((EMAIL, Proof.provider))
    added = trust.identities_to_add(own, message, trust.match(message, email, own, 1), NOW)
    assert [(i.kind, i.proof) for i in added] == [(IdentityKind.portal, Proof.sign_in)]


# ------------------------------------------------------------------ merges
def test_merges_need_proof_on_both_sides_unless_nothing_is_proven():
    by_email = _profile((EMAIL, Proof.provider), customer_id="A")
    by_phone = _profile((PHONE, Proof.provider), customer_id="B")
    form = _message(Channel.web_form, EMAIL, PHONE)
    assert not trust.may_merge(form, by_email, EMAIL, by_phone, PHONE)
    proven = [c.model_copy(update={"proof": Proof.sign_in}) for c in (EMAIL, PHONE)]
    signed_in = _message(Channel.portal, SUB, *proven)
    assert trust.may_merge(signed_in, by_email, proven[0], by_phone, proven[1])
    typed_phone = _profile((PHONE, Proof.claimed), customer_id="B")  # proven message, claimed there
    assert not trust.may_merge(signed_in, by_email, proven[0], typed_phone, proven[1])
    claims_a, claims_b = _profile((EMAIL, Proof.claimed)), _profile((PHONE, Proof.claimed))
    assert trust.may_merge(form, claims_a, EMAIL, claims_b, PHONE)


# ------------------------------------------------------------------ the customer space
def test_the_customer_space_opens_only_through_what_the_sign_in_proves_and_the_profile_holds_proven():
    profile = _profile((SUB, Proof.sign_in), (EMAIL, Proof.provider), (ATTACKER_EMAIL, Proof.claimed))
    assert trust.opens_for(profile, IdentityKind.portal, "sub-lea")
    assert trust.opens_for(profile, IdentityKind.email, EMAIL.value)
    assert not trust.opens_for(profile, IdentityKind.email, ATTACKER_EMAIL.value)
    assert not trust.opens_for(profile, IdentityKind.email, "nobody@example.org")
    joined_by_claim = _profile((SUB, Proof.claimed))
    assert not trust.opens_for(joined_by_claim, IdentityKind.portal, "sub-lea")
    merged = profile.model_copy(update={"merged_into": "C9"})
    assert not trust.opens_for(merged, IdentityKind.portal, "sub-lea")


def test_messages_about_a_proven_profile_go_to_proven_addresses_only():
    mixed = _profile((PHONE, Proof.provider), (ATTACKER_EMAIL, Proof.claimed))
    assert [i.value for i in trust.addressable(mixed)] == [PHONE.value]
    claims = _profile((EMAIL, Proof.claimed), (PHONE, Proof.claimed))
    assert len(trust.addressable(claims)) == 2


# ------------------------------------------------------------------ data stored before proofs
def _stored(*identities: dict[str, object], created_at: str = "2026-01-10T09:00:00+00:00") -> Customer:
    return Customer.model_validate(
        {"id": "C1", "identities": list(identities), "created_at": created_at, "updated_at": created_at}
    )


@pytest.mark.parametrize(
    ("kind", "channel", "proof"),
    [
        ("whatsapp", "whatsapp", "provider"),
        ("whatsapp_user", "whatsapp", "provider"),
        ("messenger", "messenger", "provider"),
        ("instagram", "instagram", "provider"),
        ("phone", "sms", "provider"),
        ("phone", "whatsapp", "provider"),
        ("phone", "phone", "provider"),
        ("phone", "web_form", "claimed"),  # typed in a form
        ("phone", None, "claimed"),  # a shop's order
        ("email", "email", "claimed"),  # stored without checking the mail's authentication
        ("email", "web_form", "claimed"),
        ("email", "portal", "claimed"),  # stored without checking email_verified
        ("shopify", None, "claimed"),
    ],
)
def test_identities_stored_before_proofs_are_read_the_safest_way(kind, channel, proof):
    value = "+33612345678" if kind == "phone" else "lea@example.org" if kind == "email" else "X1"
    stored = {"kind": kind, "value": value, "first_seen_at": "2026-02-01T09:00:00+00:00", "verified": False}
    if channel:
        stored["source_channel"] = channel
    assert _stored(stored).identities[0].proof.value == proof


def test_a_stored_customer_space_id_is_the_sign_in_only_on_the_profile_it_created():
    created = "2026-01-10T09:00:00+00:00"
    own = {"kind": "portal", "value": "sub-1", "source_channel": "portal", "first_seen_at": created}
    assert _stored(own, created_at=created).identities[0].proof is Proof.sign_in
    # Joined later through the token's email (the takeover): a claim, which opens nothing.
    joined = {**own, "first_seen_at": (datetime.fromisoformat(created) + timedelta(days=3)).isoformat()}
    assert _stored(joined, created_at=created).identities[0].proof is Proof.claimed
    # A proof once stored is kept as it is.
    assert _stored({**joined, "proof": "sign_in"}).identities[0].proof is Proof.sign_in
