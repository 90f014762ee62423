"""Canned responses: reusable replies with variables, per-channel variants and a preview.

The renderer is deliberately tiny. A template may only name whitelisted dotted paths
(``{{customer.first_name}}``), looked up in plain dicts: no attribute access, no expressions,
no eval, no Jinja. Admins write templates and agents send them to customers, so a template
must never be able to reach data the whitelist does not name (``{{customer.__class__}}`` is a
syntax error, ``{{customer.identities}}`` an unknown variable). Values are inserted in one
pass: a customer name containing ``{{ticket.id}}`` stays literal text.

Syntax: ``{{ path }}`` or ``{{ path | "fallback" }}`` (the fallback is used when the value is
missing or empty, e.g. ``Bonjour {{customer.first_name | "et merci"}}``).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from shared.domain.agent import Agent
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer
from shared.domain.order import Order
from shared.domain.outbound_rules import DEFAULT_POLICY, LengthCheck, OutboundPolicy, check_length
from shared.domain.ticket import Ticket

# Every variable a template may use. Adding one means adding it to canned_context() too.
VARIABLES: frozenset[str] = frozenset(
    {
        "customer.first_name",
        "customer.last_name",
        "customer.name",
        "order.number",
        "order.status",
        "order.carrier",
        "order.tracking_number",
        "order.tracking_url",
        "ticket.id",
        "ticket.subject",
        "agent.name",
        "agent.first_name",
        "agent.last_name",
    }
)

_OPEN, _CLOSE = "{{", "}}"
_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TOKEN_BODY = re.compile(
    r"""^\s*(?P<path>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\s*(?:\|\s*"(?P<fallback>[^"{}]*)"\s*)?$"""
)
_MAX_TEMPLATE = 20_000


class CannedTemplateError(ValueError):
    """A template that cannot be rendered; ``variables`` names the culprits."""

    def __init__(self, message: str, variables: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.variables = tuple(variables)


class TemplateSyntaxError(CannedTemplateError):
    pass


class UnknownVariables(CannedTemplateError):
    pass


class MissingVariables(CannedTemplateError):
    pass


class _Token:
    __slots__ = ("end", "fallback", "path", "start")

    def __init__(self, start: int, end: int, path: str, fallback: str | None) -> None:
        self.start, self.end, self.path, self.fallback = start, end, path, fallback


def _tokens(template: str) -> list[_Token]:
    if len(template) > _MAX_TEMPLATE:
        raise TemplateSyntaxError(f"a template is limited to {_MAX_TEMPLATE} characters")
    tokens: list[_Token] = []
    bad: list[str] = []  # as the admin wrote them, shortened

    def unclosed(text: str) -> None:
        if _OPEN in text:
            bad.append(_OPEN + text.split(_OPEN, 1)[1][:40])

    position = 0
    for match in _TOKEN.finditer(template):
        unclosed(template[position : match.start()])
        body = _TOKEN_BODY.match(match.group(1))
        if body is None:
            bad.append(match.group(0)[:44])
        else:
            tokens.append(_Token(match.start(), match.end(), body["path"], body["fallback"]))
        position = match.end()
    unclosed(template[position:])
    if bad:
        raise TemplateSyntaxError(
            f"malformed placeholder(s): {', '.join(bad)}; write {{{{namespace.field}}}}, "
            'optionally {{namespace.field | "fallback"}}',
            bad,
        )
    return tokens


def template_variables(template: str) -> list[str]:
    """The variables ``template`` uses, in order of first use (raises TemplateSyntaxError)."""
    return list(dict.fromkeys(token.path for token in _tokens(template)))


def validate_template(template: str, allowed: frozenset[str] = VARIABLES) -> list[str]:
    """Check syntax and the whitelist at save time, so agents never meet a broken template."""
    used = template_variables(template)
    unknown = [name for name in used if name not in allowed]
    if unknown:
        raise UnknownVariables(
            f"unknown variable(s): {', '.join(unknown)}; available: {', '.join(sorted(allowed))}",
            unknown,
        )
    return used


def _lookup(context: Mapping[str, Any], path: str) -> str | None:
    """Walk plain mappings only: objects' attributes are never reachable from a template."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    text = str(value)
    return text if text.strip() else None


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    allowed: frozenset[str] = VARIABLES,
    escape: Callable[[str], str] | None = None,
    strict: bool = True,
) -> tuple[str, list[str]]:
    """Fill ``template`` from ``context``; returns (text, missing variables).

    With ``strict`` a missing value raises MissingVariables listing all of them; without,
    the placeholder is left visible (for previews). ``escape`` is applied to inserted values
    only (html.escape for an HTML body), never to the template itself.
    """
    tokens = _tokens(template)
    unknown = list(dict.fromkeys(t.path for t in tokens if t.path not in allowed))
    if unknown:
        raise UnknownVariables(f"unknown variable(s): {', '.join(unknown)}", unknown)
    parts: list[str] = []
    missing: dict[str, None] = {}
    position = 0
    for token in tokens:
        parts.append(template[position : token.start])
        value = _lookup(context, token.path)
        if value is None:
            value = token.fallback
        if value is None:
            missing.setdefault(token.path, None)
            parts.append(template[token.start : token.end])
        else:
            parts.append(escape(value) if escape else value)
        position = token.end
    parts.append(template[position:])
    if strict and missing:
        names = list(missing)
        raise MissingVariables(f"no value for: {', '.join(names)}", names)
    return "".join(parts), list(missing)


# --- models -------------------------------------------------------------------------------


class CannedAttachment(DomainModel):
    """A file sent with the response; the bytes live in S3 (``storage_key``) or at ``url``."""

    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=127)
    size: int | None = Field(default=None, ge=0)
    storage_key: str | None = None
    url: str | None = Field(default=None, pattern=r"^https://")

    @model_validator(mode="after")
    def _has_location(self) -> CannedAttachment:
        if not self.storage_key and not self.url:
            raise ValueError("an attachment needs a storage_key or a url")
        return self


class CannedVariant(DomainModel):
    """A channel-specific wording (shorter for SMS, a subject for email)."""

    body: str = Field(min_length=1)
    subject: str | None = None  # email only
    html: str | None = None  # email only
    attachments: list[CannedAttachment] | None = None  # None: the response's attachments


class CannedResponse(DomainModel):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    language: str = Field(default="fr", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    tags: list[str] = Field(default_factory=list)
    body: str = Field(min_length=1)  # the default wording, used where no variant exists
    subject: str | None = None
    html: str | None = None
    variants: dict[Channel, CannedVariant] = Field(default_factory=dict)
    attachments: list[CannedAttachment] = Field(default_factory=list)
    whatsapp_template: str | None = None  # approved template to offer outside the window

    @model_validator(mode="after")
    def _templates_valid(self) -> CannedResponse:
        """Refuse at save time a template that could never render (all problems at once)."""
        problems: list[str] = []
        for where, text in self._templates():
            try:
                validate_template(text)
            except CannedTemplateError as error:
                problems.append(f"{where}: {error}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _templates(self) -> list[tuple[str, str]]:
        found = [("body", self.body), ("subject", self.subject), ("html", self.html)]
        for channel, variant in self.variants.items():
            found += [
                (f"variants.{channel.value}.body", variant.body),
                (f"variants.{channel.value}.subject", variant.subject),
                (f"variants.{channel.value}.html", variant.html),
            ]
        return [(where, text) for where, text in found if text is not None]

    def variables(self) -> list[str]:
        """Every variable used anywhere in this response, sorted."""
        return sorted({name for _, text in self._templates() for name in template_variables(text)})


class CannedPreview(DomainModel):
    """What the agent sees before sending: the rendered text and whether it fits the channel."""

    canned_id: str
    channel: Channel
    variant: Channel | None  # None: the default body was used
    language: str
    subject: str | None = None
    text: str
    html: str | None = None
    attachments: list[CannedAttachment] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # variables without a value
    length: LengthCheck

    @property
    def ready(self) -> bool:
        return not self.missing and self.length.fits


def preview(
    canned: CannedResponse,
    channel: Channel,
    context: Mapping[str, Any],
    *,
    policy: OutboundPolicy = DEFAULT_POLICY,
    strict: bool = False,
) -> CannedPreview:
    """Render ``canned`` for ``channel``: the channel's variant, else the default wording.

    Non-strict by default so the preview shows ``{{order.number}}`` where a value is missing
    (listed in ``missing``); pass ``strict=True`` when rendering for sending.
    """
    variant = canned.variants.get(channel)
    body = variant.body if variant else canned.body
    subject_template = (variant.subject if variant and variant.subject else None) or canned.subject
    html_template = (variant.html if variant and variant.html else None) or canned.html
    attachments = variant.attachments if variant and variant.attachments is not None else canned.attachments

    missing: dict[str, None] = {}

    def fill(template: str, escape: Callable[[str], str] | None = None) -> str:
        text, absent = render(template, context, escape=escape, strict=False)
        missing.update(dict.fromkeys(absent))
        return text

    text = fill(body)
    subject = fill(subject_template) if channel is Channel.email and subject_template else None
    html = fill(html_template, html_lib.escape) if channel is Channel.email and html_template else None
    if strict and missing:
        names = list(missing)
        raise MissingVariables(f"no value for: {', '.join(names)}", names)
    return CannedPreview(
        canned_id=canned.id,
        channel=channel,
        variant=channel if variant else None,
        language=canned.language,
        subject=subject,
        text=text,
        html=html,
        attachments=list(attachments),
        missing=list(missing),
        length=check_length(channel, text, policy),
    )


def canned_context(
    *,
    customer: Customer | None = None,
    ticket: Ticket | None = None,
    order: Order | None = None,
    agent: Agent | None = None,
) -> dict[str, dict[str, str]]:
    """The whitelisted values, as plain strings, from the domain objects at hand.

    Only what VARIABLES names is copied: the renderer never sees the objects themselves.
    """
    context: dict[str, dict[str, str]] = {}

    def put(namespace: str, name: str, value: object) -> None:
        if value is None or value == "":
            return
        context.setdefault(namespace, {})[name] = str(value)

    if customer is not None:
        put("customer", "first_name", customer.first_name)
        put("customer", "last_name", customer.last_name)
        full = " ".join(part for part in (customer.first_name, customer.last_name) if part)
        put("customer", "name", customer.display_name or full or None)
    if ticket is not None:
        put("ticket", "id", ticket.id)
        put("ticket", "subject", ticket.subject)
    if order is not None:
        put("order", "number", order.number)
        put("order", "status", order.stage.value)
        shipment = next((s for s in reversed(order.shipments) if s.tracking_number or s.tracking_url), None)
        if shipment is not None:
            put("order", "carrier", shipment.carrier)
            put("order", "tracking_number", shipment.tracking_number)
            put("order", "tracking_url", shipment.tracking_url)
    if agent is not None:  # the agent's profile, which admins edit (never the sign-in token)
        put("agent", "name", agent.name)
        put("agent", "first_name", agent.first_name or next(iter(agent.name.split()), None))
        put("agent", "last_name", agent.last_name)
    return context
