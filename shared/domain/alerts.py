"""Order alerts: which channel, and what the customer reads (French and English).

The cheapest channel the customer can be reached on wins: email first (SES, $0.0001), then
WhatsApp for a customer known by a WhatsApp number (a utility template, about $0.02-0.03 in
France, free inside an open customer-service window), then SMS (SNS, $0.0088-0.075 a segment,
up to 750 times dearer than email and dearer than WhatsApp in France).

WhatsApp alerts are always approved *template* messages (:data:`WHATSAPP_TEMPLATES`), inside
the 24-hour window as well as outside it. Inside it free text would be allowed, but knowing
whether the window is open means reading the customer's conversations for every alert, and a
utility template sent while the window is open costs nothing anyway: one path, no extra read,
and the same wording whatever the customer did last. Each template is declared as data (its
name, the alert fields that fill {{1}}, {{2}} ... and its approved body per language), so what
is submitted to Meta for approval and what is sent cannot drift apart.

SMS text is normalised to GSM-7 (French accents that are not in GSM-7 become their base
letter) and kept within a segment budget: one character outside GSM-7 would switch the whole
message to UCS-2 and more than double its price.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.domain import trust
from shared.domain.customer import Customer
from shared.domain.identity import IdentityKind
from shared.domain.outbound_rules import GSM7_BASIC, GSM7_EXTENDED, sms_info
from shared.domain.workflow import AlertKind

SMS_MAX_SEGMENTS = 1  # order alerts fit one GSM-7 segment (160 characters)


class AlertChannel(StrEnum):
    email = "email"
    whatsapp = "whatsapp"
    sms = "sms"


@dataclass(frozen=True)
class Recipient:
    channel: AlertChannel
    address: str  # email address, WhatsApp wa_id (digits) or E.164 number
    locale: str


def choose_recipient(
    customer: Customer | None,
    *,
    fallback_email: str | None = None,
    fallback_phone: str | None = None,
    whatsapp: Callable[[], bool] | None = None,
) -> Recipient | None:
    """The cheapest allowed channel: a known email, else the profile's WhatsApp number (when
    ``whatsapp()`` says this deployment can send WhatsApp), else a phone number for SMS, else
    nobody.

    The fallbacks are the contact details the order itself carries (e-commerce orders), used
    when the profile has none. ``whatsapp`` is only asked for a customer with a WhatsApp
    identity and no email, so the provider's credentials are read only when they are needed.
    """
    locale = (customer.locale if customer else "fr")[:2]
    reachable = trust.addressable(customer) if customer else []  # proven addresses on proven profiles
    emails = [i.value for i in reachable if i.kind is IdentityKind.email]
    if emails or fallback_email:
        return Recipient(AlertChannel.email, emails[0] if emails else str(fallback_email), locale)
    wa_ids = [i.value for i in reachable if i.kind is IdentityKind.whatsapp and _is_wa_id(i.value)]
    if wa_ids and whatsapp is not None and whatsapp():
        return Recipient(AlertChannel.whatsapp, wa_ids[0], locale)
    phones = [i.value for i in reachable if i.kind is IdentityKind.phone]
    phone = phones[0] if phones else fallback_phone
    if phone and phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16:
        return Recipient(AlertChannel.sms, phone, locale)
    return None


def _is_wa_id(value: str) -> bool:
    digits = value.removeprefix("+")
    return digits.isdigit() and 8 <= len(digits) <= 15


@dataclass(frozen=True)
class RenderedAlert:
    subject: str
    text: str
    html: str
    sms: str


# Per kind and locale: subject, body (text), SMS. ``{fields}`` come from the service.
_TEMPLATES: dict[AlertKind, dict[str, tuple[str, str, str]]] = {
    AlertKind.received: {
        "fr": (
            "Commande {order_number} reçue",
            "Bonjour,\n\nNous avons bien reçu votre commande {order_number}. "
            "Nous planifions maintenant l'installation.",
            "Commande {order_number} recue. Nous planifions l'installation.",
        ),
        "en": (
            "Order {order_number} received",
            "Hello,\n\nWe have received your order {order_number}. We are now planning the installation.",
            "Order {order_number} received. We are planning the installation.",
        ),
    },
    AlertKind.scheduled: {
        "fr": (
            "Installation planifiée le {when}",
            "Bonjour,\n\nL'installation de votre commande {order_number} est planifiée le {when} "
            "avec {technician}.",
            "Commande {order_number}: installation le {when}.",
        ),
        "en": (
            "Installation scheduled on {when}",
            "Hello,\n\nThe installation of your order {order_number} is scheduled on {when} "
            "with {technician}.",
            "Order {order_number}: installation on {when}.",
        ),
    },
    AlertKind.back_order: {
        "fr": (
            "Commande {order_number} : matériel en réapprovisionnement",
            "Bonjour,\n\nUne partie du matériel de votre commande {order_number} est en cours de "
            "réapprovisionnement. Nous vous prévenons dès qu'il est prêt.",
            "Commande {order_number}: materiel en reapprovisionnement, nous vous prevenons.",
        ),
        "en": (
            "Order {order_number}: hardware on back order",
            "Hello,\n\nSome hardware for your order {order_number} is on back order. "
            "We will let you know as soon as it is ready.",
            "Order {order_number}: hardware on back order, we will let you know.",
        ),
    },
    AlertKind.prepared: {
        "fr": (
            "Commande {order_number} prête",
            "Bonjour,\n\nVotre commande {order_number} est prête. Rendez-vous le {when}.",
            "Commande {order_number} prete. Rendez-vous le {when}.",
        ),
        "en": (
            "Order {order_number} ready",
            "Hello,\n\nYour order {order_number} is ready. See you on {when}.",
            "Order {order_number} ready. See you on {when}.",
        ),
    },
    AlertKind.rescheduled: {
        "fr": (
            "Nouveau rendez-vous le {when}",
            "Bonjour,\n\nLa mise en service de votre commande {order_number} doit être terminée. "
            "Un nouveau rendez-vous est planifié le {when}.",
            "Commande {order_number}: nouveau rendez-vous le {when}.",
        ),
        "en": (
            "New appointment on {when}",
            "Hello,\n\nThe commissioning of your order {order_number} needs another visit, "
            "scheduled on {when}.",
            "Order {order_number}: new appointment on {when}.",
        ),
    },
    AlertKind.installed: {
        "fr": (
            "Installation terminée",
            "Bonjour,\n\nL'installation de votre commande {order_number} est terminée et validée.",
            "Commande {order_number}: installation terminee et validee.",
        ),
        "en": (
            "Installation complete",
            "Hello,\n\nThe installation of your order {order_number} is complete and validated.",
            "Order {order_number}: installation complete and validated.",
        ),
    },
    AlertKind.invoiced: {
        "fr": (
            "Facture {invoice_number}",
            "Bonjour,\n\nLa facture {invoice_number} de votre commande {order_number} "
            "({amount}) est disponible : {link}",
            "Facture {invoice_number} ({amount}) disponible: {link}",
        ),
        "en": (
            "Invoice {invoice_number}",
            "Hello,\n\nInvoice {invoice_number} for your order {order_number} ({amount}) "
            "is available: {link}",
            "Invoice {invoice_number} ({amount}) available: {link}",
        ),
    },
    AlertKind.survey: {
        "fr": (
            "Votre avis sur la commande {order_number}",
            "Bonjour,\n\nComment s'est passée votre commande {order_number} ? "
            "Donnez-nous votre avis en une minute : {link}",
            "Votre avis sur la commande {order_number}: {link}",
        ),
        "en": (
            "Your opinion on order {order_number}",
            "Hello,\n\nHow did your order {order_number} go? Tell us in one minute: {link}",
            "Your opinion on order {order_number}: {link}",
        ),
    },
    AlertKind.survey_reminder: {
        "fr": (
            "Rappel : votre avis sur la commande {order_number}",
            "Bonjour,\n\nVous n'avez pas encore donné votre avis sur la commande {order_number}. "
            "Une minute suffit : {link}",
            "Rappel: votre avis sur la commande {order_number}: {link}",
        ),
        "en": (
            "Reminder: your opinion on order {order_number}",
            "Hello,\n\nYou have not told us yet how your order {order_number} went. "
            "It takes one minute: {link}",
            "Reminder: your opinion on order {order_number}: {link}",
        ),
    },
}

_SIGNATURE = {"fr": "\n\nL'équipe Guichet", "en": "\n\nThe Guichet team"}


class _Fields(dict[str, str]):
    """Missing fields render as an empty string rather than failing a workflow step."""

    def __missing__(self, key: str) -> str:
        return ""


def render(kind: AlertKind, locale: str, fields: dict[str, str]) -> RenderedAlert:
    """The alert in ``locale`` (French by default), as email text, email HTML and SMS."""
    lang = locale[:2] if locale[:2] in ("fr", "en") else "fr"
    subject, body, sms = _TEMPLATES[kind][lang]
    values = _Fields(fields)
    text = body.format_map(values) + _SIGNATURE[lang]
    escaped = _Fields({k: html.escape(v) for k, v in fields.items()})
    link = fields.get("link")
    html_body = html.escape(body).replace("\n", "<br>").format_map(escaped)
    if link:
        html_body = html_body.replace(
            html.escape(link), f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
        )
    html_doc = (
        f'<!doctype html><html lang="{lang}"><body><p>{html_body}</p>'
        f"<p>{html.escape(_SIGNATURE[lang].strip())}</p></body></html>"
    )
    return RenderedAlert(
        subject=subject.format_map(values),
        text=text,
        html=html_doc,
        sms=fit_sms(sms.format_map(values)),
    )


_SMS_REPLACEMENTS = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "œ": "oe",
    "Œ": "OE",
    "æ": "ae",
}


def to_gsm7(text: str) -> str:
    """Replace what is not GSM-7 by its closest GSM-7 spelling (ê -> e, ç -> c, curly quotes -> ')."""
    out = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENDED:
            out.append(char)
        elif char in _SMS_REPLACEMENTS:
            out.append(_SMS_REPLACEMENTS[char])
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(base if base else "?")
    return "".join(out)


def fit_sms(text: str, max_segments: int = SMS_MAX_SEGMENTS) -> str:
    """GSM-7 text within ``max_segments``; cut at a word (never inside a link) if needed."""
    text = to_gsm7(text)
    if sms_info(text).segments <= max_segments:
        return text
    words = text.split(" ")
    while len(words) > 1 and sms_info(" ".join(words) + "...").segments > max_segments:
        link = next((w for w in words if w.startswith("http")), None)
        # drop the last word that is not the link
        for index in range(len(words) - 1, -1, -1):
            if words[index] is not link:
                del words[index]
                break
        else:
            break
    return " ".join(words) + "..."


# ------------------------------------------------------------------ WhatsApp templates
WHATSAPP_LANGUAGES = ("fr", "en")  # each template is approved in both (same name, two languages)
WHATSAPP_PARAM_MAX = 1024  # a body parameter's limit at Meta
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


@dataclass(frozen=True)
class WhatsAppTemplateSpec:
    """One approved utility template: its name, the alert fields that fill {{1}}, {{2}} ...
    (in order) and the body submitted for approval, per language."""

    name: str
    params: tuple[str, ...]
    bodies: dict[str, str]


@dataclass(frozen=True)
class WhatsAppAlert:
    """What to send: the template's name and language, and its body parameters' values."""

    name: str
    language: str
    body_params: tuple[str, ...]
    preview: str  # the body as the customer reads it (for the timeline and the logs of tests)


WHATSAPP_TEMPLATES: dict[AlertKind, WhatsAppTemplateSpec] = {
    AlertKind.received: WhatsAppTemplateSpec(
        "guichet_order_received",
        ("order_number",),
        {
            "fr": "Bonjour, nous avons bien reçu votre commande {{1}}. "
            "Nous planifions maintenant l'installation.",
            "en": "Hello, we have received your order {{1}}. We are now planning the installation.",
        },
    ),
    AlertKind.scheduled: WhatsAppTemplateSpec(
        "guichet_order_scheduled",
        ("order_number", "when", "technician"),
        {
            "fr": "L'installation de votre commande {{1}} est planifiée le {{2}} avec {{3}}.",
            "en": "The installation of your order {{1}} is scheduled on {{2}} with {{3}}.",
        },
    ),
    AlertKind.back_order: WhatsAppTemplateSpec(
        "guichet_order_back_order",
        ("order_number",),
        {
            "fr": "Une partie du matériel de votre commande {{1}} est en cours de "
            "réapprovisionnement. Nous vous prévenons dès qu'il est prêt.",
            "en": "Some hardware for your order {{1}} is on back order. "
            "We will let you know as soon as it is ready.",
        },
    ),
    AlertKind.prepared: WhatsAppTemplateSpec(
        "guichet_order_prepared",
        ("order_number", "when"),
        {
            "fr": "Votre commande {{1}} est prête. Rendez-vous le {{2}}.",
            "en": "Your order {{1}} is ready. See you on {{2}}.",
        },
    ),
    AlertKind.rescheduled: WhatsAppTemplateSpec(
        "guichet_order_rescheduled",
        ("order_number", "when"),
        {
            "fr": "La mise en service de votre commande {{1}} doit être terminée. "
            "Un nouveau rendez-vous est planifié le {{2}}.",
            "en": "The commissioning of your order {{1}} needs another visit, scheduled on {{2}}.",
        },
    ),
    AlertKind.installed: WhatsAppTemplateSpec(
        "guichet_order_installed",
        ("order_number",),
        {
            "fr": "L'installation de votre commande {{1}} est terminée et validée.",
            "en": "The installation of your order {{1}} is complete and validated.",
        },
    ),
    AlertKind.invoiced: WhatsAppTemplateSpec(
        "guichet_order_invoiced",
        ("invoice_number", "order_number", "amount", "link"),
        {
            "fr": "La facture {{1}} de votre commande {{2}} ({{3}}) est disponible : {{4}}",
            "en": "Invoice {{1}} for your order {{2}} ({{3}}) is available: {{4}}",
        },
    ),
    AlertKind.survey: WhatsAppTemplateSpec(
        "guichet_order_survey",
        ("order_number", "link"),
        {
            "fr": "Comment s'est passée votre commande {{1}} ? Donnez-nous votre avis en une minute : {{2}}",
            "en": "How did your order {{1}} go? Tell us in one minute: {{2}}",
        },
    ),
    AlertKind.survey_reminder: WhatsAppTemplateSpec(
        "guichet_order_survey_reminder",
        ("order_number", "link"),
        {
            "fr": "Vous n'avez pas encore donné votre avis sur la commande {{1}}. Une minute suffit : {{2}}",
            "en": "You have not told us yet how your order {{1}} went. It takes one minute: {{2}}",
        },
    ),
}


def whatsapp_param(value: str) -> str:
    """A body parameter Meta accepts: no newline or tab, no run of more than four spaces, not
    empty (an empty parameter is refused: "-" stands for a missing field), at most 1024 chars."""
    flat = " ".join(value.split())
    return (flat or "-")[:WHATSAPP_PARAM_MAX]


def whatsapp_template(kind: AlertKind, locale: str, fields: dict[str, str]) -> WhatsAppAlert:
    """The approved template of ``kind`` in the customer's language (French by default)."""
    spec = WHATSAPP_TEMPLATES[kind]
    lang = locale[:2] if locale[:2] in WHATSAPP_LANGUAGES else "fr"
    params = tuple(whatsapp_param(fields.get(name, "")) for name in spec.params)
    preview = _PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], spec.bodies[lang])
    return WhatsAppAlert(name=spec.name, language=lang, body_params=params, preview=preview)
