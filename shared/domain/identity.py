"""Identity normalisation: one canonical value per identifier, whatever the channel wrote."""

from __future__ import annotations

from enum import StrEnum

import phonenumbers


class IdentityKind(StrEnum):
    email = "email"
    phone = "phone"  # E.164
    whatsapp = "whatsapp"  # wa_id (a phone number without "+")
    whatsapp_user = "whatsapp_user"  # Meta business-scoped user id (BSUID)
    messenger = "messenger"  # page-scoped id (PSID)
    instagram = "instagram"  # Instagram-scoped id (IGSID)
    shopify = "shopify"  # platform customer id
    woocommerce = "woocommerce"
    portal = "portal"  # customer-space user (Cognito sub)


class Proof(StrEnum):
    """How an identifier was tied to a profile (see docs/security.md). Only a proven tie grants
    anything: customer-space access, an automatic merge, a reply to that address."""

    # The channel's provider asserts the sender: WhatsApp wa_id, Twilio From, Meta ids, SES mail
    # with SPF and DKIM passing and the envelope aligned with From.
    provider = "provider"
    # The customer's own sign-in: the Cognito sub, an email_verified email, a verified phone.
    sign_in = "sign_in"
    # Anything else: typed in a form, unauthenticated mail, a shop's order, a reply in a thread.
    claimed = "claimed"

    @property
    def proven(self) -> bool:
        return self is not Proof.claimed


# What the code before proof levels stored, read the safest way: only identifiers the provider
# itself asserts (a phone seen on SMS, WhatsApp or a call; WhatsApp and Meta ids) count as proven.
# Emails were stored without checking the mail's authentication nor the token's email_verified,
# forms and shop orders are typed by anyone: claims. A customer-space id (Cognito sub) is the
# sign-in only on the profile its own first message created (see Customer), else a claim.
_PROVIDER_KINDS = frozenset({"whatsapp", "whatsapp_user", "messenger", "instagram"})
_PROVIDER_PHONE_CHANNELS = frozenset({"sms", "whatsapp", "phone"})


def legacy_proof(kind: str, source_channel: str | None) -> Proof:
    if kind in _PROVIDER_KINDS or (kind == "phone" and source_channel in _PROVIDER_PHONE_CHANNELS):
        return Proof.provider
    return Proof.claimed


class InvalidIdentifier(ValueError):
    pass


def normalize_email(raw: str) -> str:
    """Lowercase, strip, and encode the domain with IDNA (``élan.fr`` -> ``xn--lan-bma.fr``)."""
    value = raw.strip()
    if value.count("@") != 1:
        raise InvalidIdentifier("an email address has exactly one @")
    local, domain = value.rsplit("@", 1)
    if not local or not domain or "." not in domain or any(c.isspace() for c in value):
        raise InvalidIdentifier("not an email address")
    try:
        ascii_domain = domain.strip(".").lower().encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidIdentifier("the email domain is not a valid name") from exc
    return f"{local.lower()}@{ascii_domain.lower()}"


def normalize_phone(raw: str, default_region: str = "FR") -> str:
    """E.164 (``+33612345678``); numbers without a country code are read in ``default_region``."""
    value = raw.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    if value.isdigit() and len(value) > 10:
        value = "+" + value  # wa_id and Twilio numbers without "+" are international
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("not a phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidIdentifier("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize(kind: IdentityKind, raw: str) -> str:
    if kind is IdentityKind.email:
        return normalize_email(raw)
    if kind is IdentityKind.phone:
        return normalize_phone(raw)
    if kind is IdentityKind.whatsapp:
        return normalize_phone(raw).lstrip("+")
    value = raw.strip()
    if not value:
        raise InvalidIdentifier(f"empty {kind.value} identifier")
    return value
