"""WhatsApp order alerts: the channel order, the declared templates, the sender's error sorting."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from shared.adapters.outbound import ProviderRejected, ProviderUnavailable, RejectionKind
from shared.adapters.outbound.fakes import FakeOutboundChannel
from shared.adapters.outbound.whatsapp_alerts import WhatsAppTemplateAlerts
from shared.domain.alerts import (
    WHATSAPP_LANGUAGES,
    WHATSAPP_TEMPLATES,
    AlertChannel,
    choose_recipient,
    whatsapp_param,
    whatsapp_template,
)
from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.identity import IdentityKind, Proof
from shared.domain.workflow import AlertKind
from shared.services.order_alerts import DeliveryRejected, DeliveryUncertain

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _customer(locale: str = "fr", **identities: str) -> Customer:
    return Customer(
        id="C1",
        locale=locale,
        identities=[
            Identity(kind=IdentityKind(k), value=v, first_seen_at=NOW, proof=Proof.provider)
            for k, v in identities.items()
        ],
        created_at=NOW,
        updated_at=NOW,
    )


def test_email_first_then_whatsapp_then_sms() -> None:
    yes = lambda: True  # noqa: E731
    everything = _customer(email="a@example.com", whatsapp="33612345678", phone="+33612345678")
    assert choose_recipient(everything, whatsapp=yes).channel is AlertChannel.email  # type: ignore[union-attr]
    both = _customer(whatsapp="33612345678", phone="+33699999999")
    chosen = choose_recipient(both, whatsapp=yes)
    assert chosen is not None and chosen.channel is AlertChannel.whatsapp and chosen.address == "33612345678"
    # A deployment without WhatsApp (or a step without it) falls back to SMS, then to nobody.
    assert choose_recipient(both).channel is AlertChannel.sms  # type: ignore[union-attr]
    assert choose_recipient(both, whatsapp=lambda: False).channel is AlertChannel.sms  # type: ignore[union-attr]
    assert choose_recipient(_customer(whatsapp="33612345678")) is None
    # An order's own email still wins over WhatsApp.
    assert (
        choose_recipient(both, fallback_email="shop@example.com", whatsapp=yes).channel is AlertChannel.email
    )  # type: ignore[union-attr]


def test_whatsapp_availability_is_asked_only_when_it_matters() -> None:
    asked: list[int] = []

    def available() -> bool:
        asked.append(1)
        return True

    choose_recipient(_customer(email="a@example.com", whatsapp="33612345678"), whatsapp=available)
    choose_recipient(_customer(phone="+33612345678"), whatsapp=available)
    assert asked == []  # an email customer, or one without WhatsApp, never reads the credentials
    choose_recipient(_customer(whatsapp="33612345678"), whatsapp=available)
    assert asked == [1]


def test_every_alert_has_an_approved_template_in_both_languages() -> None:
    assert set(WHATSAPP_TEMPLATES) == set(AlertKind)
    names = [spec.name for spec in WHATSAPP_TEMPLATES.values()]
    assert len(set(names)) == len(names)
    for spec in WHATSAPP_TEMPLATES.values():
        assert re.fullmatch(r"[a-z0-9_]{1,512}", spec.name)  # Meta's template name rule
        assert set(spec.bodies) == set(WHATSAPP_LANGUAGES)
        for body in spec.bodies.values():
            placeholders = [int(n) for n in re.findall(r"\{\{(\d+)\}\}", body)]
            assert sorted(placeholders) == list(range(1, len(spec.params) + 1)), spec.name
            assert "\n" not in body


def test_template_parameters_come_from_the_alert_fields() -> None:
    fields = {"order_number": "CMD-7", "when": "01/12/2026 à 08:00", "technician": "Bruno"}
    fr = whatsapp_template(AlertKind.scheduled, "fr", fields)
    assert (fr.name, fr.language, fr.body_params) == (
        "guichet_order_scheduled",
        "fr",
        ("CMD-7", "01/12/2026 à 08:00", "Bruno"),
    )
    assert (
        fr.preview == "L'installation de votre commande CMD-7 est planifiée le 01/12/2026 à 08:00 avec Bruno."
    )
    assert whatsapp_template(AlertKind.received, "en-GB", fields).language == "en"
    assert whatsapp_template(AlertKind.received, "de", fields).language == "fr"  # French by default
    # Meta refuses empty parameters, newlines, tabs and long runs of spaces.
    assert whatsapp_template(AlertKind.scheduled, "fr", {"order_number": "1"}).body_params == ("1", "-", "-")
    assert whatsapp_param("a\nb\t c      d") == "a b c d"
    assert len(whatsapp_param("x" * 5000)) == 1024


def test_the_sender_builds_its_client_once_and_sends_a_template() -> None:
    fake = FakeOutboundChannel([Channel.whatsapp])
    built: list[int] = []

    def factory() -> FakeOutboundChannel:
        built.append(1)
        return fake

    sender = WhatsAppTemplateAlerts(factory)
    assert built == []  # nothing read at wiring time
    assert sender.available() and sender.available()
    template = whatsapp_template(AlertKind.survey, "fr", {"order_number": "CMD-7", "link": "https://x/s/t"})
    provider_id = sender.send_template("33612345678", template)
    assert built == [1] and provider_id.startswith("wamid.")
    (reply,) = fake.replies
    assert reply.channel is Channel.whatsapp and reply.to == "33612345678"
    assert reply.template is not None and reply.template.name == "guichet_order_survey"
    assert reply.template.body_params == ("CMD-7", "https://x/s/t")
    assert not WhatsAppTemplateAlerts(lambda: None).available()


def test_the_sender_sorts_provider_errors() -> None:
    fake = FakeOutboundChannel([Channel.whatsapp])
    sender = WhatsAppTemplateAlerts(lambda: fake)
    template = whatsapp_template(AlertKind.received, "fr", {"order_number": "CMD-7"})

    def rejected(kind: RejectionKind) -> ProviderRejected:
        return ProviderRejected("whatsapp_cloud", status=400, code="131026", provider_message="x", kind=kind)

    fake.fail_next(rejected(RejectionKind.recipient))
    with pytest.raises(DeliveryRejected):  # final: not retried
        sender.send_template("33612345678", template)
    fake.fail_next(ProviderUnavailable("whatsapp_cloud", "read timeout", ambiguous=True))
    with pytest.raises(DeliveryUncertain):  # may have gone out: never resent
        sender.send_template("33612345678", template)
    for error in (
        rejected(RejectionKind.auth),  # our token: an operator must act (retries, then a ticket)
        rejected(RejectionKind.throttled),
        ProviderUnavailable("whatsapp_cloud", "HTTP 503", status=503),
    ):
        fake.fail_next(error)
        with pytest.raises(type(error)):
            sender.send_template("33612345678", template)
