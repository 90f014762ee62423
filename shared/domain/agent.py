"""Agents: who can take which queue, and how much at once."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.domain.common import DomainModel
from shared.domain.ticket import Topic


class AgentRole(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


class Agent(DomainModel):
    id: str  # the Cognito "sub"
    name: str = Field(min_length=1, max_length=120, description="display name, signs canned responses")
    first_name: str | None = Field(default=None, max_length=60, description="default: the name's first word")
    last_name: str | None = Field(default=None, max_length=60)
    email: str
    role: AgentRole = AgentRole.agent
    skills: list[Topic] = Field(default_factory=list)  # specialty queues, served first
    backup_queues: list[Topic] = Field(default_factory=list)  # versatile backup
    languages: list[str] = Field(default_factory=lambda: ["fr"])
    capacity: int = Field(default=5, ge=1)
    active_ticket_count: int = Field(default=0, ge=0)

    def has_capacity(self) -> bool:
        return self.active_ticket_count < self.capacity
