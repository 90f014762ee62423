"""SES inbound email: the SNS notification, MIME parsing, quote trimming, the InboundMessage."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from shared.adapters.channels import email as mail
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim
from tests.unit.channels.fixtures import sample_bytes, sample_json

JPEG = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQ==")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _notification(raw: bytes | None = None, **receipt_changes) -> mail.SesNotification:
    """The sample SES notification carrying ``raw`` (default: the sample reply) as its content."""
    data = sample_json("ses_received_notification.json")
    if raw is not None:
        data["content"] = raw.decode("utf-8")
    data["receipt"].update(receipt_changes)
    return mail.parse_sns_envelope(data)


def _build(text: str | None = "Bonjour", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    defaults = {
        "From": "Léa Martin <lea.martin@example.fr>",
        "To": "support@help.example.com",
        "Subject": "Commande",
        "Message-ID": "<m1@example.fr>",
        "Date": "Tue, 10 Jun 2025 14:05:00 +0200",
    }
    for name, value in (defaults | headers).items():
        if value:
            msg[name] = value
    if text is not None:
        msg.set_content(text)
    return msg


# --- the samples ---------------------------------------------------------------------------------


def test_sns_notification_sample():
    n = mail.parse_sns_envelope(sample_json("ses_via_sns_http_notification.json"))
    assert (n.notification_type, n.ses_message_id) == ("Received", "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1")
    assert n.sns_message_id == "5c1f0e9e-7d3a-5b1c-9c1e-2f6a1d0b9a11"
    assert n.topic_arn == "arn:aws:sns:eu-west-1:123456789012:ses-inbound"
    assert (n.action_type, n.action_topic_arn) == ("SNS", "arn:aws:sns:eu-west-1:123456789012:ses-inbound")
    assert n.recipients == ["support+ticket-4821@help.example.com"]
    assert n.verdicts == {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
    assert n.content == sample_bytes("email_reply.eml")
    assert (n.s3_bucket, n.s3_key) == (None, None)


def test_raw_delivery_and_the_router_wrapper_give_the_same_notification():
    sns = sample_json("ses_via_sns_http_notification.json")
    wrapped = mail.parse_sns_envelope({"sns": sns})
    raw = mail.parse_sns_envelope(sample_json("ses_received_notification.json"))
    as_text = mail.parse_sns_envelope(json.dumps(sns))
    assert wrapped == as_text
    assert (raw.content, raw.mail, raw.receipt) == (wrapped.content, wrapped.mail, wrapped.receipt)
    assert raw.topic_arn is None and raw.sns_message_id is None


def test_email_reply_sample_end_to_end():
    n = mail.parse_sns_envelope(sample_json("ses_via_sns_http_notification.json"))
    parsed = mail.parse_mime(n.content or b"")
    assert parsed == mail.parse_mime(sample_bytes("email_reply.eml"))
    assert parsed.from_address == mail.EmailAddress("marie.dupont@example.org", "Marie Dupont")
    assert parsed.subject == "Re: [Ticket#4821] Colis non reçu"
    assert parsed.message_id == "CAF=reply-001@mail.example.org"
    assert parsed.in_reply_to == "ticket-4821.msg-3@help.example.com"
    assert parsed.references == ["CAF=orig-000@mail.example.org", "ticket-4821.msg-3@help.example.com"]
    assert parsed.date == datetime(2025, 6, 10, 12, 5, tzinfo=UTC)
    assert parsed.display_text == "Toujours rien reçu, voici la photo du bordereau."
    assert "Nous enquêtons." in parsed.text
    [part] = parsed.attachments
    assert (part.filename, part.content_type, part.size, part.inline) == (
        "bordereau.jpg",
        "image/jpeg",
        28,
        False,
    )
    assert part.data == JPEG
    assert not parsed.auto_reply

    message = mail.to_inbound_message(n, parsed, storage_keys=["attachments/o3vr/1"])
    assert message.dedup_key == "email:CAF=reply-001@mail.example.org"
    assert message.channel is Channel.email
    assert message.identities == [IdentityClaim(kind=IdentityKind.email, value="marie.dupont@example.org")]
    assert message.display_name == "Marie Dupont"
    assert message.message_ids == ["CAF=reply-001@mail.example.org"]
    assert message.verdicts["virus"] == "PASS"
    assert message.display_text == "Toujours rien reçu, voici la photo du bordereau."
    hints = message.thread_hints
    assert hints is not None
    # The sample uses another helpdesk's conventions (support+ticket-4821@, [Ticket#4821]): no match.
    assert (hints.plus_tag_ticket, hints.subject_ticket) == (None, None)
    assert hints.in_reply_to == "ticket-4821.msg-3@help.example.com"
    assert hints.references == parsed.references
    [attachment] = message.attachments
    assert (attachment.name, attachment.storage_key, attachment.blocked) == (
        "bordereau.jpg",
        "attachments/o3vr/1",
        False,
    )
    assert message.metadata["recipients"] == "support+ticket-4821@help.example.com"
    assert set(message.attachments[0].model_dump()) == {
        "name",
        "content_type",
        "size",
        "url",
        "provider_media_id",
        "storage_key",
        "inline",
        "blocked",
    }  # metadata only: the bytes stay in ParsedEmail
    assert base64.b64encode(JPEG).decode() not in message.model_dump_json()


# --- the SNS notification ------------------------------------------------------------------------


def test_base64_content():
    data = sample_json("ses_received_notification.json")
    raw = "Subject: Caf\xe9\r\nFrom: a@example.fr\r\n\r\nd\xe9j\xe0\r\n".encode("latin-1")
    data["content"] = base64.b64encode(raw).decode()
    data["receipt"]["action"]["encoding"] = "BASE64"
    assert mail.parse_sns_envelope(data).content == raw


def test_s3_action_gives_the_object_location():
    data = sample_json("ses_received_notification.json")
    del data["content"]
    data["receipt"]["action"] = {"type": "S3", "bucketName": "guichet-mail", "objectKey": "in/abc"}
    n = mail.parse_sns_envelope(data)
    assert (n.content, n.s3_bucket, n.s3_key, n.action_type) == (None, "guichet-mail", "in/abc", "S3")
    data["receipt"]["action"] = {"type": "S3", "bucketName": "guichet-mail", "objectKeyPrefix": "in/"}
    assert mail.parse_sns_envelope(data).s3_key == "in/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(Type="SubscriptionConfirmation"),
        lambda d: d.update(Message="not json"),
        lambda d: d.update(Message=json.dumps({"notificationType": "Received"})),  # no mail
        lambda d: d.update(Message=json.dumps({"notificationType": "Received", "mail": {}})),  # no messageId
        lambda d: d.pop("Message"),
    ],
)
def test_malformed_notifications_raise_a_clear_error(mutate):
    data = sample_json("ses_via_sns_http_notification.json")
    mutate(data)
    with pytest.raises(ChannelPayloadError):
        mail.parse_sns_envelope(data)


def test_subscription_confirmation_sample_is_not_a_notification():
    with pytest.raises(ChannelPayloadError, match="not a Notification"):
        mail.parse_sns_envelope(sample_json("sns_subscription_confirmation.json"))


def test_invalid_base64_content_is_an_error():
    data = sample_json("ses_received_notification.json")
    data["content"] = "###"
    data["receipt"]["action"]["encoding"] = "Base64"
    with pytest.raises(ChannelPayloadError, match="base64"):
        mail.parse_sns_envelope(data)


# --- MIME ---------------------------------------------------------------------------------------


def test_iso_8859_1_body_and_encoded_word_subject():
    raw = (
        b"From: =?ISO-8859-1?Q?Fran=E7oise_Ch=E2tel?= <francoise@example.fr>\r\n"
        b"To: support@help.example.com\r\n"
        b"Subject: =?ISO-8859-1?Q?Commande_non_re=E7ue?= =?UTF-8?B?IOKAkyDDqXTDqQ==?=\r\n"
        b"Message-ID: <iso@example.fr>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ISO-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Bonjour, je n'ai pas re=E7u ma commande. D=E9j=E0 une semaine.\r\n"
    )
    parsed = mail.parse_mime(raw)
    assert parsed.subject == "Commande non reçue \u2013 été"
    assert parsed.from_address == mail.EmailAddress("francoise@example.fr", "Françoise Châtel")
    assert parsed.text == "Bonjour, je n'ai pas reçu ma commande. Déjà une semaine."


def test_8bit_latin1_body():
    raw = (
        b"From: a@example.fr\r\nSubject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nQuelle qualit\xe9 !\r\n"
    )
    assert mail.parse_mime(raw).text == "Quelle qualité !"


def test_mislabelled_charset_falls_back_instead_of_failing():
    raw = (
        b"From: a@example.fr\r\nSubject: x\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nre\xc3\xa7u et ach\xe9t\xe9\r\n"
    )
    text = mail.parse_mime(raw).text
    assert text.startswith("re")  # decoded somehow, never an exception
    raw_unknown = raw.replace(b"us-ascii", b"x-unknown-charset")
    assert mail.parse_mime(raw_unknown).text


def test_multipart_alternative_prefers_the_plain_text():
    msg = _build("Texte brut")
    msg.add_alternative("<html><body><p>Texte <b>HTML</b></p></body></html>", subtype="html")
    parsed = mail.parse_mime(msg.as_bytes())
    assert parsed.text == "Texte brut"
    assert parsed.html is not None and "<b>HTML</b>" in parsed.html
    assert parsed.attachments == []


def test_html_only_is_converted_with_its_line_breaks():
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<p>Bonjour,</p><p>Mon colis n&#39;est&nbsp;pas   arriv&eacute;.<br>Merci</p>"
        "<ul><li>Commande #1001</li><li>Colis &lt;2 kg&gt;</li></ul>"
        "<script>alert(1)</script><div>Marie</div>"
        "<div class='gmail_quote'>Le mar. 10 juin 2025, Support a écrit :"
        "<blockquote>Nous enquêtons.<br>Cordialement</blockquote></div>"
        "</body></html>"
    )
    msg = _build(None)
    msg.set_content(html, subtype="html")
    parsed = mail.parse_mime(msg.as_bytes())
    assert parsed.text.splitlines()[:8] == [
        "Bonjour,",
        "",
        "Mon colis n'est pas arrivé.",
        "Merci",
        "",
        "- Commande #1001",
        "- Colis <2 kg>",
        "Marie",
    ]
    assert "alert" not in parsed.text and "color" not in parsed.text
    assert "> Nous enquêtons." in parsed.text
    assert parsed.display_text.endswith("Marie")
    assert "enquêtons" not in parsed.display_text


def test_attachment_and_inline_image():
    msg = _build("Voir la photo et la facture.")
    msg.add_alternative('<p>Voir <img src="cid:photo1@example.fr"> et la facture.</p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<photo1@example.fr>")
    msg.add_attachment(b"%PDF-1.4 facture", maintype="application", subtype="pdf", filename="facture n°1.pdf")
    parsed = mail.parse_mime(msg.as_bytes())
    assert parsed.text == "Voir la photo et la facture."
    inline, pdf = parsed.attachments
    assert (inline.content_type, inline.content_id, inline.inline, inline.data) == (
        "image/png",
        "photo1@example.fr",
        True,
        PNG,
    )
    assert inline.filename is not None and inline.filename.endswith(".png")
    assert (pdf.filename, pdf.content_type, pdf.size, pdf.inline) == (
        "facture n°1.pdf",
        "application/pdf",
        16,
        False,
    )


def test_attachment_names_lose_their_path():
    msg = _build("x")
    msg.add_attachment(b"x", maintype="application", subtype="octet-stream", filename="../../etc/passwd")
    [part] = mail.parse_mime(msg.as_bytes()).attachments
    assert part.filename == "passwd"


def test_forwarded_message_is_one_attachment():
    inner = _build("Le message transféré", **{"Message-ID": "<inner@example.fr>"})
    outer = _build("Voici ce que j'ai reçu.")
    outer.add_attachment(inner)
    parsed = mail.parse_mime(outer.as_bytes())
    assert parsed.text == "Voici ce que j'ai reçu."
    [part] = parsed.attachments
    assert part.content_type == "message/rfc822"
    assert b"Le message transf" in part.data


def test_text_split_around_an_inline_image_is_kept_whole():
    raw = (
        b"From: a@example.fr\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAvant la photo\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=a.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PNG) + b"\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nApr\xc3\xa8s la photo\r\n--b--\r\n"
    )
    parsed = mail.parse_mime(raw)
    assert parsed.text == "Avant la photo\nAprès la photo"
    [image] = parsed.attachments
    assert (image.filename, image.inline) == ("a.png", True)


@pytest.mark.parametrize(
    ("headers", "auto_submitted", "bulk"),
    [
        ({}, False, False),
        ({"Auto-Submitted": "no"}, False, False),
        ({"Auto-Submitted": "auto-replied"}, True, False),
        ({"Auto-Submitted": "auto-generated; owner-email=x@example.fr"}, True, False),
        ({"X-Autoreply": "yes"}, True, False),
        ({"X-Autorespond": "Absent"}, True, False),
        ({"Precedence": "bulk"}, False, True),
        ({"Precedence": "junk"}, False, True),
        ({"Precedence": "list"}, False, True),
        ({"List-Id": "<news.example.fr>"}, False, True),
        ({"List-Unsubscribe": "<mailto:unsubscribe@example.fr>"}, False, True),
        ({"Return-Path": "<>"}, True, False),
    ],
)
def test_auto_reply_and_bulk_detection(headers, auto_submitted, bulk):
    parsed = mail.parse_mime(_build("Je suis absent.", **headers).as_bytes())
    assert (parsed.auto_submitted, parsed.bulk, parsed.auto_reply) == (
        auto_submitted,
        bulk,
        auto_submitted or bulk,
    )


def test_an_auto_reply_is_flagged_on_the_message():
    raw = _build("Je suis absent jusqu'au 15.", **{"Auto-Submitted": "auto-replied"}).as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw))
    assert message.auto_reply


def test_missing_or_broken_headers_degrade_gracefully():
    raw = b"From: not an address\r\nDate: someday\r\nMessage-ID: bare-id@example.fr\r\n\r\nHello\r\n"
    parsed = mail.parse_mime(raw)
    assert parsed.from_address is None
    assert parsed.date is None
    assert parsed.message_id == "bare-id@example.fr"
    assert parsed.subject is None
    assert parsed.text == "Hello"


# --- quoted replies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Merci !\n\nLe mar. 10 juin 2025 à 14:05, Support <support@help.example.com> a écrit :\n> Bonjour",
        "Thanks!\n\nOn Tue, 10 Jun 2025 at 14:05, Support <support@help.example.com> wrote:\n> Hello",
        "Thanks!\n\nOn Tue, 10 Jun 2025 at 14:05, Support Team <\nsupport@help.example.com> wrote:\n> Hello",
        "Thanks!\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\nSubject: Re: x\n\nHello",
        "Merci !\n\n-----Message d'origine-----\nDe : Support\nEnvoyé : mardi\n\nBonjour",
        "Merci !\n\n________________________________\nDe : Support <support@help.example.com>\n"
        "Envoyé : mardi 10 juin 2025 14:05\nÀ : Marie\nObjet : Commande\n\nBonjour",
        "Merci !\n\nFrom: Support <support@help.example.com>\nSent: Tuesday, June 10, 2025 2:05 PM\n"
        "To: Marie\nSubject: RE: Commande\n\nBonjour",
        "Merci !\n\n> Bonjour\n> Nous enquêtons.\n",
    ],
)
def test_quoted_replies_are_trimmed_for_display(text):
    trimmed = mail.trim_quoted(text)
    assert trimmed in ("Merci !", "Thanks!")


def test_inline_replies_and_forwards_are_kept():
    inline = "> Quelle taille ?\nDu 38.\n> Quelle couleur ?\nBleu."
    assert mail.trim_quoted(inline) == inline
    forward = (
        "Regardez ceci :\n\n---------- Forwarded message ---------\nFrom: Shop\nDate: lundi\n\nVotre colis"
    )
    assert "Votre colis" in mail.trim_quoted(forward)
    apple = "Voir plus bas.\n\nDébut du message réexpédié :\n\nDe : Shop\nObjet : Expédition\n\nVotre colis"
    assert "Votre colis" in mail.trim_quoted(apple)


def test_a_message_that_is_only_a_quote_keeps_its_text():
    assert mail.trim_quoted("> everything quoted") == "> everything quoted"
    assert mail.trim_quoted("On Tue, Support wrote:\n> Hello") == "On Tue, Support wrote:\n> Hello"


def test_a_sentence_starting_with_le_is_not_an_attribution():
    text = "Le colis est arrivé abîmé.\nLe carton était ouvert."
    assert mail.trim_quoted(text) == text


# --- the InboundMessage --------------------------------------------------------------------------


def test_thread_hints_plus_tag_and_subject_token():
    raw = _build(
        "Toujours rien",
        Subject="Re: Votre demande [#7K3M9Q2X]",
        **{
            "In-Reply-To": "<out-1@eu-west-1.amazonses.com>",
            "References": "<a@x> <out-1@eu-west-1.amazonses.com>",
        },
    ).as_bytes()
    n = _notification(raw, recipients=["support+t7k3m9q2x@help.example.com"])
    message = mail.to_inbound_message(n, mail.parse_mime(raw), support_domains=["help.example.com"])
    hints = message.thread_hints
    assert hints is not None
    assert (hints.plus_tag_ticket, hints.subject_ticket) == ("7K3M9Q2X", "7K3M9Q2X")
    assert hints.in_reply_to == "out-1@eu-west-1.amazonses.com"
    assert hints.references == ["a@x", "out-1@eu-west-1.amazonses.com"]
    assert message.reply_to_provider_id == "out-1@eu-west-1.amazonses.com"
    # A plus-tag on a domain that is not ours is ignored.
    other = mail.to_inbound_message(n, mail.parse_mime(raw), support_domains=["other.example"])
    assert other.thread_hints is not None and other.thread_hints.plus_tag_ticket is None


@pytest.mark.parametrize(
    ("recipients", "subject", "plus", "token"),
    [
        (["support+tABCDEFGU@help.example.com"], "[#ABCDEFGU]", None, None),  # U is not Crockford
        (["support+tABC@help.example.com"], "[#ABC]", None, None),  # too short
        (
            ["support@help.example.com", "sales+t0123ABCD@help.example.com"],
            "Re: [#0123abcd] x",
            "0123ABCD",
            "0123ABCD",
        ),
    ],
)
def test_ticket_references_must_be_valid(recipients, subject, plus, token):
    assert mail.plus_tag_ticket(recipients) == plus
    assert mail.subject_ticket(subject) == token


def test_virus_fail_blocks_every_attachment_and_verdicts_are_named():
    n = _notification(None, virusVerdict={"status": "FAIL"}, spamVerdict={"status": "GRAY"})
    message = mail.to_inbound_message(n, mail.parse_mime(n.content or b""))
    assert message.verdicts == {
        "spam": "GRAY",
        "virus": "FAIL",
        "spf": "PASS",
        "dkim": "PASS",
        "dmarc": "PASS",
    }
    assert all(a.blocked for a in message.attachments) and message.attachments


def test_dedup_falls_back_to_the_ses_message_id():
    raw = _build("x", **{"Message-ID": ""}).as_bytes()
    data = sample_json("ses_received_notification.json")
    data["content"] = raw.decode()
    del data["mail"]["commonHeaders"]["messageId"]
    n = mail.parse_sns_envelope(data)
    message = mail.to_inbound_message(n, mail.parse_mime(raw))
    assert message.dedup_key == "email:o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"
    assert message.message_ids == []


def test_sent_at_falls_back_to_the_ses_timestamp():
    raw = _build("x", Date="").as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw))
    assert message.sent_at == datetime(2025, 6, 10, 12, 5, 2, 123000, tzinfo=UTC)
    raw = _build("x").as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw))
    assert message.sent_at == datetime(2025, 6, 10, 14, 5, tzinfo=timezone(timedelta(hours=2)))


def test_sender_falls_back_to_ses_headers_then_the_envelope():
    raw = _build("x", From="").as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw))
    assert message.identities == [IdentityClaim(kind=IdentityKind.email, value="marie.dupont@example.org")]
    data = sample_json("ses_received_notification.json")
    data["content"] = raw.decode()
    data["mail"]["commonHeaders"]["from"] = ["nobody"]
    data["mail"]["source"] = "Bounce@Example.ORG"
    message = mail.to_inbound_message(mail.parse_sns_envelope(data), mail.parse_mime(raw))
    assert message.identities == [IdentityClaim(kind=IdentityKind.email, value="bounce@example.org")]
    data["mail"]["source"] = ""
    with pytest.raises(ChannelPayloadError, match="sender"):
        mail.to_inbound_message(mail.parse_sns_envelope(data), mail.parse_mime(raw))


def test_reply_to_cc_and_recipients_reach_the_metadata():
    raw = _build("x", Cc="Paul <paul@example.fr>", **{"Reply-To": "compta@example.fr"}).as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw))
    assert message.metadata["cc"] == "paul@example.fr"
    assert message.metadata["reply_to"] == "compta@example.fr"
    assert message.metadata["to"] == "support@help.example.com"


def test_storage_keys_must_match_the_attachments():
    n = _notification()
    parsed = mail.parse_mime(n.content or b"")
    with pytest.raises(ValueError, match="storage_keys"):
        mail.to_inbound_message(n, parsed, storage_keys=[])
    assert mail.to_inbound_message(n, parsed).attachments[0].storage_key is None


def test_huge_texts_are_capped():
    raw = _build("a" * 100_000).as_bytes()
    message = mail.to_inbound_message(_notification(raw), mail.parse_mime(raw), max_text_chars=1000)
    assert len(message.text) < 1010
    assert message.metadata["text_truncated"] == "true"


def test_only_received_notifications_become_messages():
    n = _notification()
    bounce = mail.SesNotification(
        **{**{f: getattr(n, f) for f in n.__slots__}, "notification_type": "Bounce"}
    )
    with pytest.raises(ChannelPayloadError, match="Received"):
        mail.to_inbound_message(bounce, mail.parse_mime(n.content or b""))


def test_parsing_does_not_mutate_the_input():
    data = sample_json("ses_via_sns_http_notification.json")
    before = copy.deepcopy(data)
    mail.parse_sns_envelope(data)
    assert data == before
