"""Trust: what a message proves about its identifiers, and what each proof allows.

An identifier is tied to a profile by a proof (``Proof``): the channel's provider asserts the
sender, the customer's own sign-in proves it, or it is only claimed. The rules (docs/security.md):

1. A message joins the profile of its first identifier tied by proof on both sides (proven by this
   message and held as proven by the profile). Failing that, the first identifier with an owner
   decides: a claim links messages for agents. A signed-in customer's message never joins a
   profile through a claim (only through its own customer-space id or a proof).
2. What a message adds: a new profile takes the message's proven identifiers (its claims only when
   nothing is proven); a profile reached by proof takes the proven ones; a profile reached by a
   claim takes nothing unless it holds no proof itself (then the claims). So a profile that holds
   a proven identifier never holds a claim, and a profile of claims never gains a proof by a claim.
3. Two profiles are merged automatically only when the message proves both identifiers and both
   profiles hold them as proven, or when neither profile holds any proof.
4. The customer space opens a profile only through an identifier the sign-in itself proves (the
   sub, an email_verified email, a verified phone) that the profile holds as proven.
5. Messages about a profile that holds a proven identifier go to proven addresses only.

Identifiers stored before proofs existed are read the safest way (``legacy_proof``); where such a
profile holds a proven identifier and a claim, a message proving the claimed identifier takes it
back (``Release``), so the claimant's profile never receives its owner's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.identity import IdentityKind, Proof
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.timeline import TimelineEntry

# Identifiers each channel's provider asserts for the sender (the webhook verified the delivery).
PROVIDER_ASSERTED: dict[Channel, frozenset[IdentityKind]] = {
    Channel.whatsapp: frozenset({IdentityKind.whatsapp, IdentityKind.whatsapp_user, IdentityKind.phone}),
    Channel.sms: frozenset({IdentityKind.phone, IdentityKind.whatsapp}),
    Channel.phone: frozenset({IdentityKind.phone}),
    Channel.messenger: frozenset({IdentityKind.messenger}),
    Channel.instagram: frozenset({IdentityKind.instagram}),
}
PASS = "PASS"  # noqa: S105 (an SES verdict, not a password)


def proof_of(message: InboundMessage, claim: IdentityClaim) -> Proof:
    """What ``message`` proves about one of its identifiers: what its adapter said (the customer
    space's sign-in), else what its channel's provider asserts, else a claim."""
    if claim.proof is not Proof.claimed:
        return claim.proof
    if claim.kind in PROVIDER_ASSERTED.get(message.channel, frozenset()):
        return Proof.provider
    if message.channel is Channel.email and claim.kind is IdentityKind.email:
        return Proof.provider if authenticated_mail(message, claim.value) else Proof.claimed
    return Proof.claimed


def authenticated_mail(message: InboundMessage, sender: str) -> bool:
    """SES says SPF and DKIM pass and DMARC does not fail, and the envelope sender (what SPF
    checked) is in the From address's domain: a DKIM signature of any domain with a passing SPF
    of another would otherwise let anyone write as anyone."""
    verdicts = message.verdicts
    if verdicts.get("spf") != PASS or verdicts.get("dkim") != PASS or verdicts.get("dmarc") == "FAIL":
        return False
    envelope = message.metadata.get("source", "")
    return bool(envelope) and aligned(_domain(envelope), _domain(sender))


def aligned(envelope_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    if not envelope_domain or not from_domain:
        return False
    return (
        envelope_domain == from_domain
        or envelope_domain.endswith("." + from_domain)
        or from_domain.endswith("." + envelope_domain)
    )


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").strip(".").lower()


def signed_in(message: InboundMessage) -> bool:
    """A message from the customer space (its sub is proven by the sign-in)."""
    return any(c.kind is IdentityKind.portal and c.proof is Proof.sign_in for c in message.identities)


@dataclass(frozen=True)
class Match:
    """One of the message's identifiers and the profile that owns it."""

    claim: IdentityClaim
    proof: Proof  # what the message proves about it
    customer: Customer
    version: int

    @property
    def held(self) -> Proof:
        """How the profile holds it (a claim when it does not: an inconsistent record)."""
        identity = self.customer.identity(self.claim.kind, self.claim.value)
        return identity.proof if identity is not None else Proof.claimed

    @property
    def proven(self) -> bool:
        return self.proof.proven and self.held.proven

    @property
    def label(self) -> str:
        return f"{self.claim.kind.value}:{self.claim.value}"


def match(message: InboundMessage, claim: IdentityClaim, customer: Customer, version: int) -> Match:
    return Match(claim, proof_of(message, claim), customer, version)


@dataclass(frozen=True)
class Resolution:
    found: Match | None
    releases: list[Match]  # claims on proven profiles that this message's proof takes back


def resolve(message: InboundMessage, matches: list[Match]) -> Resolution:
    """Rule 1 over the owned identifiers (in the message's order): the profile the message joins."""
    proven = next((m for m in matches if m.proven), None)
    if proven is not None:
        return Resolution(proven, [])
    if signed_in(message):
        own = next((m for m in matches if m.claim.kind is IdentityKind.portal), None)
        return Resolution(own, [])
    releases: list[Match] = []
    for candidate in matches:
        if must_release(candidate):
            releases.append(candidate)
            continue
        return Resolution(candidate, releases)
    return Resolution(None, releases)


def must_release(candidate: Match) -> bool:
    """A proven identifier that a proven profile holds only as a claim (stored before proofs):
    its owner writing must not land in that profile."""
    return candidate.proof.proven and not candidate.held.proven and candidate.customer.holds_proof


def wants_more_lookups(matches: list[Match]) -> bool:
    """Identifiers are looked up in order until one is tied by proof on both sides."""
    return not any(m.proven for m in matches)


def identities_to_add(
    customer: Customer | None, message: InboundMessage, via: Match | None, now: datetime
) -> list[Identity]:
    """Rule 2: the message's identifiers the profile gains (``customer`` None: a new profile)."""
    assessed = [(claim, proof_of(message, claim)) for claim in message.identities]
    if customer is None:
        chosen = [(c, p) for c, p in assessed if p.proven] or assessed
    elif via is not None and via.proven:
        chosen = [(c, p) for c, p in assessed if p.proven]
    elif customer.holds_proof:
        chosen = []
    else:
        chosen = [(c, Proof.claimed) for c, _ in assessed]
    return [
        Identity(kind=c.kind, value=c.value, source_channel=message.channel, first_seen_at=now, proof=p)
        for c, p in chosen
        if customer is None or not customer.has_identity(c.kind, c.value)
    ]


def left_out(message: InboundMessage, added: list[Identity], customer: Customer | None) -> list[str]:
    """The message's identifiers the profile did not take (evidence for agents)."""
    kept = {(i.kind, i.value) for i in added}
    return [
        f"{c.kind.value}:{c.value}"
        for c in message.identities
        if (c.kind, c.value) not in kept and (customer is None or not customer.has_identity(c.kind, c.value))
    ]


def may_merge(
    message: InboundMessage,
    resolved: Customer,
    resolved_claim: IdentityClaim | None,
    owner: Customer,
    owner_claim: IdentityClaim,
) -> bool:
    """Rule 3: merge the profile the message resolved to with the owner of another of its
    identifiers?"""
    if not resolved.holds_proof and not owner.holds_proof:
        return True  # claims link claims: nothing proven is at stake
    if resolved_claim is None:
        return False
    on_resolved = resolved.identity(resolved_claim.kind, resolved_claim.value)
    on_owner = owner.identity(owner_claim.kind, owner_claim.value)
    return (
        proof_of(message, resolved_claim).proven
        and proof_of(message, owner_claim).proven
        and on_resolved is not None
        and on_resolved.proof.proven
        and on_owner is not None
        and on_owner.proof.proven
    )


@dataclass(frozen=True)
class SignIn:
    """What a customer-space token proves: its sub, and its email/phone when verified."""

    subject: str
    verified_email: str | None = None  # normalised
    verified_phone: str | None = None  # E.164

    def identifiers(self) -> list[tuple[IdentityKind, str]]:
        found = [(IdentityKind.portal, self.subject)] if self.subject else []
        if self.verified_email:
            found.append((IdentityKind.email, self.verified_email))
        if self.verified_phone:
            found.append((IdentityKind.phone, self.verified_phone))
        return found


def opens_for(customer: Customer, kind: IdentityKind, value: str) -> bool:
    """Rule 4: the profile holds this sign-in-proven identifier as proven (a customer-space id as
    the sign-in itself)."""
    identity = customer.identity(kind, value)
    if identity is None or customer.merged_into is not None:
        return False
    if kind is IdentityKind.portal:
        return identity.proof is Proof.sign_in
    return identity.proof.proven


def addressable(customer: Customer) -> list[Identity]:
    """Rule 5: the identities messages about this profile may be sent to."""
    if customer.holds_proof:
        return [i for i in customer.identities if i.proof.proven]
    return list(customer.identities)


@dataclass(frozen=True)
class Release:
    """A claimed identifier taken back from a proven profile (legacy data), with the evidence."""

    customer_id: str
    version: int
    identity: Identity
    remaining: list[Identity]
    timeline: TimelineEntry


def release(candidate: Match, now: datetime) -> Release:
    customer = candidate.customer
    identity = customer.identity(candidate.claim.kind, candidate.claim.value)
    assert identity is not None
    remaining = [i for i in customer.identities if i is not identity]
    entry = TimelineEntry(
        event_id=f"release-{candidate.claim.kind.value}-{int(now.timestamp() * 1000)}",
        kind="identity_released",
        summary=(
            f"{candidate.label} removed from this profile: it was only claimed here, and its owner "
            f"has now written with proof ({candidate.proof.value})"
        ),
        details={"identifier": candidate.label, "proof": candidate.proof.value},
        at=now,
    )
    return Release(customer.id, candidate.version, identity, remaining, entry)
