"""Email replies through Amazon SES, built as raw MIME so the threading headers survive.

Simple (structured) sends cannot carry In-Reply-To/References, so the message is built with
the stdlib ``email`` package and sent as raw content (SESv2 ``SendEmail`` with
``Content.Raw``, or SES v1 ``SendRawEmail``; either client may be passed in).

Threading (../shared/channels/README.md section 4): a reply carries
* ``In-Reply-To`` = the parent's Message-ID and ``References`` = the conversation's ids;
* ``Reply-To: support+t<ticket>@<domain>``: the plus-tag survives clients that drop
  References (iOS Mail) and is what the inbound side matches first;
* ``[#<ticket>]`` in the subject, the last resort.
SES replaces any Message-ID we set with its own (SES "header fields" page), so none is set;
the id SES returns is turned into the header the customer's client will quote
(``<MessageId>@<region>.amazonses.com``, ``email.amazonses.com`` in us-east-1) and returned
for storage so the customer's answer threads on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from shared.adapters.outbound import (
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    RejectionKind,
    SendResult,
    UnsupportedReply,
)
from shared.domain.common import Channel

PROVIDER = "ses"
MAX_REFERENCES = 20  # keep the root and the most recent ids (RFC 5322 allows trimming)

_TOKEN = re.compile(r"\s*\[#[0-9A-Za-z]{8}\]")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|tr|sv|antw)\s*:", re.IGNORECASE)
_UNAVAILABLE = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServiceError",
        "RequestTimeout",
    }
)
_AUTH = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "AccountSendingPausedException",
        "SendingPausedException",
        "AccountSuspendedException",
        "ConfigurationSetDoesNotExistException",
        "ConfigurationSetDoesNotExist",
    }
)


@dataclass(frozen=True)
class SesEmailConfig:
    from_address: str  # support@example.com (a verified identity)
    from_name: str | None = None
    reply_domain: str | None = None  # plus-address domain; defaults to from_address's
    configuration_set: str | None = None  # event publishing (bounces, deliveries) if set


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _one_line(value: str) -> str:
    """Header values may not contain line breaks (header injection); fold them to spaces."""
    return " ".join(value.split())


def reply_subject(subject: str | None, ticket_id: str, *, is_reply: bool) -> str:
    """``Re: <subject> [#<ticket>]``: one token, the current ticket's (a merge changes it)."""
    text = _TOKEN.sub("", _one_line(subject or "")).strip()
    if is_reply and text and not _REPLY_PREFIX.match(text):
        text = f"Re: {text}"
    return f"{text} [#{ticket_id}]" if text else f"[#{ticket_id}]"


def references_header(references: tuple[str, ...], in_reply_to: str | None) -> list[str]:
    """The parent's References plus the parent itself, without repeats, trimmed in the middle."""
    ids = list(
        dict.fromkeys(_bare(r) for r in (*references, *([in_reply_to] if in_reply_to else ())) if _bare(r))
    )
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def ses_header_message_id(ses_message_id: str, region: str | None) -> str:
    """The bare Message-ID SES writes into the sent mail (what a reply's In-Reply-To quotes)."""
    host = "email.amazonses.com" if region in (None, "", "us-east-1") else f"{region}.amazonses.com"
    return f"{ses_message_id}@{host}"


class SesEmailClient:
    provider = PROVIDER

    def __init__(self, client: Any, config: SesEmailConfig) -> None:
        """``client``: a boto3 ``sesv2`` (preferred) or ``ses`` client."""
        self._client = client
        self.config = config
        self._v2 = client.meta.service_model.service_name == "sesv2"
        local, _, domain = config.from_address.partition("@")
        if not local or not domain:
            raise ValueError("from_address must be an email address")
        self._local = local.split("+", 1)[0]
        self._domain = config.reply_domain or domain

    def reply_to_address(self, ticket_id: str) -> str:
        return f"{self._local}+t{ticket_id}@{self._domain}"

    def build_message(self, reply: OutboundReply) -> EmailMessage:
        """The MIME message: text, optional HTML alternative, attachments, threading headers."""
        if reply.channel is not Channel.email:
            raise UnsupportedReply(PROVIDER, f"SES sends email, not {reply.channel.value}")
        if not reply.text and not reply.html and not reply.files:
            raise UnsupportedReply(PROVIDER, "nothing to send: no text, no HTML, no file")
        to = reply.to.strip()
        if not _ADDRESS.match(to):
            raise UnsupportedReply(PROVIDER, "invalid recipient address")
        message = EmailMessage(policy=SMTP)
        try:
            message["From"] = Address(
                display_name=_one_line(self.config.from_name or ""), addr_spec=self.config.from_address
            )
            message["To"] = Address(display_name=_one_line(reply.to_name or ""), addr_spec=to)
        except (ValueError, IndexError, HeaderParseError) as error:
            raise UnsupportedReply(PROVIDER, f"invalid address ({type(error).__name__})") from None
        message["Reply-To"] = self.reply_to_address(reply.ticket_id)
        message["Subject"] = reply_subject(
            reply.subject, reply.ticket_id, is_reply=reply.in_reply_to is not None
        )
        message["Date"] = formatdate(usegmt=True)
        if reply.in_reply_to:
            message["In-Reply-To"] = f"<{_bare(reply.in_reply_to)}>"
        references = references_header(reply.references, reply.in_reply_to)
        if references:
            message["References"] = " ".join(f"<{ref}>" for ref in references)
        # Quoted-printable keeps every part 7-bit: SES and old relays need no 8BITMIME.
        message.set_content(reply.text or "", charset="utf-8", cte="quoted-printable")
        if reply.html:
            message.add_alternative(reply.html, subtype="html", charset="utf-8", cte="quoted-printable")
        for file in reply.files:
            maintype, _, subtype = file.content_type.partition("/")
            message.add_attachment(
                file.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
        return message

    def send(self, reply: OutboundReply) -> SendResult:
        raw = self.build_message(reply).as_bytes()
        try:
            if self._v2:
                params: dict[str, Any] = {
                    "FromEmailAddress": self.config.from_address,
                    "Destination": {"ToAddresses": [reply.to.strip()]},
                    "Content": {"Raw": {"Data": raw}},
                }
                if self.config.configuration_set:
                    params["ConfigurationSetName"] = self.config.configuration_set
                response = self._client.send_email(**params)
            else:
                params = {
                    "Source": self.config.from_address,
                    "Destinations": [reply.to.strip()],
                    "RawMessage": {"Data": raw},
                }
                if self.config.configuration_set:
                    params["ConfigurationSetName"] = self.config.configuration_set
                response = self._client.send_raw_email(**params)
        except Exception as error:
            raise _translate(error) from None
        message_id = str(response["MessageId"])
        return SendResult(
            provider=PROVIDER,
            provider_message_id=message_id,
            raw_status="accepted",
            email_message_id=ses_header_message_id(message_id, self._client.meta.region_name),
        )


def _translate(error: Exception) -> Exception:
    """botocore errors -> ProviderRejected / ProviderUnavailable (anything else re-raised)."""
    if isinstance(error, ReadTimeoutError):
        return ProviderUnavailable(PROVIDER, "read timeout (the message may have been sent)", ambiguous=True)
    if isinstance(error, ConnectTimeoutError | BotoConnectionError):
        return ProviderUnavailable(PROVIDER, f"connection failed ({type(error).__name__})")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code") or "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _UNAVAILABLE or (isinstance(status, int) and status >= 500):
            return ProviderUnavailable(PROVIDER, code or "service error", status=status)
        if code in ("LimitExceededException", "LimitExceeded"):
            kind = RejectionKind.throttled  # daily quota or rate: later, not now
        elif code in _AUTH:
            kind = RejectionKind.auth
        else:
            kind = RejectionKind.invalid  # MessageRejected, BadRequestException ...
        return ProviderRejected(
            PROVIDER,
            status=status if isinstance(status, int) else None,
            code=code or None,
            provider_message=str(details.get("Message") or "") or None,
            kind=kind,
        )
    return error
