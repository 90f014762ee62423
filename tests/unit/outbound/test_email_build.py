"""The email reply's MIME, built without SES: subject token, Reply-To, References, safety."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared.adapters.outbound import OutboundReply, UnsupportedReply
from shared.adapters.outbound.ses_email import (
    MAX_REFERENCES,
    SesEmailClient,
    SesEmailConfig,
    references_header,
    reply_subject,
    ses_header_message_id,
)
from shared.domain.common import Channel


def stub_client(service: str = "sesv2", region: str = "eu-west-3") -> Any:
    return SimpleNamespace(
        meta=SimpleNamespace(service_model=SimpleNamespace(service_name=service), region_name=region)
    )


def reply(**overrides: Any) -> OutboundReply:
    values: dict[str, Any] = {
        "message_id": "m1",
        "ticket_id": "K7M3Q9XA",
        "channel": Channel.email,
        "to": "lea@example.org",
        "text": "Bonjour",
        "subject": "Commande",
    }
    values.update(overrides)
    return OutboundReply(**values)


@pytest.mark.parametrize(
    ("subject", "is_reply", "expected"),
    [
        ("Où est ma commande ?", True, "Re: Où est ma commande ? [#K7M3Q9XA]"),
        ("RE: Où est ma commande ?", True, "RE: Où est ma commande ? [#K7M3Q9XA]"),
        ("TR: facture", True, "TR: facture [#K7M3Q9XA]"),
        ("Re: Commande [#K7M3Q9XA]", True, "Re: Commande [#K7M3Q9XA]"),
        ("Re: Commande [#OLDREF00] suite", True, "Re: Commande suite [#K7M3Q9XA]"),  # merged ticket
        ("Votre demande", False, "Votre demande [#K7M3Q9XA]"),
        (None, False, "[#K7M3Q9XA]"),
        ("Ligne 1\r\nBcc: victim@example.org", False, "Ligne 1 Bcc: victim@example.org [#K7M3Q9XA]"),
    ],
)
def test_reply_subject(subject: str | None, is_reply: bool, expected: str) -> None:
    assert reply_subject(subject, "K7M3Q9XA", is_reply=is_reply) == expected


def test_references_append_the_parent_once_and_trim_the_middle() -> None:
    assert references_header(("<a@x>", "b@x"), "<b@x>") == ["a@x", "b@x"]
    assert references_header((), "<p@x>") == ["p@x"]
    assert references_header((), None) == []
    many = tuple(f"id{i}@x" for i in range(40))
    trimmed = references_header(many, "parent@x")
    assert len(trimmed) == MAX_REFERENCES
    assert trimmed[0] == "id0@x" and trimmed[-1] == "parent@x" and trimmed[-2] == "id39@x"


def test_ses_header_message_id_per_region() -> None:
    assert ses_header_message_id("0107abc-000000", "eu-west-3") == "0107abc-000000@eu-west-3.amazonses.com"
    assert ses_header_message_id("0100abc-000000", "us-east-1") == "0100abc-000000@email.amazonses.com"


def test_plus_address_keeps_the_local_part_and_allows_another_domain() -> None:
    client = SesEmailClient(stub_client(), SesEmailConfig(from_address="aide+fr@shop.example"))
    assert client.reply_to_address("K7M3Q9XA") == "aide+tK7M3Q9XA@shop.example"
    other = SesEmailClient(
        stub_client(), SesEmailConfig(from_address="aide@shop.example", reply_domain="reply.shop.example")
    )
    assert other.reply_to_address("K7M3Q9XA") == "aide+tK7M3Q9XA@reply.shop.example"


def test_message_headers_and_plain_text_only() -> None:
    client = SesEmailClient(
        stub_client(), SesEmailConfig(from_address="support@shop.example", from_name="Boutique")
    )
    message = client.build_message(reply(in_reply_to="p@x", references=("r@x",)))
    assert message["In-Reply-To"] == "<p@x>"
    assert message["References"] == "<r@x> <p@x>"
    assert message["Reply-To"] == "support+tK7M3Q9XA@shop.example"
    assert message["Subject"] == "Re: Commande [#K7M3Q9XA]"
    assert message.get_content_type() == "text/plain"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.as_bytes().isascii()


def test_header_injection_through_the_name_is_neutralised() -> None:
    client = SesEmailClient(stub_client(), SesEmailConfig(from_address="support@shop.example"))
    message = client.build_message(reply(to_name="Léa\r\nBcc: victim@example.org"))
    raw = message.as_bytes()
    assert b"\r\nBcc:" not in raw
    assert message["Bcc"] is None


@pytest.mark.parametrize("to", ["not an address", "a@b@c", ""])
def test_invalid_recipient_fails_before_sending(to: str) -> None:
    client = SesEmailClient(stub_client(), SesEmailConfig(from_address="support@shop.example"))
    with pytest.raises(UnsupportedReply):
        client.build_message(reply(to=to))


def test_only_email_and_something_to_send() -> None:
    client = SesEmailClient(stub_client("ses"), SesEmailConfig(from_address="support@shop.example"))
    with pytest.raises(UnsupportedReply):
        client.build_message(reply(channel=Channel.sms))
    with pytest.raises(UnsupportedReply):
        client.build_message(reply(text=""))
    with pytest.raises(ValueError, match="email address"):
        SesEmailClient(stub_client(), SesEmailConfig(from_address="support"))
