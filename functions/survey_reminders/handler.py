"""Daily: remind the customers whose survey is unanswered for N days (up to R reminders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.workflow_wiring import satisfaction_service, step_errors, step_ports
from shared.domain.common import utcnow
from shared.services.satisfaction import SatisfactionService
from shared.settings import SurveyReminderSettings, load

logger = Logger()
_wired: tuple[SatisfactionService, SurveyReminderSettings] | None = None


def _service() -> tuple[SatisfactionService, SurveyReminderSettings]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(SurveyReminderSettings)
        _wired = (satisfaction_service(step_ports(settings)), settings)
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled event's ``time`` is "now": a late or replayed run judges what was due then."""
    service, settings = _service()
    raw = event.get("time") if isinstance(event, dict) else None
    now = datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None
    with step_errors():
        run = service.send_reminders(
            now or utcnow(), settings.survey_reminder_days, settings.survey_max_reminders
        )
    logger.info("survey reminders", extra={"due": run.due, "reminded": run.reminded, "skipped": run.skipped})
    return {"due": run.due, "reminded": run.reminded, "skipped": run.skipped}
