"""Helpers shared by the Shopify and WooCommerce parsers (payload fields -> domain values).

Payloads are untrusted: a bad field raises ``CommercePayloadError`` naming the field, never
its content (orders carry names, addresses and phone numbers that must not reach the logs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from shared.adapters.channels.claims import claim
from shared.adapters.channels.errors import ChannelPayloadError, JsonObject, opt_str
from shared.domain.common import Address
from shared.domain.identity import IdentityKind
from shared.domain.order import PaymentStatus


class CommercePayloadError(ChannelPayloadError):
    """A commerce delivery or export row that cannot be understood (deterministic)."""


def money(value: Any, where: str, default: Decimal | None = Decimal("0")) -> Decimal:
    """Prices arrive as strings (``"199.00"``) or numbers (WooCommerce ``price: 20.79``)."""
    if value is None or value == "":
        if default is None:
            raise CommercePayloadError(f"{where} is missing")
        return default
    if isinstance(value, bool):
        raise CommercePayloadError(f"{where} is not an amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise CommercePayloadError(f"{where} is not an amount") from exc
    if not amount.is_finite():
        raise CommercePayloadError(f"{where} is not an amount")
    return amount


def quantity(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise CommercePayloadError(f"{where} is not a quantity")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise CommercePayloadError(f"{where} is not a quantity") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise CommercePayloadError(f"{where} is not a whole quantity")
    return int(number)


def when(value: Any, where: str) -> datetime | None:
    """ISO 8601 with or without an offset (WooCommerce ``*_gmt`` values have none: UTC)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CommercePayloadError(f"{where} is not a timestamp")
    text = value.strip().replace(" ", "T", 1) if " " in value.strip()[:11] else value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) > 6 and text[-5] in "+-" and text[-3] != ":" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]  # "+0200" (Shopify CSV exports) -> "+02:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommercePayloadError(f"{where} is not an ISO 8601 timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def text(obj: JsonObject, key: str, where: str) -> str | None:
    try:
        value = opt_str(obj, key, where)
    except ChannelPayloadError as exc:
        raise CommercePayloadError(str(exc)) from exc
    value = value.strip() if value is not None else None
    return value or None


def identifier(obj: JsonObject, key: str, where: str) -> str:
    value = text(obj, key, where)
    if value is None:
        raise CommercePayloadError(f"{where}.{key} is missing")
    return value


def email(raw: str | None) -> str | None:
    found = claim(IdentityKind.email, raw)
    return found.value if found else None


def phone(raw: str | None) -> str | None:
    found = claim(IdentityKind.phone, raw)
    return found.value if found else None


def address(
    *,
    first_name: str | None,
    last_name: str | None,
    name: str | None = None,
    company: str | None,
    line1: str | None,
    line2: str | None,
    postal_code: str | None,
    city: str | None,
    region: str | None,
    country: str | None,
    phone_number: str | None,
) -> Address | None:
    full_name = name or " ".join(p for p in (first_name, last_name) if p) or None
    values = (full_name, company, line1, line2, postal_code, city, region, country, phone_number)
    if not any(values):
        return None
    country_code = country.upper() if country and len(country) == 2 else country
    return Address(
        name=full_name,
        company=company,
        line1=line1,
        line2=line2,
        postal_code=postal_code,
        city=city,
        region=region,
        country=country_code,
        phone=phone(phone_number) or phone_number,
    )


SHOPIFY_FINANCIAL = {
    "pending": PaymentStatus.pending,
    "authorized": PaymentStatus.authorized,
    "paid": PaymentStatus.paid,
    "partially_paid": PaymentStatus.partially_paid,
    "refunded": PaymentStatus.refunded,
    "partially_refunded": PaymentStatus.partially_refunded,
    "voided": PaymentStatus.voided,
    "expired": PaymentStatus.failed,
}

# Public tracking pages of the carriers French shops use most, for shipments that come with
# a number but no link (WooCommerce, CSV exports). ``{}`` is the URL-quoted tracking number.
TRACKING_PAGES = {
    "colissimo": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "la poste": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "chronopost": "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={}",
    "dhl": "https://www.dhl.com/fr-fr/home/tracking.html?tracking-id={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "gls": "https://gls-group.com/FR/fr/suivi-colis?match={}",
    "dpd": "https://trace.dpd.fr/fr/trace/{}",
    "mondial relay": "https://www.mondialrelay.fr/suivi-de-colis?numeroExpedition={}",
}


def tracking_url(carrier: str | None, number: str | None, given: str | None) -> str | None:
    """The platform's link if it sent one, else the carrier's public tracking page."""
    if given:
        return given
    if not carrier or not number:
        return None
    template = TRACKING_PAGES.get(carrier.strip().lower())
    return template.format(quote(number, safe="")) if template else None
