"""Satisfaction surveys: a tokenised link sent after delivery, reminders, and the CSAT answer."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pydantic import Field

from shared.domain.common import DomainModel
from shared.domain.ids import stable_id

REMINDER_AFTER_DAYS = 3  # defaults; the reminder function's settings override them
MAX_REMINDERS = 2


class Survey(DomainModel):
    id: str
    token: str  # the secret in the public link: whoever holds it may answer, once
    order_id: str
    order_number: str
    customer_id: str
    technician_id: str | None = None  # the technician (or agent) the score also counts for
    sent_at: datetime
    last_sent_at: datetime
    reminders_sent: int = 0
    answered_at: datetime | None = None
    score: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = None


def new_survey(
    order_id: str, order_number: str, customer_id: str, technician_id: str | None, now: datetime
) -> Survey:
    """A survey for one order; its id derives from the order (one survey per order)."""
    return Survey(
        id=stable_id("S", "survey", order_id),
        token=secrets.token_urlsafe(24),  # 192 bits: unguessable, so a bad token is a plain 404
        order_id=order_id,
        order_number=order_number,
        customer_id=customer_id,
        technician_id=technician_id,
        sent_at=now,
        last_sent_at=now,
    )


def reminder_due(survey: Survey, now: datetime, after_days: int, max_reminders: int) -> bool:
    """Unanswered, last sent ``after_days`` ago or more, and fewer than ``max_reminders`` sent."""
    return (
        survey.answered_at is None
        and survey.reminders_sent < max_reminders
        and now - survey.last_sent_at >= timedelta(days=after_days)
    )


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any read: a malformed token never costs a DynamoDB call."""
    return 16 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
