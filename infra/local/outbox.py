"""Everything the local stack "sent": SES mail, SNS SMS and calls to the fake providers.

Nothing leaves the machine locally, so developers and e2e tests need one place to see what
would have gone out. moto keeps SES mail in ``ses_backends[...].sent_messages`` (SESv2 sends land
there too) and SMS in ``sns_backends[...].sms_messages``, but records no send time; to list
everything newest first, :func:`stamp_moto_backends` swaps those two containers for subclasses
that note when each entry arrived (same type, same content: moto's own code is unaffected).

The provider fakes stand in for Twilio and the Meta Graph API: provider clients are pointed at
``/local/providers/<provider>/...`` (see :func:`provider_base_url_overrides`), each request is
recorded (without credentials) and answered the way the provider answers a successful send.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

_SEQ = itertools.count()
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
# Real provider API hosts -> the fake that answers for them (used to rewrite base URLs).
PROVIDER_HOSTS: dict[str, str] = {
    "api.twilio.com": "twilio",
    "graph.facebook.com": "meta",
    "graph.instagram.com": "meta",
}


def _stamp() -> tuple[float, int]:
    return time.time(), next(_SEQ)


class StampedList(list[Any]):
    """A list that remembers when each item was appended (moto's SES ``sent_messages``)."""

    def __init__(self, items: Any = ()):
        super().__init__(items)
        self.stamps: list[tuple[float, int]] = [_stamp() for _ in self]

    def append(self, item: Any) -> None:
        super().append(item)
        self.stamps.append(_stamp())


class StampedDict(OrderedDict[Any, Any]):
    """An OrderedDict that remembers when each key was set (moto's SNS ``sms_messages``)."""

    def __init__(self, items: Any = ()):
        self.stamps: dict[Any, tuple[float, int]] = {}
        super().__init__(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.stamps.setdefault(key, _stamp())


def stamp_moto_backends(account_id: str, region: str) -> None:
    ses = ses_backends[account_id][region]
    if not isinstance(ses.sent_messages, StampedList):
        ses.sent_messages = StampedList(ses.sent_messages)
    sns = sns_backends[account_id][region]
    if not isinstance(sns.sms_messages, StampedDict):
        sns.sms_messages = StampedDict(sns.sms_messages)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def email_record(message: Any) -> dict[str, Any]:
    """One SES message (moto's Message, TemplateMessage, BulkTemplateMessage or RawMessage)."""
    record: dict[str, Any] = {"kind": "email", "source": getattr(message, "source", None)}
    if hasattr(message, "ids"):
        record["id"] = list(message.ids)
    else:
        record["id"] = getattr(message, "id", None)
    destinations = getattr(message, "destinations", None)
    record["destinations"] = destinations
    if hasattr(message, "raw_data"):
        record["raw"] = message.raw_data
    if hasattr(message, "template"):
        record["template"] = message.template
        record["templateData"] = message.template_data
    if hasattr(message, "subject"):
        record["subject"] = message.subject
        record["body"] = message.body
    return record


@dataclass
class Outbox:
    """The provider-fake records plus a view over moto's sent mail and SMS."""

    account_id: str
    region: str
    limit: int = 1000

    def __post_init__(self) -> None:
        self._records: list[tuple[tuple[float, int], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._records.append((_stamp(), entry))
            del self._records[: -self.limit]
        return entry

    def items(self) -> list[dict[str, Any]]:
        """Everything sent, newest first, each with ``at`` (ISO-8601 UTC)."""
        stamped: list[tuple[tuple[float, int], dict[str, Any]]] = []
        ses = ses_backends[self.account_id][self.region].sent_messages
        stamps = getattr(ses, "stamps", None)
        for i, message in enumerate(list(ses)):
            stamp = stamps[i] if stamps is not None and i < len(stamps) else (0.0, i)
            stamped.append((stamp, email_record(message)))
        sms = sns_backends[self.account_id][self.region].sms_messages
        sms_stamps = getattr(sms, "stamps", {})
        for i, (message_id, (phone, text)) in enumerate(list(sms.items())):
            stamp = sms_stamps.get(message_id, (0.0, i))
            stamped.append((stamp, {"kind": "sms", "id": message_id, "phoneNumber": phone, "message": text}))
        with self._lock:
            stamped += self._records
        stamped.sort(key=lambda pair: pair[0], reverse=True)
        return [{"at": _iso(stamp[0]), **entry} for stamp, entry in stamped]


# ------------------------------------------------------------------ provider fakes
def parse_body(content_type: str | None, body: bytes) -> Any:
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if not body:
        return None
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError:
            pass
    if ctype == "application/x-www-form-urlencoded":
        form: dict[str, Any] = {}
        for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
            if key not in form:
                form[key] = value
            elif isinstance(form[key], list):
                form[key].append(value)
            else:
                form[key] = [form[key], value]
        return form
    return body.decode("utf-8", errors="replace")


def safe_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers if k.lower() not in _SECRET_HEADERS}


def provider_reply(provider: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    """What the real API answers to a successful send (the fields clients read)."""
    fields = body if isinstance(body, dict) else {}
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    if provider == "twilio":
        if path.endswith("Messages.json"):
            account = path.split("/Accounts/", 1)[1].split("/", 1)[0] if "/Accounts/" in path else "AC"
            return 201, {
                "sid": "SM" + secrets.token_hex(16),
                "account_sid": account,
                "status": "queued",
                "to": fields.get("To"),
                "from": fields.get("From") or fields.get("MessagingServiceSid"),
                "body": fields.get("Body"),
                "num_segments": "1",
                "direction": "outbound-api",
                "date_created": now,
                "error_code": None,
                "error_message": None,
            }
        return 200, {"sid": "XX" + secrets.token_hex(16)}
    if provider == "meta":
        if path.rstrip("/").endswith("/messages") and fields.get("messaging_product") == "whatsapp":
            to = fields.get("to")
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": "wamid." + secrets.token_urlsafe(36)}],
            }
        if path.rstrip("/").endswith("/messages"):  # Messenger / Instagram Send API
            recipient = (fields.get("recipient") or {}).get("id") if isinstance(fields, dict) else None
            return 200, {"recipient_id": recipient, "message_id": "m_" + secrets.token_urlsafe(32)}
        return 200, {"id": str(uuid.uuid4()), "success": True}
    return 200, {"id": str(uuid.uuid4())}


def fake_provider_call(
    outbox: Outbox,
    *,
    provider: str,
    path: str,
    method: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> tuple[int, dict[str, Any]]:
    header_map = safe_headers(headers)
    parsed = parse_body(header_map.get("content-type"), body)
    status, reply = provider_reply(provider, path, parsed)
    outbox.record(
        {
            "kind": "provider",
            "provider": provider,
            "method": method,
            "path": path,
            "query": dict(parse_qsl(query)),
            "headers": header_map,
            "body": parsed,
            "response": {"status": status, "body": reply},
        }
    )
    return status, reply


def provider_base_url_overrides(environ: Mapping[str, str], providers_url: str) -> dict[str, str]:
    """Environment values that point at a real provider API, rewritten to the local fake.

    A function declared with e.g. ``TWILIO_API_BASE_URL="https://api.twilio.com"`` gets
    ``<providers_url>/twilio`` locally, so nothing is ever sent to a real provider.
    """
    overrides: dict[str, str] = {}
    for name, value in environ.items():
        if not value.startswith(("https://", "http://")):
            continue
        parts = urlsplit(value)
        provider = PROVIDER_HOSTS.get(parts.hostname or "")
        if provider:
            overrides[name] = f"{providers_url.rstrip('/')}/{provider}{parts.path.rstrip('/')}"
    return overrides
