"""The agent workspace API (/api/*), behind the staff JWT authorizer."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from shared.adapters import api_errors, openapi
from shared.adapters.auth import STAFF_ROLES, Caller, Forbidden, caller_from_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.accounts import AccountStore
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain import kpi
from shared.domain.accounts import AccountAuditEntry, NotAllowed
from shared.domain.agent import Agent
from shared.domain.audit import AuditEntry
from shared.domain.common import Channel
from shared.domain.customer import Account, Contact, ContactRole, Customer
from shared.domain.errors import AtCapacity, Conflict, InvalidCursor, InvalidInput, NotFound, Unprocessable
from shared.domain.kpi import KpiView
from shared.domain.message import Message
from shared.domain.parties import PartyIn
from shared.domain.routing import QueueView, queue_views
from shared.domain.team_config import TeamConfig
from shared.domain.ticket import Priority, Ticket, TicketStatus, TicketSummary, Topic
from shared.domain.ticket_list import TicketFilters
from shared.domain.ticket_work import TicketChange
from shared.domain.timeline import TimelineEntry
from shared.services import (
    accounts,
    customer_360,
    merges,
    parties,
    routing,
    search,
    team_config,
    ticket_work,
    tickets,
)
from shared.services.customer_360 import OrderSummary
from shared.settings import ApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_repo: DynamoRepository | None = None


def _repository() -> DynamoRepository:
    global _repo  # noqa: PLW0603 (one wiring per cold start)
    if _repo is None:
        settings = load(ApiSettings)
        _repo = DynamoRepository(boto3.resource("dynamodb").Table(settings.table_name))
    return _repo


_config: team_config.CachedConfig | None = None


def _team_config() -> TeamConfig:
    """Routing threshold and SLA settings as admins stored them, re-read at most once a minute."""
    global _config  # noqa: PLW0603 (one cache per cold start)
    if _config is None:
        store = DynamoConfigStore(boto3.resource("dynamodb").Table(load(ApiSettings).table_name))
        _config = team_config.CachedConfig(lambda: team_config.load(store))
    return _config.current()


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None


class TicketDetail(BaseModel):
    ticket: Ticket
    messages: list[Message]
    next_cursor: str | None


class CustomerView(BaseModel):
    customer: Customer
    account: Account | None = Field(
        description="the company the customer is a contact of, with its first contacts and their roles"
    )
    contacts_next_cursor: str | None = Field(description="more contacts: GET /api/accounts/{id}?cursor=")
    orders: list[OrderSummary] = Field(description="the most recent orders, newest first")
    orders_next_cursor: str | None = Field(description="older orders: GET /api/customers/{id}/orders?cursor=")
    tickets: list[TicketSummary]
    timeline: list[TimelineEntry]
    next_cursor: str | None


def _staff() -> str:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(STAFF_ROLES)
    return caller.email or caller.subject


def _caller(allowed: frozenset[str] = STAFF_ROLES) -> Caller:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(allowed)
    return caller


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class Claim(BaseModel):
    ticket: Ticket
    queues_tried: list[str]


@app.get("/api/tickets")
def list_tickets(
    *,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    view: Annotated[Literal["all", "mine", "queue"], Query()] = "all",
    topic: Annotated[Topic | None, Query()] = None,
    status: Annotated[TicketStatus | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=128, description="agent id")] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    customer: Annotated[str | None, Query(min_length=1, max_length=64, description="customer id")] = None,
    company: Annotated[str | None, Query(min_length=1, max_length=64, description="account id")] = None,
    created_from: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
    created_to: Annotated[datetime | None, Query(description="created at or before (ISO 8601)")] = None,
) -> TicketList:
    """All tickets newest first, mine (assigned to me or collaborating, active), or a topic
    queue (priority, age); filtered by status, channel, priority, assignee, tag, customer,
    company and creation date. Each row carries the customer's name and the next SLA due time."""
    caller = _caller()
    filters = TicketFilters(
        status=status,
        channel=channel,
        priority=priority,
        assignee_id=assignee,
        tag=tag,
        customer_id=customer,
        account_id=company,
        created_from=created_from,
        created_to=created_to,
    )
    page = tickets.list_tickets(
        _repository(),
        limit,
        cursor,
        view=view,
        who=caller.subject,
        topic=topic.value if topic else None,
        filters=filters,
    )
    return TicketList(items=page.items, next_cursor=page.next_cursor)


@app.get("/api/tickets/<ticket_id>")
def get_ticket(
    ticket_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> TicketDetail:
    _staff()
    ticket, page = tickets.ticket_with_messages(_repository(), ticket_id, limit, cursor)
    return TicketDetail(ticket=ticket, messages=page.items, next_cursor=page.next_cursor)


@app.get("/api/customers/<customer_id>")
def get_customer(
    customer_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> CustomerView:
    """The 360 view: the profile (identities, merge evidence, traits: orders count, average
    basket, lifetime value, contacts per channel, last contact), the company account with its
    contacts and their roles, recent orders, tickets, and the timeline across channels, newest
    first (``limit``/``cursor`` page the timeline)."""
    _staff()
    repo = _repository()
    view = customer_360.customer_360(
        repo, AccountStore.beside(repo), OrderRepository.beside(repo), customer_id, limit=limit, cursor=cursor
    )
    return CustomerView(**vars(view))


@app.post("/api/customers/<customer_id>/merges/<merged_id>/undo")
def undo_merge(customer_id: str, merged_id: str) -> Customer:
    """Separate a profile that was merged into this one; it will not be merged again automatically."""
    who = _staff()
    return merges.undo_merge(_repository(), SystemClock(), customer_id, merged_id, by=f"agent:{who}")


class AccountIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="the company's name")
    vat_number: str | None = Field(
        default=None, max_length=32, description="VAT number, e.g. FR40303265045 (spaces and dots ignored)"
    )


class AccountView(BaseModel):
    account: Account = Field(description="the account with a page of its contacts (by customer id)")
    next_cursor: str | None = Field(description="the next page of contacts")


class ContactIn(BaseModel):
    name: str | None = Field(
        default=None, max_length=200, description="default: the contact's current name, else the profile's"
    )
    roles: list[ContactRole] = Field(min_length=1, max_length=len(ContactRole), description="each role once")
    email: str | None = Field(default=None, max_length=320, description="default: the profile's email")
    phone: str | None = Field(default=None, max_length=32, description="default: the profile's phone")


def _accounts() -> AccountStore:
    return AccountStore.beside(_repository())


@app.put("/api/accounts/<account_id>")
def save_account(account_id: str, account: AccountIn) -> Account:
    """Create a company account (any staff member), or change an existing one's name or VAT
    number (supervisors and admins: invoices carry them). Audited."""
    caller = _caller()
    return accounts.save_account(
        _accounts(),
        SystemClock(),
        account_id,
        account.name,
        account.vat_number,
        actor=f"agent:{caller.subject}",
        roles=caller.roles,
    )


@app.get("/api/accounts/<account_id>")
def get_account(
    account_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> AccountView:
    """The company account with its contacts and their roles (``limit``/``cursor`` page the contacts)."""
    _caller()
    found, next_cursor = accounts.account_with_contacts(_accounts(), account_id, limit, cursor)
    return AccountView(account=found, next_cursor=next_cursor)


@app.get("/api/accounts/<account_id>/audit")
def account_audit(
    account_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 100
) -> list[AccountAuditEntry]:
    """Who changed the account or its contacts, and when, newest first."""
    _caller()
    return accounts.account_audit(_accounts(), account_id, limit)


@app.put("/api/accounts/<account_id>/contacts/<customer_id>")
def put_contact(account_id: str, customer_id: str, contact: ContactIn) -> Contact:
    """Make a customer a contact of the company with these roles, or change their card (any
    staff member: agents learn of new contacts on calls; every change is audited). The customer
    must exist (404) and be a contact of no other account (409); their profile gets ``account_id``."""
    caller = _caller()
    return accounts.put_contact(
        _accounts(),
        _repository(),
        SystemClock(),
        account_id,
        customer_id,
        name=contact.name,
        roles=contact.roles,
        email=contact.email,
        phone=contact.phone,
        actor=f"agent:{caller.subject}",
    )


class ContactRemoved(BaseModel):
    account_id: str
    customer_id: str
    removed: bool = True


@app.delete("/api/accounts/<account_id>/contacts/<customer_id>")
def remove_contact(account_id: str, customer_id: str) -> ContactRemoved:
    """The customer stops being a contact of the company (the profile stays). Audited."""
    caller = _caller()
    accounts.remove_contact(
        _accounts(), SystemClock(), account_id, customer_id, actor=f"agent:{caller.subject}"
    )
    return ContactRemoved(account_id=account_id, customer_id=customer_id)


@app.post("/api/agents/me/next")
def claim_next() -> Claim:
    """The best waiting ticket for the calling agent: specialties, then backup queues, by
    priority then age; claimed atomically (two agents never get the same ticket)."""
    caller = _caller()
    claimed = routing.next_ticket(_repository(), SystemClock(), caller.subject, _team_config().routing)
    if claimed is None:
        raise NotFound("waiting ticket", "in your queues")
    ticket = _repository().get_ticket(claimed.ticket_id)
    assert ticket is not None
    return Claim(ticket=ticket.value, queues_tried=[t.value for t in claimed.queues_tried])


@app.get("/api/queues")
def list_queues() -> list[QueueView]:
    """The topic queues: their names and thresholds (set by supervisors in the routing policy)
    and how many tickets wait in each (counters kept on write, one read per queue)."""
    _caller()
    backlog = _repository().queue_backlog([t.value for t in Topic])
    return queue_views(_team_config().routing, backlog)


@app.get("/api/agents/me")
def my_agent_profile() -> Agent:
    caller = _caller()
    found = _repository().get_agent(caller.subject)
    if found is None:
        raise NotFound("agent profile", "for you: ask an admin to set your skills")
    return found.value


@app.get("/api/admin/agents/<agent_id>")
def get_agent(agent_id: str) -> Agent:
    """An agent's profile as admins edit it (names, skills, backup queues, capacity, live load)."""
    _caller(frozenset({"supervisor", "admin"}))
    found = _repository().get_agent(agent_id)
    if found is None:
        raise NotFound("agent", agent_id)
    return found.value


@app.put("/api/admin/agents/<agent_id>")
def save_agent(agent_id: str, agent: Agent) -> Agent:
    """Admins set an agent's display names (``{{agent.name}}``, ``{{agent.first_name}}`` and
    ``{{agent.last_name}}`` in canned responses), skills (served first), backup queues and
    capacity."""
    _caller(frozenset({"admin"}))
    if agent.id != agent_id:
        raise InvalidInput([{"field": "id", "message": "must match the agent id in the path"}])
    return _repository().save_agent(agent)


@app.patch("/api/tickets/<ticket_id>")
def change_ticket(ticket_id: str, change: TicketChange) -> Ticket:
    """Status, requalification (type, topic, priority), assignment, tags, collaborators.
    Agents assign to themselves; giving a ticket to someone else is for supervisors. A type,
    topic or priority changed here is recorded as the agent's choice (``priority_manual``,
    ``qualification_manual``: who and when) and never changed by the rules again; a new type
    alone recomputes the priority. Send only the fields the agent changed."""
    caller = _caller()
    if change.assignee_id not in (None, caller.subject) and not caller.roles & {"supervisor", "admin"}:
        raise Forbidden("only supervisors reassign a ticket to someone else")
    config = _team_config()
    return ticket_work.update_ticket(
        _repository(),
        SystemClock(),
        ticket_id,
        change,
        f"agent:{caller.subject}",
        sla=config.sla,
        priority=config.priority,
    )


class MergeIn(BaseModel):
    into: str = Field(min_length=1, max_length=64)


@app.post("/api/tickets/<ticket_id>/merge")
def merge_ticket(ticket_id: str, merge: MergeIn) -> Ticket:
    """Merge this ticket into another: its messages and parties follow; it closes and points
    to the survivor, which is returned."""
    caller = _caller()
    return ticket_work.merge_tickets(
        _repository(), SystemClock(), ticket_id, merge.into, f"agent:{caller.subject}", sla=_team_config().sla
    )


@app.post("/api/tickets/<ticket_id>/parties")
def add_ticket_party(ticket_id: str, party: PartyIn) -> Response[Ticket]:
    """Add a supplier, carrier or credit company to the ticket with its email and/or phone: what
    it writes from them threads into this ticket; write to it with a reply's ``party_id``. The
    customer never sees exchanges with third parties."""
    caller = _caller()
    ticket = parties.add_party(_repository(), SystemClock(), ticket_id, party, f"agent:{caller.subject}")
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=ticket)


@app.delete("/api/tickets/<ticket_id>/parties/<party_id>")
def remove_ticket_party(ticket_id: str, party_id: str) -> Ticket:
    """Remove a third party: its later messages no longer thread into this ticket."""
    caller = _caller()
    return parties.remove_party(_repository(), SystemClock(), ticket_id, party_id, f"agent:{caller.subject}")


@app.post("/api/tickets/<ticket_id>/notes")
def add_note(ticket_id: str, note: NoteIn) -> Message:
    """An internal note: visible to agents only."""
    caller = _caller()
    return ticket_work.add_note(_repository(), SystemClock(), ticket_id, note.text, caller.subject)


@app.get("/api/tickets/<ticket_id>/audit")
def ticket_audit(ticket_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[AuditEntry]:
    """Who changed what, and when, newest first."""
    _caller()
    return _repository().ticket_audit(ticket_id, limit)


@app.get("/api/kpis")
def key_figures(day: Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")]) -> list[KpiView]:
    """Supervisors: the day's counters per scope (all, queue, agent, channel) with averages,
    and the live backlog per queue."""
    _caller(frozenset({"supervisor", "admin"}))
    repo = _repository()
    views = [kpi.view(scope, counters) for scope, counters in sorted(repo.kpis(day).items())]
    backlog = repo.queue_backlog([t.value for t in Topic])
    views += [kpi.view(f"backlog:{topic}", {"waiting": count}) for topic, count in backlog.items() if count]
    return views


class SearchHit(BaseModel):
    entity: str
    id: str
    label: str
    matched: str
    exact: bool


@app.get("/api/search")
def search_everything(
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[SearchHit]:
    """Customers by name, email or phone, tickets by reference; accents and case ignored."""
    _caller()
    return [SearchHit(**vars(hit)) for hit in search.search(_repository(), q, limit)]


_openapi_json: str | None = None


def _openapi() -> str:
    """The whole /api/* surface in one document (every function's, merged), built on the first
    request for it only: the other functions' modules are imported then, not at cold start."""
    global _openapi_json  # noqa: PLW0603 (one document per container)
    if _openapi_json is None:
        _openapi_json = json.dumps(openapi.merged_document(), indent=1)
    return _openapi_json


@app.get("/api/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    """The OpenAPI 3.1 document of every /api/* route, from the documents Powertools generates."""
    _caller()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi())


@app.get("/api/docs", include_in_schema=False)
def swagger_ui(format: Annotated[str | None, Query(max_length=20)] = None) -> Response[str]:
    """Swagger UI on the same document (``?format=json``: the document itself)."""
    _caller()
    if format == "json":
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi())
    return Response(status_code=200, content_type="text/html", body=openapi.swagger_page(_openapi()))


@app.exception_handler(InvalidInput)
def _invalid(error: InvalidInput) -> Response[str]:
    return Response(
        status_code=400,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"message": "invalid request", "errors": error.errors}),
    )


@app.exception_handler(Unprocessable)
def _unprocessable(error: Unprocessable) -> Response[str]:
    return api_errors.error(422, "invalid request: " + str(error), errors=error.errors)


@app.exception_handler(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    return api_errors.validation_error(exc)


api_errors.answer_domain_errors(app, NotFound, InvalidCursor, AtCapacity, Conflict, Forbidden)


@app.exception_handler(NotAllowed)
def _not_allowed(error: NotAllowed) -> Response[str]:
    return api_errors.error(403, str(error))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api_errors.answer_staff_api(app, event, context)
