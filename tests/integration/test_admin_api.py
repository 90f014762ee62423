"""The team configuration on moto: admins and supervisors edit it (admin_api), and what they
store is what the inbound processor, ticket changes and ``next`` follow."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from functions.admin_api.handler import handler as admin_api
from functions.agent_api.handler import handler as agent_api
from functions.inbound_processor.handler import handler as inbound_processor
from infra import registry
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.workflow_wiring import step_ports
from shared.domain import intake
from shared.domain.agent import Agent
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.order import Order, OrderSource
from shared.domain.qualification import DEFAULT_RULES, MessageFields, qualify
from shared.domain.ticket import Priority, Ticket, Topic
from shared.domain.timeline import TimelineEntry
from shared.ports import InboundWrite
from shared.services.back_office import open_order_ticket
from shared.settings import WorkflowStepSettings, load
from tests.support import FixedClock, LambdaContext, api_event, load_event

ADMIN = "[admin]"
AGENT_SUB = "3f1c2e9a-0000-4000-8000-00000000a9e1"  # the agent of events/agent_api samples


def _admin(method: str, path: str, body: dict | None = None, groups: str = ADMIN, query: str = "") -> tuple:
    event = api_event(
        "admin_api/get_qualification_rules",
        method,
        path,
        query=query,
        body=body,
        claims={"cognito:groups": groups},
    )
    response = admin_api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def _jean_ticket(aws) -> Ticket:
    """The ticket the form sample (Jean Martin, a question about the warranty) opened."""
    repo = DynamoRepository(aws["table"])
    customer = repo.get_customer(repo.identity_owner("email", "jean.martin@example.net")).value
    return repo.get_ticket(customer.open_ticket_id).value


def _always_open() -> dict:
    """A 24/7 calendar in UTC: deadlines are the creation time plus the target, whatever the day."""
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return {"timezone": "UTC", "hours": {day: [{"start": "00:00", "end": "00:00"}] for day in days}}


def test_an_admin_rule_qualifies_the_next_inbound_message(aws):
    status, current = _admin("GET", "/api/admin/qualification-rules")
    assert status == 200
    assert (current["version"], current["is_default"]) == (0, True)
    sample = json.loads(load_event("inbound_processor/form_record")["Records"][0]["body"])["payload"]
    before = qualify(
        MessageFields(channel=Channel.web_form, subject=sample["subject"], text=sample["message"]),
        None,
        DEFAULT_RULES,
    )
    assert (before.type.value, before.topic.value) != ("assistance", "tech_support")
    warranty = {
        "id": "warranty",
        "description": "Warranty claims go to technical support",
        "when": {"keywords": ["garantie", "warranty"]},
        "type": "assistance",
        "topic": "tech_support",
    }
    rules = {**current["rules"], "rules": [warranty, *current["rules"]["rules"]]}

    status, saved = _admin("PUT", "/api/admin/qualification-rules", {"version": 0, "rules": rules})
    assert status == 200, saved
    assert (saved["version"], saved["is_default"]) == (1, False)
    assert saved["updated_by"] == "agent:3f1c2e9a-0000-4000-8000-00000000ad01"
    assert inbound_processor(load_event("inbound_processor/form_record"), LambdaContext()) == {
        "batchItemFailures": []
    }

    ticket = _jean_ticket(aws)
    assert (ticket.type.value, ticket.topic.value) == ("assistance", "tech_support")
    assert _admin("GET", "/api/admin/qualification-rules")[1]["rules"]["rules"][0]["id"] == "warranty"


def test_a_shorter_first_response_target_applies_to_new_tickets(aws):
    _, current = _admin("GET", "/api/admin/sla-policies")
    assert current["policy"]["targets"]["low"]["first_response"] == "PT9H"
    targets = {p: {**t, "first_response": "PT30M"} for p, t in current["policy"]["targets"].items()}
    policy = {**current["policy"], "id": "express", "targets": targets}

    status, saved = _admin(
        "PUT", "/api/admin/sla-policies", {"version": 0, "policy": policy, "calendar": _always_open()}
    )
    assert status == 200, saved
    assert saved["calendar"]["timezone"] == "UTC"
    inbound_processor(load_event("inbound_processor/form_record"), LambdaContext())

    ticket = _jean_ticket(aws)
    assert ticket.sla.first_response_due_at - ticket.created_at == timedelta(minutes=30)
    assert ticket.sla.policy == f"express-{ticket.priority.value}"


def test_a_priority_change_recomputes_the_deadlines_with_the_stored_targets(aws):
    _, current = _admin("GET", "/api/admin/sla-policies")
    targets = current["policy"]["targets"]
    targets["urgent"] = {"first_response": "PT15M", "next_response": "PT1H", "resolution": "PT2H"}
    _admin(
        "PUT",
        "/api/admin/sla-policies",
        {"version": 0, "policy": current["policy"], "calendar": _always_open()},
    )
    inbound_processor(load_event("inbound_processor/form_record"), LambdaContext())
    ticket = _jean_ticket(aws)

    event = api_event(
        "agent_api/list_tickets", "PATCH", f"/api/tickets/{ticket.id}", body={"priority": "urgent"}
    )
    event["pathParameters"] = {"ticket_id": ticket.id}
    response = agent_api(event, LambdaContext())

    assert response["statusCode"] == 200, response["body"]
    sla = json.loads(response["body"])["sla"]
    created = ticket.created_at
    assert datetime.fromisoformat(sla["first_response_due_at"]) - created == timedelta(minutes=15)
    assert datetime.fromisoformat(sla["resolution_due_at"]) - created == timedelta(hours=2)
    assert sla["policy"] == "standard-urgent"


def _waiting(repo: DynamoRepository, clock: FixedClock, n: int, topic: Topic) -> str:
    """A customer's first message waiting in ``topic`` (as qualification would put it)."""
    clock.advance(minutes=1)
    message = InboundMessage(
        dedup_key=f"sms:admin-{n}",
        channel=Channel.sms,
        identities=[IdentityClaim(kind=IdentityKind.phone, value=f"+336{n:08d}")],
        text=f"demande {n}",
        sent_at=clock.now(),
    )
    customer = intake.new_customer(message, clock.now())
    ticket = intake.open_ticket(message, customer.id, clock.now()).model_copy(update={"topic": topic})
    identities = intake.missing_identities(customer, message, clock.now())
    repo.record_inbound(
        InboundWrite(
            dedup_key=message.dedup_key,
            timeline=TimelineEntry(event_id=f"e{n}", kind="message", summary="x", at=clock.now()),
            claimed_identities=identities,
            new_customer=intake.record_contact(customer, message, identities, ticket.id, clock.now()),
            new_ticket=ticket,
        )
    )
    return ticket.id


def test_a_supervisor_lowers_the_backup_threshold_and_next_serves_the_backup_queue_first(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    _waiting(repo, clock, 1, Topic.delivery)
    billing = [_waiting(repo, clock, 10 + n, Topic.billing) for n in range(3)]
    repo.save_agent(
        Agent(
            id=AGENT_SUB,
            name="Paul",
            email="paul@guichet.example",
            skills=[Topic.delivery],
            backup_queues=[Topic.billing],
            capacity=5,
        )
    )

    response = admin_api(
        load_event("admin_api/put_routing"), LambdaContext()
    )  # a supervisor: threshold 5 -> 2
    assert response["statusCode"] == 200, response["body"]
    status, _ = _admin(
        "PUT", "/api/admin/routing", {"version": 1, "policy": {"backup_threshold": 2}}, "[supervisor]"
    )
    assert status == 200

    claim = agent_api(api_event("agent_api/list_tickets", "POST", "/api/agents/me/next"), LambdaContext())

    assert claim["statusCode"] == 200, claim["body"]
    body = json.loads(claim["body"])
    assert body["ticket"]["id"] == billing[0]  # 3 waiting > 2: billing before the delivery specialty
    assert body["queues_tried"] == ["billing"]


def test_a_stale_version_is_a_409_and_nothing_is_overwritten(aws):
    assert _admin("PUT", "/api/admin/routing", {"version": 0, "policy": {"backup_threshold": 8}})[0] == 200

    status, body = _admin("PUT", "/api/admin/routing", {"version": 0, "policy": {"backup_threshold": 3}})

    assert status == 409
    assert "now version 1" in body["message"]
    assert _admin("GET", "/api/admin/routing")[1]["policy"] == {"backup_threshold": 8, "queues": {}}
    assert (
        _admin("PUT", "/api/admin/routing", {"version": 1, "policy": {"backup_threshold": 3}})[1]["version"]
        == 2
    )


def test_delete_brings_the_defaults_back_as_a_new_version(aws):
    _admin("PUT", "/api/admin/routing", {"version": 0, "policy": {"backup_threshold": 4}})

    status, body = _admin("DELETE", "/api/admin/routing", query="version=1")

    assert status == 200
    defaults = {"backup_threshold": 20, "queues": {}}
    assert (body["version"], body["is_default"], body["policy"]) == (2, True, defaults)
    assert _admin("GET", "/api/admin/routing")[1]["version"] == 2
    assert _admin("DELETE", "/api/admin/routing", query="version=1")[0] == 409
    assert _admin("PUT", "/api/admin/routing", {"version": 2, "policy": {"backup_threshold": 6}})[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "groups"),
    [
        ("GET", "/api/admin/qualification-rules", "[agent]"),
        ("GET", "/api/admin/routing", "[agent]"),
        ("PUT", "/api/admin/routing", "[agent]"),
        ("GET", "/api/admin/sla-policies", "[]"),
        ("PUT", "/api/admin/qualification-rules", "[supervisor]"),  # supervisors set routing only
        ("DELETE", "/api/admin/sla-policies", "[supervisor]"),
    ],
)
def test_who_may_not_read_or_edit_gets_a_403(aws, method, path, groups):
    body = (
        {"version": 0, "policy": {"backup_threshold": 1}, "rules": {"rules": []}} if method == "PUT" else None
    )
    _, defaults = _admin("GET", "/api/admin/qualification-rules")
    if body is not None:
        body["rules"] = defaults["rules"]
    status, answer = _admin(method, path, body, groups=groups)

    assert status == 403
    assert "admin" in answer["message"]


def test_every_admin_route_is_behind_the_staff_jwt_authorizer():
    """Without a token API Gateway's JWT authorizer answers 401 before the function runs
    (tests/infra/test_api.py checks that each staff route has it)."""
    routes = registry.function("admin_api").routes
    assert {r.auth for r in routes} == {"staff"}
    assert len(routes) == 13


def _rules_with(rule: dict) -> dict:
    return {"version": 0, "rules": {"rules": [rule]}}


def _sla_with(**changes) -> dict:
    targets = {
        p: {"first_response": "PT1H", "next_response": "PT2H", "resolution": "PT8H"}
        for p in ("urgent", "high", "normal", "low")
    }
    body = {"version": 0, "policy": {"id": "custom", "targets": targets}, "calendar": _always_open()}
    for key, value in changes.items():
        if key == "targets_low":
            targets["low"] = value
        else:
            body["calendar"] = {**body["calendar"], key: value}
    return body


@pytest.mark.parametrize(
    ("path", "body", "field", "says"),
    [
        (
            "/api/admin/qualification-rules",
            _rules_with({"id": "refund", "when": {"keywords": []}, "topic": "billing"}),
            "rules.rules.0",
            "at least one condition",
        ),
        (
            "/api/admin/qualification-rules",
            _rules_with({"id": "refund", "when": {"keywords": ["  "]}, "topic": "billing"}),
            "rules.rules.0.when.keywords",
            "no word to match",
        ),
        (
            "/api/admin/sla-policies",
            _sla_with(targets_low={"first_response": "-PT1H", "next_response": "PT2H", "resolution": "PT8H"}),
            "policy.targets.low",
            "positive",
        ),
        (
            "/api/admin/sla-policies",
            _sla_with(
                hours={"monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]}
            ),
            "calendar.hours",
            "overlap",
        ),
        (
            "/api/admin/sla-policies",
            _sla_with(timezone="Europe/Atlantis"),
            "calendar.timezone",
            "unknown time zone",
        ),
        (
            "/api/admin/routing",
            {"version": 0, "policy": {"backup_threshold": -1}},
            "policy.backup_threshold",
            "0",
        ),
        ("/api/admin/routing", {"policy": {"backup_threshold": 3}}, "version", "required"),
    ],
)
def test_a_bad_payload_is_a_422_that_names_the_field(aws, path, body, field, says):
    status, answer = _admin("PUT", path, body)

    assert status == 422
    assert field in answer["message"]
    assert any(says in d["msg"] for d in answer["detail"]), answer["detail"]
    assert _admin("GET", path)[1]["version"] == 0  # nothing stored


def test_back_office_tickets_follow_the_stored_sla_policy(aws, monkeypatch):
    _, current = _admin("GET", "/api/admin/sla-policies")
    current["policy"]["targets"]["high"]["first_response"] = "PT20M"
    _admin(
        "PUT",
        "/api/admin/sla-policies",
        {"version": 0, "policy": current["policy"], "calendar": _always_open()},
    )
    monkeypatch.setenv("ALERT_SENDER", "orders@support.example.com")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com")
    ports = step_ports(load(WorkflowStepSettings))
    clock = FixedClock()
    order = Order(
        id="O1", number="#1001", source=OrderSource.portal, created_at=clock.now(), updated_at=clock.now()
    )

    ticket_id = open_order_ticket(
        ports.store,
        ports.orders,
        clock,
        order,
        reason="no-report-1",
        subject="Order #1001: no commissioning report",
        note="Contact the technician.",
        priority=Priority.high,
        sla=ports.sla() if ports.sla else None,
    )

    sla = DynamoRepository(aws["table"]).get_ticket(ticket_id).value.sla
    assert sla.first_response_due_at - clock.now() == timedelta(minutes=20)


def test_supervisors_name_the_queues_and_give_one_its_own_threshold(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    billing = [_waiting(repo, clock, 20 + n, Topic.billing) for n in range(3)]
    _waiting(repo, clock, 30, Topic.delivery)
    repo.save_agent(
        Agent(
            id=AGENT_SUB,
            name="Paul",
            email="paul@guichet.example",
            skills=[Topic.delivery],
            backup_queues=[Topic.billing],
            capacity=5,
        )
    )
    policy = {
        "backup_threshold": 20,  # the team's: billing's 3 waiting would not call Paul in
        "queues": {"billing": {"name": "Facturation", "backup_threshold": 2}},
    }
    status, _ = _admin("PUT", "/api/admin/routing", {"version": 0, "policy": policy}, "[supervisor]")
    assert status == 200

    listed = agent_api(api_event("agent_api/list_tickets", "GET", "/api/queues"), LambdaContext())
    queues = {q["id"]: q for q in json.loads(listed["body"])}
    assert queues["billing"] == {
        "id": "billing",
        "name": "Facturation",
        "description": None,
        "waiting": 3,
        "backup_threshold": 2,
        "overloaded": True,
    }
    assert queues["delivery"]["name"] == "Delivery"
    assert (queues["delivery"]["waiting"], queues["delivery"]["backup_threshold"]) == (1, 20)

    claim = agent_api(api_event("agent_api/list_tickets", "POST", "/api/agents/me/next"), LambdaContext())
    assert json.loads(claim["body"])["ticket"]["id"] == billing[0]  # over its own threshold: first


def test_a_queue_threshold_is_checked_like_the_teams(aws):
    policy = {"backup_threshold": 5, "queues": {"billing": {"backup_threshold": -1}}}
    status, body = _admin("PUT", "/api/admin/routing", {"version": 0, "policy": policy}, "[supervisor]")
    assert status == 422
    assert "backup_threshold" in body["message"]
    status, body = _admin(
        "PUT", "/api/admin/routing", {"version": 0, "policy": {"queues": {"nowhere": {}}}}, "[supervisor]"
    )
    assert status == 422  # only the topics' queues exist


def test_the_history_of_a_document_says_who_changed_what_newest_first(aws):
    assert _admin("PUT", "/api/admin/routing", {"version": 0, "policy": {"backup_threshold": 8}})[0] == 200
    assert _admin("DELETE", "/api/admin/routing", query="version=1")[0] == 200

    status, history = _admin(
        "GET", "/api/admin/history", query="document=routing_policy", groups="[supervisor]"
    )

    assert status == 200
    assert [(h["version"], h["action"]) for h in history] == [(2, "reset"), (1, "saved")]
    assert history[1]["document"] == {"backup_threshold": 8, "queues": {}}
    assert history[0]["document"] is None
    assert _admin("GET", "/api/admin/history", query="document=nothing")[0] == 422
    assert _admin("GET", "/api/admin/history", query="document=routing_policy", groups="[agent]")[0] == 403
