"""Inbound email (SES receipt rule -> SNS -> SQS): notification, MIME parsing, InboundMessage.

Three pure steps, because the middle one needs I/O the processor owns:

1. ``parse_sns_envelope`` reads the queued SNS notification: the SES ``mail``/``receipt`` parts
   and either the raw MIME (SNS action, mail up to 150 KB) or its S3 location (S3 action).
2. The processor fetches the MIME from S3 when needed, then ``parse_mime`` reads it with the
   standard library (``policy=default``): addresses, subject, ids, text, attachments' bytes.
3. The processor stores the attachments' bytes, then ``to_inbound_message`` builds the
   normalised message (bytes never travel in an ``InboundMessage``).

Message-IDs are handled bare, without angle brackets (``abc@host``), everywhere: ``message_ids``,
``ThreadHints.in_reply_to``/``references`` and the dedup key. Whoever stores outbound ids must
strip the brackets too so that replies match.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import mimetypes
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from shared.adapters.channels.claims import claim
from shared.adapters.channels.errors import (
    ChannelPayloadError,
    JsonObject,
    from_iso,
    load_json_object,
    opt_list,
    opt_obj,
    opt_str,
    req_obj,
    req_str,
)
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.ids import is_ticket_reference
from shared.domain.inbound import InboundMessage, ThreadHints
from shared.domain.message import Attachment

MAX_TEXT_CHARS = 64_000  # per text field: keeps the stored message far below DynamoDB's 400 KB
_VERDICTS = {
    "spamVerdict": "spam",
    "virusVerdict": "virus",
    "spfVerdict": "spf",
    "dkimVerdict": "dkim",
    "dmarcVerdict": "dmarc",
}

# --- 1. the SNS notification -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SesNotification:
    """One SES "Received" notification, as SNS delivered it to SQS.

    ``topic_arn`` (the SNS envelope's) and ``action_topic_arn`` (the receipt rule action's) are
    exposed for the caller's allowlist check. SES does not put the receipt rule's name in the
    notification; the action's topic (or bucket) is what identifies the rule.
    """

    notification_type: str
    ses_message_id: str  # also the S3 object name under the action's prefix
    mail: JsonObject
    receipt: JsonObject
    content: bytes | None = field(default=None, repr=False)  # raw MIME (SNS action only)
    s3_bucket: str | None = None  # S3 action: where the raw MIME is
    s3_key: str | None = None
    sns_message_id: str | None = None  # None when SQS got the raw message (raw delivery)
    topic_arn: str | None = None
    sns_timestamp: str | None = None

    @property
    def action(self) -> JsonObject:
        value = self.receipt.get("action")
        return value if isinstance(value, Mapping) else {}

    @property
    def action_type(self) -> str | None:
        value = self.action.get("type")
        return value if isinstance(value, str) else None

    @property
    def action_topic_arn(self) -> str | None:
        value = self.action.get("topicArn")
        return value if isinstance(value, str) else None

    @property
    def recipients(self) -> list[str]:
        """Envelope recipients (RCPT TO), where the ``support+t<REF>@`` tag is found."""
        values = self.receipt.get("recipients") or self.mail.get("destination") or []
        return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []

    @property
    def common_headers(self) -> JsonObject:
        value = self.mail.get("commonHeaders")
        return value if isinstance(value, Mapping) else {}

    @property
    def verdicts(self) -> dict[str, str]:
        """``{"spam": "PASS", "virus": "FAIL", ...}`` from the receipt (names lowercased)."""
        verdicts: dict[str, str] = {}
        for key, name in _VERDICTS.items():
            verdict = self.receipt.get(key)
            status = verdict.get("status") if isinstance(verdict, Mapping) else None
            if isinstance(status, str) and status:
                verdicts[name] = status.upper()
        return verdicts


def parse_sns_envelope(body: Mapping[str, Any] | str | bytes) -> SesNotification:
    """The SES notification inside an SNS ``Notification`` (``Message`` is a JSON string).

    Also accepted: the router's ``{"sns": <notification>}`` wrapper, and the bare SES
    notification (SNS raw message delivery to SQS). Subscription confirmations are refused.
    """
    data: JsonObject = body if isinstance(body, Mapping) else load_json_object(body, "email")
    wrapped = data.get("sns")
    if isinstance(wrapped, Mapping):
        data = wrapped
    sns_message_id = topic_arn = sns_timestamp = None
    if "Type" in data:
        if data.get("Type") != "Notification":
            raise ChannelPayloadError("email: the SNS message is not a Notification")
        sns_message_id = opt_str(data, "MessageId", "sns")
        topic_arn = opt_str(data, "TopicArn", "sns")
        sns_timestamp = opt_str(data, "Timestamp", "sns")
        message = load_json_object(req_str(data, "Message", "sns"), "email: sns.Message")
    else:
        message = data
    mail = req_obj(message, "mail", "ses")
    receipt = opt_obj(message, "receipt", "ses") or {}
    ses_message_id = req_str(mail, "messageId", "ses.mail")
    action = opt_obj(receipt, "action", "ses.receipt") or {}
    content = _content(message, action)
    bucket = key = None
    if (opt_str(action, "type", "ses.receipt.action") or "").upper() == "S3":
        bucket = opt_str(action, "bucketName", "ses.receipt.action")
        key = opt_str(action, "objectKey", "ses.receipt.action")
        if bucket and not key:
            key = (opt_str(action, "objectKeyPrefix", "ses.receipt.action") or "") + ses_message_id
    return SesNotification(
        notification_type=req_str(message, "notificationType", "ses"),
        ses_message_id=ses_message_id,
        mail=mail,
        receipt=receipt,
        content=content,
        s3_bucket=bucket,
        s3_key=key,
        sns_message_id=sns_message_id,
        topic_arn=topic_arn,
        sns_timestamp=sns_timestamp,
    )


def _content(message: JsonObject, action: JsonObject) -> bytes | None:
    """The SNS action's ``content``: ``UTF8`` (the default) or ``BASE64`` encoded MIME."""
    content = message.get("content")
    if content is None:
        return None
    if not isinstance(content, str):
        raise ChannelPayloadError("email: ses.content is not text")
    encoding = (opt_str(action, "encoding", "ses.receipt.action") or "UTF8").upper().replace("-", "")
    if encoding == "BASE64":
        try:
            return base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ChannelPayloadError("email: ses.content is not valid base64") from exc
    # SES already decoded the mail as UTF-8 (damaging other charsets): encode it back as is.
    return content.encode("utf-8", errors="replace")


# --- 2. the MIME message -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailAddress:
    address: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EmailPart:
    """An attachment or inline image, with its bytes for the processor to store (S3)."""

    filename: str | None
    content_type: str
    size: int
    content_id: str | None  # without angle brackets, as ``cid:`` URLs in the HTML name it
    inline: bool
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    from_address: EmailAddress | None
    reply_to: list[EmailAddress]
    to: list[EmailAddress]
    cc: list[EmailAddress]
    subject: str | None
    message_id: str | None  # bare, without angle brackets
    in_reply_to: str | None
    references: list[str]
    date: datetime | None
    text: str  # the whole text (HTML converted when there is no text/plain)
    display_text: str  # the text with the quoted reply trimmed
    html: str | None
    attachments: list[EmailPart]
    auto_submitted: bool  # an auto-reply, a bounce or a report (RFC 3834 and friends)
    bulk: bool  # a list or bulk mailing

    @property
    def auto_reply(self) -> bool:
        """Never answer this automatically: loops and noise follow."""
        return self.auto_submitted or self.bulk


def parse_mime(raw: bytes) -> ParsedEmail:
    """Read one RFC 5322 message. Never raises on odd mail: a defect degrades a field, not the mail."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # policy.default builds EmailMessage objects
    plain = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    html = _decode_text(html_part) if html_part is not None else None
    body_ids = {id(p) for p in (plain, html_part) if p is not None}
    attachments: list[EmailPart] = []
    extra_text: list[str] = []
    _walk(msg, "", body_ids, attachments, extra_text)
    if plain is not None:
        text = "\n".join([_decode_text(plain), *extra_text])
    elif html is not None:
        text = html_to_text(html)
    else:
        text = "\n".join(extra_text)
    text = _clean_text(text)
    from_addresses = _addresses(msg, "From")
    auto_submitted, bulk = _automatic(msg)
    return ParsedEmail(
        from_address=from_addresses[0] if from_addresses else None,
        reply_to=_addresses(msg, "Reply-To"),
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        subject=_subject(msg),
        message_id=next(iter(message_ids(_header_text(msg, "Message-ID"))), None),
        in_reply_to=next(iter(message_ids(_header_text(msg, "In-Reply-To"))), None),
        references=message_ids(_header_text(msg, "References")),
        date=_date(msg),
        text=text,
        display_text=trim_quoted(text),
        html=html,
        attachments=attachments,
        auto_submitted=auto_submitted,
        bulk=bulk,
    )


def _header_text(msg: Message, name: str) -> str | None:
    """A header's decoded text; a header the modern parser chokes on falls back to its raw form."""
    try:
        value = msg.get(name)
    except Exception:  # the email package raises assorted errors on malformed headers
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
        if value is None:
            return None
        try:
            return str(make_header(decode_header(str(value))))
        except Exception:
            return str(value)
    return None if value is None else str(value)


def _addresses(msg: Message, name: str) -> list[EmailAddress]:
    result: list[EmailAddress] = []
    try:
        header: Any = msg.get(name)  # an AddressHeader under policy.default
        pairs = [(a.display_name, a.addr_spec) for a in header.addresses] if header is not None else []
    except Exception:  # malformed address header: fall back to the lenient legacy parser
        raw = [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]
        pairs = getaddresses(raw)
    for display, raw_address in pairs:
        address = raw_address.strip()
        if address.count("@") == 1:
            result.append(EmailAddress(address=address, name=" ".join(display.split()) or None))
    return result


def _subject(msg: Message) -> str | None:
    value = _header_text(msg, "Subject")
    if value is None:
        return None
    return " ".join(value.split()) or None


_MSG_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str | None) -> list[str]:
    """Bare Message-IDs from a Message-ID/In-Reply-To/References value, in order, no repeats."""
    if not value:
        return []
    found = _MSG_ID.findall(value)
    if not found:
        found = [token.strip("<>") for token in value.split() if "@" in token]
    return list(dict.fromkeys(i for i in found if i))


def _date(msg: Message) -> datetime | None:
    value = _header_text(msg, "Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _automatic(msg: Message) -> tuple[bool, bool]:
    """(auto-submitted, bulk) from the headers RFC 3834 and mailing lists use."""
    auto_submitted = (_header_text(msg, "Auto-Submitted") or "").split(";")[0].strip().lower()
    precedence = (_header_text(msg, "Precedence") or "").strip().lower()
    auto = auto_submitted not in ("", "no")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = _header_text(msg, name)
        if value is not None and value.strip().lower() != "no":
            auto = True
    if precedence == "auto_reply" or msg.get_content_type() == "multipart/report":
        auto = True  # vacation responders and delivery/read reports
    if (_header_text(msg, "Return-Path") or "").strip() == "<>":
        auto = True  # a null sender: a bounce
    bulk = precedence in ("bulk", "junk", "list") or any(
        _header_text(msg, name) is not None for name in ("List-Id", "List-Unsubscribe")
    )
    return auto, bulk


def _walk(
    part: Message, parent_type: str, body_ids: set[int], out: list[EmailPart], texts: list[str]
) -> None:
    """Attachments and inline parts in document order, plus stray text/plain parts of a mixed body.

    Apple Mail splits a body around inline images into several text/plain parts under
    multipart/mixed; those are text, not attachments. A forwarded message/rfc822 is kept whole.
    """
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        data = inner.as_bytes() if isinstance(inner, Message) else b""
        out.append(_email_part(part, data, _filename(part) or "forwarded-message.eml", len(out)))
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, content_type, body_ids, out, texts)
        return
    if id(part) in body_ids or part.get_content_maintype() == "message":
        return
    filename = _filename(part)
    if part.get_content_disposition() != "attachment" and filename is None:
        if content_type == "text/plain":
            if parent_type == "multipart/mixed":
                texts.append(_decode_text(part))
            return
        if content_type == "text/html":
            return  # the HTML twin of a body already read
    payload = part.get_payload(decode=True)
    out.append(_email_part(part, payload if isinstance(payload, bytes) else b"", filename, len(out)))


def _email_part(part: Message, data: bytes, filename: str | None, index: int) -> EmailPart:
    content_type = part.get_content_type()
    content_id = (part.get("Content-ID") or "").strip().strip("<>").strip() or None
    disposition = part.get_content_disposition()
    if filename is None:
        filename = f"part-{index + 1}{mimetypes.guess_extension(content_type) or '.bin'}"
    return EmailPart(
        filename=filename,
        content_type=content_type,
        size=len(data),
        content_id=content_id,
        inline=disposition == "inline" or (disposition is None and content_id is not None),
        data=data,
    )


_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f]")


def _filename(part: Message) -> str | None:
    """The part's file name, decoded (RFC 2231 or encoded-words) and stripped of any path."""
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    if "=?" in name:
        with contextlib.suppress(Exception):  # undecodable: keep the raw name
            name = str(make_header(decode_header(name)))
    name = _UNSAFE_FILENAME.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255] or None


def _decode_text(part: Message) -> str:
    """A text part's content: its declared charset, else UTF-8, else Windows-1252 (never fails)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset()
    for charset in (declared, "utf-8", "windows-1252"):
        if not charset:
            continue
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _HtmlToText(HTMLParser):
    """Tags stripped, line breaks kept; blockquotes become "> " lines so quote trimming sees them."""

    _BLOCKS = frozenset(
        {
            *("address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset"),
            *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
            *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead"),
            *("tfoot", "tr", "ul"),
        }
    )
    _SKIPPED = frozenset({"head", "script", "style", "template", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _flush(self, *, force: bool = False) -> None:
        line = "".join(self._current)
        line = line if self._pre else " ".join(line.split())
        if line.strip() or force:
            self.lines.append("> " * self._quote + line if line.strip() else ("> " * self._quote).rstrip())
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip += 1
        elif tag == "br":
            self._flush(force=True)
        elif tag in self._BLOCKS:
            self._flush()
            if tag == "p":
                self._paragraph()
            self._quote += tag == "blockquote"
            self._pre += tag == "pre"
            if tag == "li":
                self._current.append("- ")
        elif tag in ("td", "th"):
            self._current.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._flush(force=tag == "br")
        # other void tags (<img/>) carry no text

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self._flush()
            if tag == "p":
                self._paragraph()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def _paragraph(self) -> None:
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(("> " * self._quote).rstrip())

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: no tags, entities decoded, one line per block or <br>."""
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    return _clean_text("\n".join(parser.lines))


_ATTRIBUTION = re.compile(
    r"^(on|le|am|el|op|il|em)\b.{0,400}\b(wrote|a écrit|a ecrit|schrieb|escribió|schreef|ha scritto|escreveu)"
    r"\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^-{2,}\s*(original message|message d['\u2019]origine|ursprüngliche nachricht|mensaje original)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^(-{2,}\s*(forwarded message|message transféré|weitergeleitete nachricht|mensaje reenviado)\s*-{2,}"
    r"|(begin forwarded message|début du message réexpédié)\s*:)\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\*?(from|de|von|da)\s*\*?\s*:\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\*?(sent|date|envoyé|gesendet|to|à|an|subject|objet|betreff|cc)\s*\*?\s*:", re.IGNORECASE
)


def _is_quote_start(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if _ORIGINAL.match(line):
        return True
    if _ATTRIBUTION.match(line):
        return True
    wrapped = i + 1 < len(lines) and re.match(r"^(on|le|am|el|op|il|em)\b", line, re.IGNORECASE)
    if wrapped and _ATTRIBUTION.match(f"{line} {lines[i + 1].strip()}"):  # attribution on two lines
        return True
    following = [candidate.strip() for candidate in lines[i + 1 : i + 5] if candidate.strip()]
    if re.match(r"^_{10,}$", line):  # Outlook's separator above the original's headers
        return bool(following) and bool(_HEADER_FROM.match(following[0]))
    if _HEADER_FROM.match(line):  # Outlook/Gmail header block: From: then Sent:/To:/Subject:
        return any(_HEADER_NEXT.match(candidate) for candidate in following[:3])
    return False


def trim_quoted(text: str) -> str:
    """The text without the quoted reply: cut at the first attribution or separator, then drop
    a trailing block of "> " lines. Forwarded messages are kept (the customer meant to send
    them); inline replies between quotes keep their quotes. Never returns an empty text when the
    original was not empty."""
    lines = text.split("\n")
    # Nothing below a forward marker is trimmed: its header block looks like Outlook's quote.
    forward = next((i for i, line in enumerate(lines) if _FORWARDED.match(line.strip())), len(lines))
    cut = next((i for i in range(forward) if _is_quote_start(lines, i)), len(lines))
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


# --- 3. the normalised message -----------------------------------------------------------------

_PLUS_TAG = re.compile(r"^[^@+\s]+\+t([0-9A-Za-z]{8})@([^@\s]+)$")
_SUBJECT_TAG = re.compile(r"\[#([0-9A-Za-z]{8})\]")


def plus_tag_ticket(recipients: Sequence[str], support_domains: Collection[str] = ()) -> str | None:
    """``support+t<REF>@<one of our domains>`` among the envelope recipients -> REF (uppercase)."""
    domains = {d.lower().strip(".") for d in support_domains}
    for recipient in recipients:
        match = _PLUS_TAG.match(recipient.strip().strip("<>"))
        if match is None or (domains and match.group(2).lower().strip(".") not in domains):
            continue
        reference = match.group(1).upper()
        if is_ticket_reference(reference):
            return reference
    return None


def subject_ticket(subject: str | None) -> str | None:
    """``[#<REF>]`` in the subject -> REF (uppercase), the first valid one."""
    for match in _SUBJECT_TAG.finditer(subject or ""):
        reference = match.group(1).upper()
        if is_ticket_reference(reference):
            return reference
    return None


def dedup_key(rfc_message_id: str | None, ses_message_id: str) -> str:
    """``email:<bare RFC Message-ID>``, or ``email:<SES messageId>`` for mail without one."""
    return f"email:{rfc_message_id or ses_message_id}"


def to_inbound_message(
    notification: SesNotification,
    parsed: ParsedEmail,
    *,
    support_domains: Collection[str] = (),
    storage_keys: Sequence[str | None] | None = None,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> InboundMessage:
    """The customer's message, threaded by hints the processor tries in order.

    ``support_domains`` restricts the plus-tag to our own domains (empty: any domain SES
    accepted). ``storage_keys`` are the S3 keys the processor stored ``parsed.attachments``
    under, in the same order (None to fill them later). Every attachment is ``blocked`` when
    the virus verdict is FAIL.
    """
    if notification.notification_type != "Received":
        raise ChannelPayloadError("email: not a Received notification")
    if storage_keys is not None and len(storage_keys) != len(parsed.attachments):
        raise ValueError("storage_keys must match parsed.attachments one for one")
    common = notification.common_headers
    sender = _sender(notification, parsed)
    rfc_id = parsed.message_id or next(iter(message_ids(opt_str(common, "messageId", "ses.mail"))), None)
    subject = parsed.subject or _one_line(opt_str(common, "subject", "ses.mail.commonHeaders"))
    verdicts = notification.verdicts
    blocked = verdicts.get("virus") == "FAIL"
    attachments = [
        Attachment(
            name=part.filename,
            content_type=part.content_type,
            size=part.size,
            storage_key=storage_keys[i] if storage_keys is not None else None,
            inline=part.inline,
            blocked=blocked,
        )
        for i, part in enumerate(parsed.attachments)
    ]
    metadata = _metadata(notification, parsed, sender.address)
    text, truncated = _cap(parsed.text, max_text_chars)
    display, display_truncated = _cap(parsed.display_text, max_text_chars)
    if truncated or display_truncated:
        metadata["text_truncated"] = "true"
    identity = claim(IdentityKind.email, sender.address)
    assert identity is not None  # _sender only returns addresses that normalise
    return InboundMessage(
        dedup_key=dedup_key(rfc_id, notification.ses_message_id),
        channel=Channel.email,
        identities=[identity],
        display_name=sender.name,
        subject=subject,
        text=text,
        content_type="text",
        attachments=attachments,
        provider_ids={"ses_message_id": notification.ses_message_id}
        | ({"message_id": rfc_id} if rfc_id else {}),
        reply_to_provider_id=parsed.in_reply_to,
        metadata=metadata,
        display_text=display,
        thread_hints=ThreadHints(
            plus_tag_ticket=plus_tag_ticket(notification.recipients, support_domains),
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            subject_ticket=subject_ticket(subject),
        ),
        auto_reply=parsed.auto_reply or _null_sender(notification),
        verdicts=verdicts,
        message_ids=[rfc_id] if rfc_id else [],
        sent_at=_sent_at(notification, parsed),
    )


def _sender(notification: SesNotification, parsed: ParsedEmail) -> EmailAddress:
    """From, else SES's parsed From, else the envelope sender: the first that is an address."""
    candidates: list[EmailAddress] = [parsed.from_address] if parsed.from_address else []
    for raw in opt_list(notification.common_headers, "from", "ses.mail.commonHeaders"):
        if isinstance(raw, str):
            candidates.extend(EmailAddress(address=a, name=n or None) for n, a in getaddresses([raw]) if a)
    source = opt_str(notification.mail, "source", "ses.mail")
    if source:
        candidates.append(EmailAddress(address=source))
    for candidate in candidates:
        if claim(IdentityKind.email, candidate.address) is not None:
            return candidate
    raise ChannelPayloadError("email: no usable sender address (From or envelope sender)")


def _metadata(notification: SesNotification, parsed: ParsedEmail, sender: str) -> dict[str, str]:
    """What replies and routing need: envelope recipients, To/Cc, Reply-To when it differs."""
    metadata: dict[str, str] = {}
    values = {
        "recipients": ",".join(notification.recipients),
        "to": ",".join(a.address for a in parsed.to),
        "cc": ",".join(a.address for a in parsed.cc),
        "reply_to": ",".join(a.address for a in parsed.reply_to if a.address.lower() != sender.lower()),
        "source": opt_str(notification.mail, "source", "ses.mail") or "",
        "dmarc_policy": opt_str(notification.receipt, "dmarcPolicy", "ses.receipt") or "",
    }
    for key, value in values.items():
        if value:
            metadata[key] = value
    if notification.mail.get("headersTruncated"):
        metadata["headers_truncated"] = "true"
    return metadata


def _null_sender(notification: SesNotification) -> bool:
    source = notification.mail.get("source")
    return isinstance(source, str) and source.strip() in ("", "<>")


def _sent_at(notification: SesNotification, parsed: ParsedEmail) -> datetime:
    """The Date header (when the sender says they wrote it), else when SES received it."""
    if parsed.date is not None:
        return parsed.date
    for obj, key in ((notification.mail, "timestamp"), (notification.receipt, "timestamp")):
        value = obj.get(key)
        if isinstance(value, str):
            return from_iso(value, f"ses.{key}")
    raise ChannelPayloadError("email: no Date header and no SES timestamp")


def _one_line(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split()) or None


def _cap(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:limit].rstrip() + "\n[…]", True
