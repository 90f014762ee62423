"""The team configuration (/api/admin/*, staff JWT): what new tickets and routing follow.

* ``/api/admin/qualification-rules``: the rules that give a new ticket its type and topic;
* ``/api/admin/sla-policies``: SLA targets per priority and the business calendar;
* ``/api/admin/priority-policy``: what raises a ticket's priority;
* ``/api/admin/routing``: the backlog above which backup queues are served first.

``GET`` reads the document in force with its ``version`` (supervisors and admins); ``PUT``
replaces it, quoting the version it was read at (409 when someone saved another meanwhile);
``DELETE`` brings the defaults back. Admins edit everything; supervisors edit the routing
threshold. The request paths read the configuration through a 60-second cache per Lambda
container: an edit takes effect within a minute.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from shared.adapters import api_errors
from shared.adapters.auth import Caller, Forbidden, caller_from_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.priority import PriorityPolicy
from shared.domain.qualification import QualificationRules
from shared.domain.routing import RoutingPolicy
from shared.domain.sla_policy import BusinessCalendar, SlaPolicy
from shared.domain.team_config import PRIORITY, QUALIFICATION, ROUTING, SLA, ConfigSpec, Setting, SlaSettings
from shared.services import team_config
from shared.settings import ApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
READERS = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
ROUTING_EDITORS = frozenset({"supervisor", "admin"})  # "a supervisor-set threshold"
M = TypeVar("M", bound=BaseModel)
_store: DynamoConfigStore | None = None


def _config_store() -> DynamoConfigStore:
    global _store  # noqa: PLW0603 (one wiring per cold start)
    if _store is None:
        _store = DynamoConfigStore(boto3.resource("dynamodb").Table(load(ApiSettings).table_name))
    return _store


def _caller(allowed: frozenset[str]) -> Caller:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(allowed)
    return caller


def _save(spec: ConfigSpec[M], value: M, version: int, allowed: frozenset[str] = ADMIN) -> Setting[M]:
    caller = _caller(allowed)
    saved = team_config.save(
        _config_store(), SystemClock(), spec, value, version, by=f"agent:{caller.subject}"
    )
    logger.info("configuration saved", extra={"kind": spec.kind, "version": saved.version})
    return saved


def _reset(spec: ConfigSpec[M], version: int | None, allowed: frozenset[str] = ADMIN) -> Setting[M]:
    caller = _caller(allowed)
    done = team_config.reset(_config_store(), SystemClock(), spec, version, by=f"agent:{caller.subject}")
    logger.info("configuration reset", extra={"kind": spec.kind, "version": done.version})
    return done


class Versioned(BaseModel):
    """Which version is in force, and who stored it."""

    version: int = Field(description="Quote it in the next PUT; 0: nothing was ever stored")
    is_default: bool = Field(description="True while the built-in defaults apply")
    updated_at: datetime | None = None
    updated_by: str | None = None


def _meta(setting: Setting[Any]) -> dict[str, Any]:
    return {
        "version": setting.version,
        "is_default": setting.is_default,
        "updated_at": setting.updated_at,
        "updated_by": setting.updated_by,
    }


VersionQuery = Annotated[
    int | None, Query(ge=0, description="The version read; omitted: reset whatever is stored")
]
EXPECTED_VERSION = "The version this edit starts from (the one GET returned); 409 if another was saved since"


# ------------------------------------------------------------------ history
class HistoryEntry(BaseModel):
    version: int
    action: str | None = Field(description="saved, or reset (back to the defaults)")
    updated_at: datetime | None = None
    updated_by: str | None = None
    document: dict[str, Any] | None = Field(description="what was stored (None: the defaults)")


@app.get("/api/admin/history")
def configuration_history(
    document: Annotated[
        Literal["qualification_rules", "sla_policy", "priority_policy", "routing_policy"], Query()
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[HistoryEntry]:
    """Every version of one configuration document, newest first: who changed it, when, and
    what it said (to compare, or to restore by a PUT of an older document)."""
    _caller(READERS)
    return [
        HistoryEntry(
            version=entry.version,
            action=entry.action,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
            document=json.loads(entry.document) if entry.document else None,
        )
        for entry in team_config.history(_config_store(), document, limit)
    ]


# ------------------------------------------------------------------ qualification rules
class QualificationRulesView(Versioned):
    rules: QualificationRules


class QualificationRulesIn(BaseModel):
    version: int = Field(ge=0, description=EXPECTED_VERSION)
    rules: QualificationRules


@app.get("/api/admin/qualification-rules")
def get_qualification_rules() -> QualificationRulesView:
    """The rules that give each new ticket its request type and topic (keywords in French and
    English, channels, the linked order's state), in the order they are tried."""
    _caller(READERS)
    setting = team_config.read(_config_store(), QUALIFICATION)
    return QualificationRulesView(rules=setting.value, **_meta(setting))


@app.put("/api/admin/qualification-rules")
def put_qualification_rules(body: QualificationRulesIn) -> QualificationRulesView:
    """Replace the rule set (admins). Every rule needs a condition and an outcome; new tickets
    follow it within a minute."""
    setting = _save(QUALIFICATION, body.rules, body.version)
    return QualificationRulesView(rules=setting.value, **_meta(setting))


@app.delete("/api/admin/qualification-rules")
def reset_qualification_rules(version: VersionQuery = None) -> QualificationRulesView:
    """Back to the built-in rules (admins)."""
    setting = _reset(QUALIFICATION, version)
    return QualificationRulesView(rules=setting.value, **_meta(setting))


# ------------------------------------------------------------------ SLA policies
class SlaPoliciesView(Versioned):
    policy: SlaPolicy
    calendar: BusinessCalendar


class SlaPoliciesIn(BaseModel):
    version: int = Field(ge=0, description=EXPECTED_VERSION)
    policy: SlaPolicy = Field(description="Targets per priority: first response, next response, resolution")
    calendar: BusinessCalendar = Field(description="Working hours per weekday, IANA time zone, holidays")


@app.get("/api/admin/sla-policies")
def get_sla_policies() -> SlaPoliciesView:
    """SLA targets per priority, counted in the business calendar's working time."""
    _caller(READERS)
    setting = team_config.read(_config_store(), SLA)
    return SlaPoliciesView(policy=setting.value.policy, calendar=setting.value.calendar, **_meta(setting))


@app.put("/api/admin/sla-policies")
def put_sla_policies(body: SlaPoliciesIn) -> SlaPoliciesView:
    """Replace the targets and the calendar (admins). New tickets, and clocks recomputed after
    a status or priority change, use them within a minute; running deadlines are not moved."""
    value = SlaSettings(policy=body.policy, calendar=body.calendar)
    setting = _save(SLA, value, body.version)
    return SlaPoliciesView(policy=setting.value.policy, calendar=setting.value.calendar, **_meta(setting))


@app.delete("/api/admin/sla-policies")
def reset_sla_policies(version: VersionQuery = None) -> SlaPoliciesView:
    """Back to the built-in targets and calendar (Paris office hours, French holidays) (admins)."""
    setting = _reset(SLA, version)
    return SlaPoliciesView(policy=setting.value.policy, calendar=setting.value.calendar, **_meta(setting))


# ------------------------------------------------------------------ priority policy
class PriorityPolicyView(Versioned):
    policy: PriorityPolicy


class PriorityPolicyIn(BaseModel):
    version: int = Field(ge=0, description=EXPECTED_VERSION)
    policy: PriorityPolicy


@app.get("/api/admin/priority-policy")
def get_priority_policy() -> PriorityPolicyView:
    """The starting priority per request type and what raises it (customer value, repeated
    contacts, SLA proximity)."""
    _caller(READERS)
    setting = team_config.read(_config_store(), PRIORITY)
    return PriorityPolicyView(policy=setting.value, **_meta(setting))


@app.put("/api/admin/priority-policy")
def put_priority_policy(body: PriorityPolicyIn) -> PriorityPolicyView:
    """Replace the priority policy (admins); types left out keep their defaults."""
    setting = _save(PRIORITY, body.policy, body.version)
    return PriorityPolicyView(policy=setting.value, **_meta(setting))


@app.delete("/api/admin/priority-policy")
def reset_priority_policy(version: VersionQuery = None) -> PriorityPolicyView:
    """Back to the built-in priority policy (admins)."""
    setting = _reset(PRIORITY, version)
    return PriorityPolicyView(policy=setting.value, **_meta(setting))


# ------------------------------------------------------------------ routing
class RoutingView(Versioned):
    policy: RoutingPolicy


class RoutingIn(BaseModel):
    version: int = Field(ge=0, description=EXPECTED_VERSION)
    policy: RoutingPolicy


@app.get("/api/admin/routing")
def get_routing() -> RoutingView:
    """The backlog above which a queue is served by its backup agents before their specialties."""
    _caller(READERS)
    setting = team_config.read(_config_store(), ROUTING)
    return RoutingView(policy=setting.value, **_meta(setting))


@app.put("/api/admin/routing")
def put_routing(body: RoutingIn) -> RoutingView:
    """Set the backup threshold (supervisors and admins); ``next`` follows it within a minute."""
    setting = _save(ROUTING, body.policy, body.version, ROUTING_EDITORS)
    return RoutingView(policy=setting.value, **_meta(setting))


@app.delete("/api/admin/routing")
def reset_routing(version: VersionQuery = None) -> RoutingView:
    """Back to the default threshold (supervisors and admins)."""
    setting = _reset(ROUTING, version, ROUTING_EDITORS)
    return RoutingView(policy=setting.value, **_meta(setting))


# ------------------------------------------------------------------ errors
@app.exception_handler(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    return api_errors.validation_error(exc)


@app.exception_handler(InvalidInput)
def _invalid(error: InvalidInput) -> Response[str]:
    return Response(
        status_code=422,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"message": "invalid request", "errors": error.errors}),
    )


api_errors.answer_domain_errors(app, NotFound, Conflict, Forbidden)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api_errors.answer_staff_api(app, event, context)
