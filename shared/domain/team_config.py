"""The team's configuration that admins and supervisors edit without a deployment.

Four documents, each stored and versioned on its own (an SLA edit never conflicts with a rule
edit): the qualification rules, the SLA policy with its business calendar, the priority policy
and the routing policy (the backup threshold supervisors set). When none is stored, the
defaults of the domain modules apply, so a fresh deployment behaves exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.domain.common import DomainModel
from shared.domain.intake import Playbook
from shared.domain.priority import DEFAULT_PRIORITY_POLICY, PriorityPolicy
from shared.domain.qualification import DEFAULT_RULES, QualificationRules
from shared.domain.routing import RoutingPolicy
from shared.domain.sla_policy import DEFAULT_CALENDAR, DEFAULT_SLA_POLICY, BusinessCalendar, SlaPolicy

M = TypeVar("M", bound=BaseModel)

MAX_DOCUMENT_BYTES = 300_000  # below DynamoDB's 400 KB item limit, with room for the history copy


class SlaSettings(DomainModel):
    """Targets per priority (first response, next response, resolution) and the business
    calendar they are counted in (working hours per weekday, time zone, holidays)."""

    policy: SlaPolicy = DEFAULT_SLA_POLICY
    calendar: BusinessCalendar = DEFAULT_CALENDAR


DEFAULT_SLA_SETTINGS = SlaSettings()
DEFAULT_ROUTING_POLICY = RoutingPolicy()


@dataclass(frozen=True)
class ConfigSpec(Generic[M]):
    """One configuration document: its stored name, model, default and how people call it."""

    kind: str
    model: type[M]
    default: M
    label: str


QUALIFICATION = ConfigSpec("qualification_rules", QualificationRules, DEFAULT_RULES, "qualification rules")
SLA = ConfigSpec("sla_policy", SlaSettings, DEFAULT_SLA_SETTINGS, "SLA policy")
PRIORITY = ConfigSpec("priority_policy", PriorityPolicy, DEFAULT_PRIORITY_POLICY, "priority policy")
ROUTING = ConfigSpec("routing_policy", RoutingPolicy, DEFAULT_ROUTING_POLICY, "routing policy")
SPECS: tuple[ConfigSpec[Any], ...] = (QUALIFICATION, SLA, PRIORITY, ROUTING)


@dataclass(frozen=True)
class Setting(Generic[M]):
    """A document as in force: the stored one, or the default (version 0, or the version of
    the reset that brought the defaults back)."""

    value: M
    version: int
    is_default: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


class TeamConfig(DomainModel):
    """Everything the request paths read, defaults included."""

    qualification: QualificationRules = DEFAULT_RULES
    priority: PriorityPolicy = DEFAULT_PRIORITY_POLICY
    sla: SlaSettings = DEFAULT_SLA_SETTINGS
    routing: RoutingPolicy = DEFAULT_ROUTING_POLICY

    def playbook(self) -> Playbook:
        """What a new ticket is qualified, prioritised and timed with."""
        return Playbook(
            qualification=self.qualification,
            priority=self.priority,
            sla=self.sla.policy,
            calendar=self.sla.calendar,
        )


DEFAULT_TEAM_CONFIG = TeamConfig()
