"""Replies and canned responses for `make bench` (issue 5, items 6-7): AWS calls, DynamoDB items
and write units per reply, per channel, and per canned-response operation.

Its own moto session, apart from the rest: replies_api's handler runs from events/replies_api
samples against the table, the ``providers`` secret and SES on moto, with Twilio and the Meta
Graph API answered by a local HTTP server (the local stack's fake answers, infra/local/outbox.py).
Provider requests are not AWS calls; they are counted in their own column.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.counter import Tally, counting

PHONE_NUMBER_ID = "106540352242922"


@dataclass
class Row:
    operation: str
    tally: Tally
    provider_requests: int
    status: int


@contextmanager
def _fake_providers() -> Iterator[tuple[str, list[str]]]:
    """Twilio and Meta on 127.0.0.1, answering as they do to a successful send (a body
    containing "REJECT" gets Twilio's 400 for an invalid number)."""
    from infra.local.outbox import parse_body, provider_reply

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            provider, _, path = self.path.lstrip("/").partition("/")
            seen.append(provider)
            if b"REJECT" in raw:
                status, body = 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
            else:
                status, body = provider_reply(
                    provider, "/" + path, parse_body(self.headers["Content-Type"], raw)
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _provision(url: str) -> dict[str, Any]:
    """Inside mock_aws: the declared resources, the providers secret, the verified sender, and
    the replies function's environment pointing at the fake providers."""
    import boto3

    from tests.support import provision_moto

    env, handles = provision_moto()
    secret = boto3.client("secretsmanager").create_secret(
        Name="guichet/providers",
        SecretString=json.dumps(
            {
                "twilio_account_sid": "AC0123456789abcdef0123456789abcdef",
                "twilio_auth_token": "12345",
                "whatsapp_access_token": "bench",
                "messenger_page_access_token": "bench",
            }
        ),
    )["ARN"]
    boto3.client("ses").verify_domain_identity(Domain="guichet.local")
    os.environ.update(
        {
            **env,
            "PROVIDER_SECRETS_ARN": secret,
            "SUPPORT_EMAIL_FROM": "support@guichet.local",
            "TWILIO_API_BASE_URL": f"{url}/twilio",
            "TWILIO_SMS_FROM": "+33757000000",
            "META_GRAPH_BASE_URL": f"{url}/meta",
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "OUTBOUND_MAX_ATTEMPTS": "1",
        }
    )
    return handles


def _seed(repo: Any, channel: Any, kind: Any, value: str, ago: timedelta = timedelta(hours=1)) -> str:
    """A ticket opened by the customer's message ``ago`` (an email one has a Message-ID)."""
    from shared.domain.common import Channel
    from shared.domain.inbound import IdentityClaim, InboundMessage
    from shared.services.ingest import record_message
    from tests.support import FixedClock

    now = datetime.now(UTC)
    email = channel is Channel.email
    result = record_message(
        repo,
        FixedClock(now),
        InboundMessage(
            dedup_key=f"bench:{channel.value}:{value}",
            channel=channel,
            identities=[IdentityClaim(kind=kind, value=value)],
            first_name="Léa",
            subject="Ma commande",
            text="Bonjour, où en est ma commande ?",
            provider_ids={"message_id": f"{value}.1@mail.example"} if email else {},
            message_ids=[f"{value}.1@mail.example"] if email else [],
            sent_at=now - ago,
        ),
    )
    assert result.ticket_id
    return result.ticket_id


def measure() -> list[Row]:
    from moto import mock_aws

    from functions.replies_api import handler as replies
    from shared.adapters.dynamodb.repository import DynamoRepository
    from shared.domain.common import Channel
    from shared.domain.identity import IdentityKind
    from tests.support import LambdaContext, load_event

    rows: list[Row] = []
    context = LambdaContext()
    with mock_aws(), _fake_providers() as (url, seen):
        handles = _provision(url)
        replies._wired = None
        repo = DynamoRepository(handles["table"])

        def call(label: str | None, sample: str, ticket_id: str | None = None, body: Any = None) -> None:
            event = load_event(f"replies_api/{sample}")
            if ticket_id is not None:
                path = event["rawPath"].replace("K7M3Q9XA", ticket_id)
                event["rawPath"] = event["requestContext"]["http"]["path"] = path
                event["pathParameters"] = {**event["pathParameters"], "ticket_id": ticket_id}
            if body is not None:
                event["body"] = json.dumps(body)
            before = len(seen)
            with counting() as tally:
                response = replies.handler(event, context)
            if label:
                rows.append(Row(label, tally, len(seen) - before, response["statusCode"]))

        whatsapp = [_seed(repo, Channel.whatsapp, IdentityKind.whatsapp, f"3361234567{n}") for n in range(2)]
        sms = _seed(repo, Channel.sms, IdentityKind.phone, "+33612345678")
        mail = _seed(repo, Channel.email, IdentityKind.email, "lea@example.org")
        late = _seed(repo, Channel.whatsapp, IdentityKind.whatsapp, "33699999999", ago=timedelta(days=2))
        text = {"text": "Votre commande part demain."}

        call("reply, WhatsApp, cold container (reads the providers secret)", "post_reply", whatsapp[0], text)
        call("reply, WhatsApp, warm: first response (new -> open)", "post_reply", whatsapp[1], text)
        call("reply, WhatsApp, warm: a second reply on the ticket", "post_reply", whatsapp[1], text)
        call("reply, SMS (Twilio)", "post_reply", sms, text)
        call("reply, email (SES, threaded)", "post_reply", mail, text)
        call("reply, put on hold (pending_customer: leaves the queue)", "post_reply", sms,
             {**text, "status": "pending_customer"})  # fmt: skip
        call("reply refused: WhatsApp outside 24 h", "post_reply", late, text)
        call("reply rejected by the provider (Twilio 400): recorded failed", "post_reply", sms,
             {"text": "REJECT"})  # fmt: skip
        canned = json.loads(load_event("replies_api/put_canned")["body"])
        call(None, "put_canned")
        call("canned: save (admin PUT)", "put_canned")
        canned["variants"]["sms"]["body"] = "Bonjour {{customer.first_name}}, c'est noté ({{ticket.id}})."
        call(None, "put_canned", body=canned)
        call("canned: list (GET /api/canned)", "list_canned")
        call("canned: preview on a ticket", "preview_canned", sms)
        call(
            "reply with a canned response (SMS)",
            "post_reply",
            sms,
            {"canned_id": "shipping-delay", "text": ""},
        )
    return rows


def _calls(tally: Tally) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(tally.calls.items())) or "none"


def report_lines(rows: list[Row]) -> list[str]:
    lines = [
        "",
        "## Replies and canned responses (issue 5, items 6-7)",
        "",
        "replies_api on moto from events/replies_api samples, providers answered by a local HTTP server",
        "(bench/replies.py). A reply reads the ticket, the customer and the ticket's newest messages",
        "(one bounded Query), sends once, then writes everything in one transaction (message, provider",
        "lookup, email Message-ID, ticket with the queue/SLA index keys it moves, timeline, audit). The",
        "providers secret is read once per container (then every 5 minutes).",
        "",
        "| operation | HTTP | AWS calls | items read | items written | write units | provider requests |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        t = row.tally
        lines.append(
            f"| {row.operation} | {row.status} | {_calls(t)} | {t.items_read} | {t.items_written}"
            f" | {t.write_units:g} | {row.provider_requests} |"
        )
    return lines


def main(print_: Callable[[str], None] = print) -> None:
    """``python -m bench.replies``: this section alone."""
    print_("\n".join(report_lines(measure())))


if __name__ == "__main__":
    main()
