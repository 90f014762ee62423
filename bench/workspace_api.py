"""The agent workspace API for `make bench` (issue 5, item 13): AWS calls and DynamoDB items per
operation of agent_api and admin_api, each called through its handler with an events/ sample
turned into the route (tests.support.api_event), on moto, in a session of its own.

A small realistic state is seeded first: two customers writing by SMS (one ticket each), an
agent profile. The figures are per call, with a warm container (the 60-second team
configuration cache already filled by an earlier call, as it is for nearly every request).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.counter import Tally, counting

AGENT = "3f1c2e9a-0000-4000-8000-00000000a9e1"  # the sub in events/agent_api samples


@dataclass
class Row:
    operation: str
    status: int
    tally: Tally


def _seed(repo: Any, phone: str, text: str, minutes_ago: int) -> tuple[str, str]:
    from shared.domain.common import Channel
    from shared.domain.identity import IdentityKind
    from shared.domain.inbound import IdentityClaim, InboundMessage
    from shared.services.ingest import record_message
    from tests.support import FixedClock

    now = datetime.now(UTC)
    result = record_message(
        repo,
        FixedClock(now),
        InboundMessage(
            dedup_key=f"bench:workspace:{phone}",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value=phone)],
            first_name="Léa",
            last_name="Martin",
            display_name="Léa Martin",
            text=text,
            sent_at=now - timedelta(minutes=minutes_ago),
        ),
    )
    assert result.ticket_id and result.customer_id
    return result.ticket_id, result.customer_id


def measure() -> list[Row]:
    from moto import mock_aws

    with mock_aws():
        return _measure()


def _measure() -> list[Row]:  # noqa: PLR0915 (a script: one statement per measured call)
    import os

    import boto3

    from functions.admin_api import handler as admin
    from functions.agent_api import handler as agents
    from shared.adapters.dynamodb.repository import DynamoRepository
    from shared.domain.common import Channel
    from shared.domain.identity import IdentityKind
    from shared.domain.inbound import IdentityClaim, InboundMessage, ThreadHints
    from shared.services.ingest import record_message
    from tests.support import FixedClock, LambdaContext, api_event, provision_moto

    env, handles = provision_moto()
    os.environ.update(env)
    repo = DynamoRepository(boto3.resource("dynamodb").Table(handles["table"].name))
    # A fresh container for this moto session (an earlier section may have wired another).
    agents._repo, agents._config, admin._store = None, None, None
    context = LambdaContext()
    rows: list[Row] = []

    def call(
        label: str | None,
        module: Any,
        sample: str,
        method: str,
        path: str,
        *,
        query: str = "",
        body: dict[str, Any] | None = None,
        groups: str = "[agent]",
    ) -> dict[str, Any]:
        event = api_event(
            sample, method, path, query=query, body=body, claims={"cognito:groups": groups, "sub": AGENT}
        )
        with counting() as tally:
            response = module.handler(event, context)
        if label is not None:
            rows.append(Row(label, int(response["statusCode"]), tally))
        answer: dict[str, Any] = json.loads(response["body"]) if response.get("body") else {}
        return answer

    def inbound(label: str, message: Callable[[], InboundMessage]) -> None:
        with counting() as tally:
            record_message(repo, FixedClock(datetime.now(UTC)), message())
        rows.append(Row(label, 200, tally))

    first, customer = _seed(repo, "+33612345678", "Ma box ne fonctionne plus", 30)
    second, _ = _seed(repo, "+33698700000", "Ma facture est fausse", 10)
    agent_sample, admin_sample = "agent_api/get_ticket", "admin_api/put_routing"
    profile = {
        "id": AGENT,
        "name": "Paul",
        "email": "paul@guichet.example",
        "skills": ["tech_support", "billing"],
        "capacity": 5,
    }
    call(None, agents, agent_sample, "PUT", f"/api/admin/agents/{AGENT}", body=profile, groups="[admin]")
    call(None, admin, admin_sample, "GET", "/api/admin/routing", groups="[admin]")  # warm caches
    call(None, agents, agent_sample, "GET", "/api/tickets", query="view=mine")

    call("customer 360 (profile, account, tickets, orders, timeline page)", agents, agent_sample, "GET",
         f"/api/customers/{customer}")  # fmt: skip
    call("search a name (exact, then prefix)", agents, agent_sample, "GET", "/api/search", query="q=martin")
    call("search a phone number", agents, agent_sample, "GET", "/api/search", query="q=0612345678")
    call("search a ticket reference", agents, agent_sample, "GET", "/api/search", query=f"q={first}")
    call("list a topic queue (25, priority then age)", agents, agent_sample, "GET", "/api/tickets",
         query="view=queue&topic=tech_support")  # fmt: skip
    call("list mine", agents, agent_sample, "GET", "/api/tickets", query="view=mine")
    call("list all, status and channel filters", agents, agent_sample, "GET", "/api/tickets",
         query="status=new&channel=sms")  # fmt: skip
    call("requalify (topic: the ticket changes queue)", agents, agent_sample, "PATCH",
         f"/api/tickets/{first}", body={"topic": "billing"})  # fmt: skip
    call(
        "assign to myself",
        agents,
        agent_sample,
        "PATCH",
        f"/api/tickets/{first}",
        body={"assignee_id": AGENT},
    )
    call("put on hold (pending_customer: the SLA clock pauses)", agents, agent_sample, "PATCH",
         f"/api/tickets/{first}", body={"status": "pending_customer"})  # fmt: skip
    call(
        "internal note",
        agents,
        agent_sample,
        "POST",
        f"/api/tickets/{first}/notes",
        body={"text": "Rappeler"},
    )
    call("audit trail", agents, agent_sample, "GET", f"/api/tickets/{first}/audit")
    carrier = {"role": "carrier", "name": "Transports", "email": "litiges@transports.example"}
    party = call("add a carrier (party, its email linked)", agents, agent_sample, "POST",
                 f"/api/tickets/{first}/parties", body=carrier)  # fmt: skip
    inbound(
        "the carrier's email threads in (processor)",
        lambda: InboundMessage(
            dedup_key="bench:workspace:carrier-1",
            channel=Channel.email,
            identities=[IdentityClaim(kind=IdentityKind.email, value="litiges@transports.example")],
            text="Colis retrouvé",
            thread_hints=ThreadHints(plus_tag_ticket=first),
            sent_at=datetime.now(UTC),
        ),
    )
    inbound(
        "the carrier's next email, no thread key (found by its party link)",
        lambda: InboundMessage(
            dedup_key="bench:workspace:carrier-2",
            channel=Channel.email,
            identities=[IdentityClaim(kind=IdentityKind.email, value="litiges@transports.example")],
            text="Livraison demain",
            sent_at=datetime.now(UTC),
        ),
    )
    carrier_id = next(p["id"] for p in party.get("parties", []) if p["role"] == "carrier")
    call("remove the carrier", agents, agent_sample, "DELETE", f"/api/tickets/{first}/parties/{carrier_id}")
    call(
        "merge two tickets",
        agents,
        agent_sample,
        "POST",
        f"/api/tickets/{second}/merge",
        body={"into": first},
    )
    call("next ticket (nothing waiting in my queues)", agents, agent_sample, "POST", "/api/agents/me/next")
    call("KPIs of the day (supervisor)", agents, agent_sample, "GET", "/api/kpis",
         query=f"day={datetime.now(UTC).date().isoformat()}", groups="[supervisor]")  # fmt: skip
    _accounts_and_admin(call, admin, customer)
    return rows


def _accounts_and_admin(call: Callable[..., dict[str, Any]], admin: Any, customer: str) -> None:
    from functions.agent_api import handler as agents

    agent_sample, admin_sample = "agent_api/get_ticket", "admin_api/put_routing"
    call("company account: save (PUT)", agents, agent_sample, "PUT", "/api/accounts/ACME",
         body={"name": "Acme SAS", "vat_number": "FR40303265045"}, groups="[supervisor]")  # fmt: skip
    call("company account: add a contact with roles", agents, agent_sample, "PUT",
         f"/api/accounts/ACME/contacts/{customer}", body={"roles": ["billing", "decision_maker"]},
         groups="[supervisor]")  # fmt: skip
    call("company account: read with its contacts", agents, agent_sample, "GET", "/api/accounts/ACME")
    call("customer 360 of a company contact", agents, agent_sample, "GET", f"/api/customers/{customer}")
    current = call(None, admin, admin_sample, "GET", "/api/admin/routing", groups="[admin]")
    call("admin: read a configuration document", admin, admin_sample, "GET", "/api/admin/sla-policies",
         groups="[admin]")  # fmt: skip
    threshold = {"version": current.get("version", 0), "policy": {"backup_threshold": 5}}
    call("admin: save the routing threshold (versioned)", admin, admin_sample, "PUT", "/api/admin/routing",
         body=threshold, groups="[admin]")  # fmt: skip


def _calls(tally: Tally) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(tally.calls.items())) or "none"


def report_lines(rows: list[Row]) -> list[str]:
    lines = [
        "",
        "## Agent workspace API per operation (issue 5, item 13)",
        "",
        "agent_api and admin_api handlers on moto from events/ samples (bench/workspace_api.py), warm",
        "containers (the 60 s team-configuration cache filled). The two processor rows are a third",
        "party's messages: threaded by the email's plus-address, or found by its party link.",
        "",
        "| operation | HTTP | AWS calls | items read | read units | items written | write units |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        t = row.tally
        lines.append(
            f"| {row.operation} | {row.status} | {_calls(t)} | {t.items_read} | {t.read_units:g}"
            f" | {t.items_written} | {t.write_units:g} |"
        )
    return lines


def main(print_: Callable[[str], None] = print) -> None:
    """``python -m bench.workspace_api``: this section alone."""
    print_("\n".join(report_lines(measure())))


if __name__ == "__main__":
    main()
