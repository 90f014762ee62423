"""Issue 15, item 1: the customer-space takeover, played over HTTP against the running local stack.

The attacker uses only what anyone has: the public contact form and a customer-space account they
sign up for with their own mailbox (Cognito verifies it: ``email_verified``). Before the fix, a form
naming the victim's phone, or two forms chaining the victim's email to the attacker's, made the
victim's quote, tickets and bank details readable (and the quote acceptable) in the attacker's space.
Then every customer-space route of the registry (infra/registry.py, so routes added later are
walked too) is called with another customer's token on a victim's real records.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlencode

import pytest

from infra import registry
from shared.adapters.channels.signatures import compute_twilio_signature
from tests.e2e.conftest import Reply, Stack
from tests.e2e.test_order_workflow_flow import at_visit

pytestmark = pytest.mark.e2e

JSON = {"content-type": "application/json"}
PASSWORD = "Sec-Walk-2026!x"  # meets the pool's policy; these users live only in this stack


def _wait(probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def _call(stack: Stack, method: str, path: str, token: str | None, body: Any = None) -> Reply:
    headers = {**JSON, **({"authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    return stack.request(method, path, body=data, headers=headers)


def _staff(stack: Stack, role: str = "agent") -> str:
    return stack.token(role)


def _sign_up(stack: Stack, aws: Callable[[str], Any], email: str) -> str:
    """A customer who signed up in the customer space and confirmed their mailbox: an ID token."""
    pool = stack.get("/local/stack").json()["user_pools"]["customers"]
    idp = aws("cognito-idp")
    idp.admin_create_user(
        UserPoolId=pool["id"],
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": email.split("@", maxsplit=1)[0]},
        ],
    )
    idp.admin_set_user_password(UserPoolId=pool["id"], Username=email, Password=PASSWORD, Permanent=True)
    result = idp.initiate_auth(
        ClientId=pool["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return str(result["IdToken"])


def _phone() -> str:
    return "+336" + str(uuid.uuid4().int)[:8]


def _sms(stack: Stack, phone: str, text: str) -> None:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": phone,
        "To": "+33757000000",
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    url = f"{stack.base_url}/webhooks/twilio/sms"
    signature = compute_twilio_signature(url, {k: [v] for k, v in params.items()}, "12345")
    reply = stack.post(
        "/webhooks/twilio/sms",
        body=urlencode(params).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
    )
    assert reply.status == 200, reply.body


def _email(stack: Stack, sender: str, subject: str, text: str) -> None:
    """Mail as SES delivers it: SPF, DKIM and DMARC pass for the sender's own domain."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@support.example.com"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(text)
    reply = stack.post(
        "/local/inbound-email", body=mail.as_bytes(), headers={"content-type": "message/rfc822"}
    )
    assert reply.status in (200, 202), reply.body


def _form(stack: Stack, email: str, phone: str, text: str) -> None:
    form = {
        "name": "Mallory",
        "email": email,
        "phone": phone,
        "subject": f"Formulaire {uuid.uuid4().hex[:6]}",
        "message": text,
        "consent": True,
        "client_submission_id": str(uuid.uuid4()),
    }
    reply = stack.post("/webhooks/form", body=json.dumps(form).encode(), headers=JSON)
    assert reply.status == 202, reply.body


def _ticket_with(stack: Stack, text: str) -> dict[str, Any] | None:
    agent = _staff(stack)
    for ticket in _call(stack, "GET", "/api/tickets?limit=100", agent).json()["items"]:
        detail = _call(stack, "GET", f"/api/tickets/{ticket['id']}", agent).json()
        if any(text in (m.get("text") or "") for m in detail["messages"]):
            return dict(detail)
    return None


def _portal_ticket_ids(stack: Stack, token: str) -> list[str]:
    reply = _call(stack, "GET", "/api/portal/tickets", token)
    assert reply.status == 200, reply.body
    return [t["id"] for t in reply.json()["items"]]


def _write_from_space(stack: Stack, token: str, text: str) -> str:
    """The customer writes from their space; returns the ticket it made once processed."""
    reply = _call(stack, "POST", "/api/portal/messages", token, {"text": text})
    assert reply.status == 202, reply.body
    detail = _wait(lambda: _ticket_with(stack, text), "the customer-space message")
    return str(detail["ticket"]["id"])


_catalog_ready: list[bool] = []


def _quote_for(stack: Stack, customer_id: str, street: str) -> dict[str, Any]:
    supervisor = _staff(stack, "supervisor")
    if not _catalog_ready:
        product = {"title": "Audit sécurité", "unit_price": "120.00", "is_service": True, "skill": "sec-walk"}
        assert _call(stack, "PUT", "/api/catalog/products/SEC-AUDIT", supervisor, product).status == 200
        windows = [
            {"weekday": d, "start": s, "end": e}
            for d in range(7)
            for s, e in (("08:00", "12:00"), ("13:00", "17:00"))
        ]
        technician = {"name": "Inès", "skills": ["sec-walk"], "windows": windows}
        assert _call(stack, "PUT", "/api/technicians/T-SEC", supervisor, technician).status == 200
        _catalog_ready.append(True)
    address = {
        "name": "Claire Victime",
        "line1": street,
        "postal_code": "69002",
        "city": "Lyon",
        "country": "FR",
    }
    body = {
        "customer_id": customer_id,
        "lines": [{"sku": "SEC-AUDIT", "quantity": 1}],
        "billing_address": address,
        "shipping_address": address,
    }
    reply = _call(stack, "POST", "/api/quotes", _staff(stack), body)
    assert reply.status == 201, reply.body
    return dict(reply.json())


def _quote_status(stack: Stack, quote_id: str) -> str:
    return str(_call(stack, "GET", f"/api/quotes/{quote_id}", _staff(stack)).json()["status"])


# ------------------------------------------------------------------ the two attacks of the issue
def test_a_form_with_the_victims_phone_then_a_verified_sign_up_opens_nothing_of_theirs(
    stack: Stack, aws: Callable[[str], Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    victim_phone = _phone()
    _sms(stack, victim_phone, f"Bonjour {tag}, mon IBAN est FR76 3000 6000 0112 3456 7890 189")
    victim_ticket = _wait(lambda: _ticket_with(stack, f"Bonjour {tag}"), "the victim's SMS ticket")
    victim_id = victim_ticket["ticket"]["customer_id"]
    street = f"12 rue du Secret {tag}"
    quote = _quote_for(stack, victim_id, street)

    attacker_email = f"mallory.{tag}@attacker.example"
    _form(stack, attacker_email, victim_phone, f"Nouvelle adresse {tag}")
    _wait(lambda: _ticket_with(stack, f"Nouvelle adresse {tag}"), "the attacker's form")
    attacker = _sign_up(stack, aws, attacker_email)
    own = _write_from_space(stack, attacker, f"Bonjour, c'est moi {tag}")

    # The quote: neither readable (name, address) nor acceptable in the victim's name.
    seen = _call(stack, "GET", f"/api/portal/quotes/{quote['id']}", attacker)
    assert seen.status == 404 and street.encode() not in seen.body
    slot = quote["offered_slots"][0]
    accept = {"slot": {"technician_id": slot["technician_id"], "start": slot["start"]}}
    assert _call(stack, "POST", f"/api/portal/quotes/{quote['id']}/accept", attacker, accept).status == 404
    assert _quote_status(stack, quote["id"]) == "open"  # not accepted
    # The SMS ticket: not listed, not readable.
    assert _portal_ticket_ids(stack, attacker) == [own]
    detail = _call(stack, "GET", f"/api/portal/tickets/{victim_ticket['ticket']['id']}", attacker)
    assert detail.status == 404 and b"IBAN" not in detail.body
    # Agents see the form beside the victim's case, with the evidence of how it was linked.
    form = next(m for m in victim_ticket_messages(stack, victim_ticket) if m["channel"] == "web_form")
    assert form["metadata"]["identity_linked_by"] == f"claim (phone:{victim_phone})"


def victim_ticket_messages(stack: Stack, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    reply = _call(stack, "GET", f"/api/tickets/{ticket['ticket']['id']}", _staff(stack))
    return list(reply.json()["messages"])


def test_two_forms_chaining_the_victims_email_to_the_attackers_open_no_bank_details(
    stack: Stack, aws: Callable[[str], Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    victim_email = f"claire.{tag}@example.org"
    _email(
        stack,
        f"Claire <{victim_email}>",
        f"Remboursement {tag}",
        f"RIB {tag} : FR76 3000 6000 0112 3456 7890 189",
    )
    victim = _wait(lambda: _ticket_with(stack, f"RIB {tag}"), "the victim's mail")
    attacker_phone, attacker_email = _phone(), f"mallory.{tag}@attacker.example"

    _form(stack, victim_email, attacker_phone, f"premier {tag}")
    _wait(lambda: _ticket_with(stack, f"premier {tag}"), "the first form")
    _form(stack, attacker_email, attacker_phone, f"second {tag}")
    _wait(lambda: _ticket_with(stack, f"second {tag}"), "the second form")
    attacker = _sign_up(stack, aws, attacker_email)
    own = _write_from_space(stack, attacker, f"Bonjour {tag}")

    assert victim["ticket"]["id"] not in _portal_ticket_ids(stack, attacker)
    assert own in _portal_ticket_ids(stack, attacker)
    for ticket_id in _portal_ticket_ids(stack, attacker):
        assert b"FR76" not in _call(stack, "GET", f"/api/portal/tickets/{ticket_id}", attacker).body
    detail = _call(stack, "GET", f"/api/portal/tickets/{victim['ticket']['id']}", attacker)
    assert detail.status == 404 and b"FR76" not in detail.body
    # The victim, signing up with their own (verified) mailbox, does see their case.
    assert victim["ticket"]["id"] in _portal_ticket_ids(stack, _sign_up(stack, aws, victim_email))


# ------------------------------------------------------------------ every customer-space route
PORTAL_ROUTES = sorted(
    (route.method, route.path) for route, _ in registry.all_routes() if route.path.startswith("/api/portal/")
)
# What an attacker's write sends (a valid request, so only the ownership check can refuse it).
BODIES: dict[str, dict[str, Any]] = {
    "/api/portal/messages": {"text": "Bonjour"},
    "/api/portal/tickets/{ticket_id}/rating": {"score": 1, "comment": "pas moi"},
    "/api/portal/quotes/{quote_id}/accept": {},
}


def test_the_walk_covers_every_customer_space_route_of_the_registry() -> None:
    assert PORTAL_ROUTES, "no /api/portal/ route in the registry"
    for method, path in PORTAL_ROUTES:
        params = set(re.findall(r"{(\w+)}", path))
        assert params <= {"ticket_id", "quote_id", "order_id"}, (
            f"{method} {path}: teach the walk below which victim record {params} names"
        )
        if method != "GET":
            assert path in BODIES, f"{method} {path}: give the walk a valid body for this write"


def test_every_customer_space_route_refuses_another_customers_records(
    stack: Stack, aws: Callable[[str], Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    victim_email, other_email = f"victim.{tag}@example.org", f"other.{tag}@example.org"
    _email(stack, f"Victime <{victim_email}>", f"Commande {tag}", f"Code {tag} confidentiel")
    victim_case = _wait(lambda: _ticket_with(stack, f"Code {tag}"), "the victim's mail")
    victim_id = victim_case["ticket"]["customer_id"]
    victim, other = _sign_up(stack, aws, victim_email), _sign_up(stack, aws, other_email)
    _write_from_space(stack, other, f"Je suis l'autre {tag}")

    # The victim's records: a solved ticket (rateable), a pending quote (acceptable), an order
    # with its invoice (accepted by the victim, installed, invoiced).
    ticket_id = victim_case["ticket"]["id"]
    agent = _staff(stack, "supervisor")
    solved = _call(stack, "PATCH", f"/api/tickets/{ticket_id}", agent, {"status": "solved"})
    assert solved.status == 200, solved.body
    street = f"8 impasse Privée {tag}"
    accepted_quote, pending_quote = _quote_for(stack, victim_id, street), _quote_for(stack, victim_id, street)
    slot = accepted_quote["offered_slots"][0]
    accepted = _call(
        stack,
        "POST",
        f"/api/portal/quotes/{accepted_quote['id']}/accept",
        victim,
        {"slot": {"technician_id": slot["technician_id"], "start": slot["start"]}},
    )
    assert accepted.status == 201, accepted.body
    order_id = accepted.json()["order_id"]
    _invoice(stack, order_id)
    ids = {"ticket_id": ticket_id, "quote_id": pending_quote["id"], "order_id": order_id}
    secrets = [f"Code {tag}".encode(), street.encode(), victim_email.encode(), victim_id.encode()]

    for method, template in PORTAL_ROUTES:
        path = template.format(**{k: v for k, v in ids.items() if "{" + k + "}" in template})
        body = BODIES.get(template)
        if method == "GET":
            mine = _call(stack, method, path, victim)
            assert mine.status in (200, 302), f"{method} {path} for its owner: {mine.status} {mine.body!r}"
        theirs = _call(stack, method, path, other, body)
        leaked = [s for s in secrets if s in theirs.body]
        assert not leaked, f"{method} {path} showed another customer {leaked}"
        if "{" in template:
            assert theirs.status in (403, 404), f"{method} {path} by another customer: {theirs.status}"
        else:
            assert theirs.status in (200, 202), f"{method} {path}: {theirs.status} {theirs.body!r}"

    # Nothing happened to the victim's records.
    assert _quote_status(stack, pending_quote["id"]) == "open"  # not accepted
    detail = _call(stack, "GET", f"/api/tickets/{ticket_id}", _staff(stack)).json()
    assert detail["ticket"].get("rating") is None
    assert [m["channel"] for m in detail["messages"] if m["direction"] == "inbound"] == ["email"]


def _invoice(stack: Stack, order_id: str) -> None:
    agent = _staff(stack)

    def workflow() -> dict[str, Any]:
        reply = _call(stack, "GET", f"/api/orders/{order_id}/workflow", agent)
        return dict(reply.json()) if reply.status == 200 else {}

    _wait(lambda: workflow().get("waiting_for") == "commissioning", "the wait for the technician", 60)
    # A supervisor enters the technician's report, an hour into the visit (the stack's clock).
    report = {"technician_id": "T-SEC", "tests": [{"name": "audit", "result": "passed"}]}
    at_visit(stack, workflow()["appointment"]["start"])
    try:
        posted = _call(
            stack, "POST", f"/api/orders/{order_id}/commissioning", _staff(stack, "supervisor"), report
        )
        assert posted.status == 200, posted.body
    finally:
        stack.post("/local/clock", body=b'{"offset_s": 0}')
    _wait(lambda: (workflow().get("invoice") or {}).get("number"), "the invoice", 60)
