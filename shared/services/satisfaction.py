"""The satisfaction stage: the survey link after delivery, reminders, and the customer's answer.

Used by the workflow's last step (for e-commerce orders too: the sync's ``SatisfactionStarter``
starts the workflow at this stage, see shared/adapters/aws/stepfunctions.py), by the daily
reminder function and by the public survey page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.back_office_texts import team_text
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.order import OrderStage
from shared.domain.survey import Survey, new_survey
from shared.domain.team_config import SlaSettings
from shared.domain.timeline import TimelineEntry
from shared.domain.workflow import LOW_CSAT, AlertKind, Csat, TransientError, WorkflowRecord
from shared.services.back_office import open_order_ticket
from shared.services.order_alerts import AlertOutcome, AlertService
from shared.workflow_ports import Clock, Orders, WorkflowData

COMMENT_MAX = 2000


@dataclass(frozen=True)
class ReminderRun:
    due: int
    reminded: int
    skipped: int


class SatisfactionService:
    """Implements ``shared.order_ports.SatisfactionStarter`` (the e-commerce sync's port)."""

    def __init__(
        self,
        orders: Orders,
        store: WorkflowData,
        alerts: AlertService,
        clock: Clock,
        public_base_url: str,
        *,
        sla: Callable[[], SlaSettings] | None = None,
        team_locale: Callable[[], str] | None = None,
    ) -> None:
        """``sla``: the team's stored SLA settings for a low-CSAT ticket (None: the defaults);
        ``team_locale``: the language of that ticket (None: French)."""
        self._sla = sla
        self._team_locale = team_locale
        self._orders = orders
        self._store = store
        self._alerts = alerts
        self._clock = clock
        self._base = public_base_url.rstrip("/")

    def link(self, survey: Survey) -> str:
        return f"{self._base}/survey/{survey.token}"

    def start_satisfaction(self, order_id: str) -> None:
        """The ``SatisfactionStarter`` port: send the order's survey once (idempotent)."""
        self.send_survey(order_id)

    def send_survey(self, order_id: str) -> bool:
        """Send the order's survey once (idempotent). True if it was sent by this call."""
        found = self._orders.get_order(order_id)
        if found is None:
            raise NotFound("order", order_id)
        order = found.value
        if not order.customer_id:
            return False
        now = self._clock.now()
        self._orders.mark_satisfaction_requested(order_id, now)
        if order.stage not in (OrderStage.satisfaction, OrderStage.completed, OrderStage.cancelled):
            self._orders.record_stage(order_id, OrderStage.satisfaction, now)
        record = self._store.get_workflow(order_id)
        if record is None:  # a platform order: no workflow ran, the survey still needs a home
            with contextlib.suppress(Conflict):  # created concurrently
                self._store.save_workflow(WorkflowRecord(order_id=order_id, updated_at=now), None)
            record = self._store.get_workflow(order_id)
        assert record is not None
        appointment = record.value.appointment
        survey, _ = self._store.create_survey(
            new_survey(
                order.id,
                order.number,
                order.customer_id,
                appointment.technician_id if appointment else None,
                now,
            )
        )
        if record.value.survey_id != survey.id:
            try:
                self._store.save_workflow(
                    record.value.model_copy(update={"survey_id": survey.id, "updated_at": now}),
                    record.version,
                )
            except Conflict as exc:
                raise TransientError("the workflow record changed") from exc
        outcome = self._alerts.send(order, AlertKind.survey, {"link": self.link(survey)})
        return outcome is AlertOutcome.sent

    def send_reminders(self, now: datetime, after_days: int, max_reminders: int) -> ReminderRun:
        """Remind every survey unanswered for ``after_days`` (GSI3, no Scan), up to
        ``max_reminders`` times each. The alert goes first (exactly once per reminder number),
        then the survey moves on; a run interrupted in between finishes on the next run."""
        due = self._store.due_surveys(now - timedelta(days=after_days))
        reminded = skipped = 0
        for versioned in due:
            survey = versioned.value
            if survey.answered_at is not None or survey.reminders_sent >= max_reminders:
                skipped += 1
                continue
            number = survey.reminders_sent + 1
            found = self._orders.get_order(survey.order_id)
            if found is None:
                skipped += 1
                continue
            self._alerts.send(
                found.value, AlertKind.survey_reminder, {"link": self.link(survey)}, attempt=number
            )
            if self._store.mark_reminded(survey, versioned.version, now, last=number >= max_reminders):
                reminded += 1
            else:
                skipped += 1
        return ReminderRun(due=len(due), reminded=reminded, skipped=skipped)

    def survey(self, token: str) -> Survey:
        found = self._store.get_survey(token)
        if found is None:
            raise NotFound("survey", "(token)")
        return found.value

    def answer(self, token: str, score: int, comment: str | None) -> Survey:
        """Record the CSAT on the order, the customer and the technician; a low score opens a
        follow-up ticket. ``Conflict`` if the survey was already answered."""
        if not 1 <= score <= 5:
            raise InvalidInput([{"field": "score", "message": "between 1 and 5"}])
        found = self._store.get_survey(token)
        if found is None:
            raise NotFound("survey", "(token)")
        survey = found.value
        if survey.answered_at is not None:
            raise Conflict("this survey has already been answered")
        now = self._clock.now()
        text = (comment or "").strip()[:COMMENT_MAX] or None
        csat = Csat(score=score, comment=text, answered_at=now, technician_id=survey.technician_id)
        entry = TimelineEntry(
            event_id=f"csat:{survey.order_id}",
            kind="csat",
            direction="inbound",
            summary=f"Order {survey.order_number}: satisfaction {score}/5",
            details={"order_id": survey.order_id, "score": str(score)},
            at=now,
        )
        self._store.record_answer(survey, found.version, csat, entry)
        order = self._orders.get_order(survey.order_id)
        if order is not None and order.value.stage is OrderStage.satisfaction:
            self._orders.record_stage(survey.order_id, OrderStage.completed, now, f"CSAT {score}/5")
        if score <= LOW_CSAT and order is not None:
            locale = self._team_locale() if self._team_locale else "fr"
            said = (" : « " + text + " »" if locale == "fr" else f': "{text}"') if text else ""
            subject, note = team_text(
                "low_csat", locale, number=survey.order_number, score=score, comment=said
            )
            open_order_ticket(
                self._store,
                self._orders,
                self._clock,
                order.value,
                reason="low-csat",
                sla=self._sla() if self._sla else None,
                subject=subject,
                note=note,
            )
        return survey.model_copy(update={"answered_at": now, "score": score, "comment": text})
