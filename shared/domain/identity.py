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
