"""Canned responses: the safe renderer, variants with fallback, preview with length checks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.agent import Agent
from shared.domain.canned import (
    VARIABLES,
    CannedAttachment,
    CannedResponse,
    MissingVariables,
    TemplateSyntaxError,
    UnknownVariables,
    canned_context,
    preview,
    render,
    template_variables,
    validate_template,
)
from shared.domain.common import Channel
from shared.domain.customer import Customer
from shared.domain.order import Order, OrderSource, Shipment
from shared.domain.outbound_rules import OutboundPolicy, RefusalCode, SmsEncoding
from shared.domain.ticket import Ticket

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CONTEXT = {
    "customer": {"first_name": "Léa", "last_name": "Martin"},
    "order": {"number": "#1001", "tracking_url": "https://track.example/1Z999"},
    "ticket": {"id": "K7M3Q9XA"},
    "agent": {"name": "Paul Durand"},
}


def shipping_response(**overrides: object) -> CannedResponse:
    data: dict[str, object] = {
        "id": "shipping-delay",
        "title": "Retard de livraison",
        "language": "fr",
        "tags": ["delivery"],
        "subject": "Votre commande {{order.number}}",
        "body": (
            "Bonjour {{customer.first_name}},\n\nVotre commande {{order.number}} est en route : "
            "{{order.tracking_url}}\n\n{{agent.name}}"
        ),
        "variants": {
            "sms": {"body": "Commande {{order.number}} : {{order.tracking_url}}"},
            "email": {
                "body": "Bonjour {{customer.first_name}}, suivi : {{order.tracking_url}}",
                "html": "<p>Bonjour {{customer.first_name}}</p>",
                "attachments": [],
            },
        },
        "attachments": [
            {"name": "cgv.pdf", "content_type": "application/pdf", "storage_key": "canned/cgv.pdf"}
        ],
    }
    data.update(overrides)
    return CannedResponse.model_validate(data)


# --- renderer -----------------------------------------------------------------------------


def test_render_fills_whitelisted_paths() -> None:
    text, missing = render("Bonjour {{ customer.first_name }}, ticket [#{{ticket.id}}]", CONTEXT)
    assert text == "Bonjour Léa, ticket [#K7M3Q9XA]"
    assert missing == []


def test_missing_variables_are_listed_together() -> None:
    with pytest.raises(MissingVariables) as caught:
        render("{{customer.first_name}} {{order.number}} {{order.carrier}} {{agent.first_name}}", CONTEXT)
    assert caught.value.variables == ("order.carrier", "agent.first_name")
    assert "order.carrier, agent.first_name" in str(caught.value)


def test_empty_values_count_as_missing_and_fallbacks_apply() -> None:
    context = {"customer": {"first_name": "  "}}
    with pytest.raises(MissingVariables):
        render("Bonjour {{customer.first_name}}", context)
    assert render('Bonjour {{customer.first_name | "et merci"}}', context)[0] == "Bonjour et merci"


def test_non_strict_render_leaves_the_placeholder_visible() -> None:
    text, missing = render("Commande {{order.number}}", {}, strict=False)
    assert text == "Commande {{order.number}}"
    assert missing == ["order.number"]


def test_unknown_variables_are_listed_with_what_exists() -> None:
    with pytest.raises(UnknownVariables) as caught:
        validate_template("{{customer.password}} {{customer.identities}} {{customer.first_name}}")
    assert caught.value.variables == ("customer.password", "customer.identities")
    message = str(caught.value)
    assert "customer.password, customer.identities" in message and "available:" in message
    with pytest.raises(UnknownVariables):
        render("{{customer.password}}", {"customer": {"password": "x"}})


@pytest.mark.parametrize(
    "template",
    [
        "{{customer.__class__}}",
        "{{customer.first_name.__class__.__mro__}}",
        "{{ customer['first_name'] }}",
        "{{customer.first_name()}}",
        "{{ 7*7 }}",
        "{{customer}}",
        "{{ Customer.First_Name }}",
        "Bonjour {{customer.first_name",
        "{{ {{customer.first_name}} }}",
        "{% if customer %}{{customer.first_name}}{% endif %}{{ x }}",
    ],
)
def test_anything_but_a_dotted_path_is_a_syntax_error(template: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        render(template, CONTEXT)
    assert "malformed placeholder" in str(caught.value)


def test_templates_cannot_read_attributes_of_objects() -> None:
    class Secretive:
        first_name = "attribute"
        password = "hunter2"

    allowed = VARIABLES | {"customer.password"}
    with pytest.raises(MissingVariables):
        render("{{customer.first_name}}", {"customer": Secretive()})
    with pytest.raises(MissingVariables):
        render("{{customer.password}}", {"customer": Secretive()}, allowed=allowed)


def test_non_text_values_are_not_rendered() -> None:
    context = {"customer": {"first_name": {"nested": "dict"}}, "order": {"number": 1001}}
    assert render("{{order.number}}", context)[0] == "1001"
    assert render("{{order.number}}", {"order": {"number": Decimal("12.50")}})[0] == "12.50"
    with pytest.raises(MissingVariables):
        render("{{customer.first_name}}", context)
    with pytest.raises(MissingVariables):
        render("{{order.number}}", {"order": {"number": True}})


def test_values_are_inserted_once_never_re_rendered() -> None:
    context = {"customer": {"first_name": "{{ticket.id}}"}, "ticket": {"id": "SECRET"}}
    assert render("Bonjour {{customer.first_name}}", context)[0] == "Bonjour {{ticket.id}}"


def test_escape_applies_to_values_only() -> None:
    import html

    text, _ = render(
        "<b>{{customer.first_name}}</b>", {"customer": {"first_name": "<script>"}}, escape=html.escape
    )
    assert text == "<b>&lt;script&gt;</b>"


def test_single_braces_and_lone_closers_are_plain_text() -> None:
    assert render("{a} }} {{ticket.id}}", CONTEXT)[0] == "{a} }} K7M3Q9XA"


def test_template_variables_in_order() -> None:
    assert template_variables("{{order.number}} {{ticket.id}} {{order.number}}") == [
        "order.number",
        "ticket.id",
    ]


# --- model --------------------------------------------------------------------------------


def test_a_canned_response_with_a_bad_template_is_refused_at_save_time() -> None:
    with pytest.raises(ValidationError) as caught:
        shipping_response(body="{{customer.password}}", variants={"sms": {"body": "{{order.number"}})
    message = str(caught.value)
    assert "body: unknown variable(s): customer.password" in message
    assert "variants.sms.body: malformed placeholder(s): {{order.number" in message


def test_attachments_need_a_location_and_https() -> None:
    with pytest.raises(ValidationError):
        CannedAttachment(name="a.pdf", content_type="application/pdf")
    with pytest.raises(ValidationError):
        CannedAttachment(name="a.pdf", content_type="application/pdf", url="http://insecure/a.pdf")


def test_variables_of_a_response() -> None:
    assert shipping_response().variables() == [
        "agent.name",
        "customer.first_name",
        "order.number",
        "order.tracking_url",
    ]


# --- preview ------------------------------------------------------------------------------


def test_preview_uses_the_channel_variant() -> None:
    result = preview(shipping_response(), Channel.sms, CONTEXT)
    assert result.variant is Channel.sms
    assert result.text == "Commande #1001 : https://track.example/1Z999"
    assert result.subject is None and result.html is None
    assert result.length.segments == 1 and result.length.encoding is SmsEncoding.gsm7
    assert result.attachments[0].name == "cgv.pdf"  # inherited: the variant sets none
    assert result.ready


def test_preview_falls_back_to_the_default_body() -> None:
    result = preview(shipping_response(), Channel.whatsapp, CONTEXT)
    assert result.variant is None
    assert result.text.startswith("Bonjour Léa,")
    assert result.length.limit == 4096 and result.length.fits


def test_email_preview_has_subject_html_escaped_and_variant_attachments() -> None:
    context = {**CONTEXT, "customer": {"first_name": "<Léa & co>"}}
    result = preview(shipping_response(), Channel.email, context)
    assert result.subject == "Votre commande #1001"
    assert result.html == "<p>Bonjour &lt;Léa &amp; co&gt;</p>"
    assert result.text.startswith("Bonjour <Léa & co>, suivi")
    assert result.attachments == []  # the email variant says: none
    assert result.length.limit is None


def test_preview_lists_missing_values_and_strict_raises() -> None:
    result = preview(shipping_response(), Channel.messenger, {"customer": {"first_name": "Léa"}})
    assert result.missing == ["order.number", "order.tracking_url", "agent.name"]
    assert "{{order.number}}" in result.text
    assert not result.ready
    with pytest.raises(MissingVariables):
        preview(shipping_response(), Channel.messenger, {}, strict=True)


def test_preview_length_check_per_channel() -> None:
    long = shipping_response(body="Bonjour {{customer.first_name}} " + "x" * 1000, variants={})
    instagram = preview(long, Channel.instagram, CONTEXT)
    assert not instagram.length.fits and instagram.length.code is RefusalCode.too_long
    assert not instagram.ready
    assert preview(long, Channel.messenger, CONTEXT).length.fits

    sms = preview(long, Channel.sms, CONTEXT, policy=OutboundPolicy(sms_max_segments=3))
    assert sms.length.segments == 7 and not sms.length.fits
    assert sms.length.code is RefusalCode.too_many_segments


def test_ucs2_in_a_value_shows_in_the_sms_figures() -> None:
    result = preview(
        shipping_response(), Channel.sms, {**CONTEXT, "order": {**CONTEXT["order"], "number": "n°1"}}
    )
    assert result.length.encoding is SmsEncoding.ucs2 and result.length.ucs2_triggers == ("°",)


# --- context from the domain --------------------------------------------------------------


def test_context_from_domain_objects_holds_only_whitelisted_strings() -> None:
    customer = Customer(id="c1", first_name="Léa", last_name="Martin", created_at=NOW, updated_at=NOW)
    ticket = Ticket(id="K7M3Q9XA", channel=Channel.whatsapp, customer_id="c1", created_at=NOW, updated_at=NOW)
    order = Order(
        id="o1",
        number="#1001",
        source=OrderSource.shopify,
        shipments=[
            Shipment(carrier="Colissimo", tracking_number="6A123", tracking_url="https://suivi/6A123"),
            Shipment(carrier="DHL"),
        ],
        created_at=NOW,
        updated_at=NOW,
    )
    agent = Agent(id="a1", name="Paul Durand", email="paul@example.net")
    context = canned_context(customer=customer, ticket=ticket, order=order, agent=agent)
    assert context == {
        "customer": {"first_name": "Léa", "last_name": "Martin", "name": "Léa Martin"},
        "ticket": {"id": "K7M3Q9XA"},
        "order": {
            "number": "#1001",
            "status": "reception",
            "carrier": "Colissimo",
            "tracking_number": "6A123",
            "tracking_url": "https://suivi/6A123",
        },
        "agent": {"name": "Paul Durand", "first_name": "Paul"},
    }
    assert {f"{ns}.{name}" for ns, values in context.items() for name in values} <= VARIABLES
    text = preview(shipping_response(), Channel.sms, context).text
    assert text == "Commande #1001 : https://suivi/6A123"


def test_agent_names_come_from_the_profile_admins_edit() -> None:
    agent = Agent(
        id="a1", name="Dr Paul Durand", first_name="Paul", last_name="Durand", email="p@example.net"
    )
    assert canned_context(agent=agent)["agent"] == {
        "name": "Dr Paul Durand",
        "first_name": "Paul",
        "last_name": "Durand",
    }
    assert canned_context(agent=None) == {}  # no profile: the variables are missing, not guessed
