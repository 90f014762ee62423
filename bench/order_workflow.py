"""The order workflow for `make bench` (issue 6, items 4-8): state transitions per order, AWS calls
per stage, and dollars per order with email alerts and with SMS alerts.

One order runs the happy path on moto exactly as the integration tests run it
(tests/workflow_support.py: the real ASL under moto's interpreter, the real handlers): quote,
acceptance, commissioning report, then the survey answer. Every AWS call a handler makes is
attributed to the function (stage) that made it, through the dispatcher, so the harness's own
polling is not counted. Transitions come from the execution history (what Standard bills).
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from bench import prices
from bench.counter import Tally, _Recorder
from infra import registry

# Assumed warm durations (ms) of the workflow's functions (cost-model.md anchors: 256 MB with one
# DynamoDB round trip is 21-33 ms); each stage does 3-8 round trips and, for alerts, one SES call.
DURATION_MS = {
    "order_reception": 120,
    "order_preparation": 150,  # + the provisioning system's answer (not billed by AWS)
    "order_installation": 80,
    "order_billing": 150,
    "order_satisfaction": 100,
    "order_incident": 60,
    "order_workflow_api": 60,
    "survey_api": 60,
    "survey_reminders": 100,
}
SMS_SEGMENT_FR = 0.075  # cost-model.md: France, per segment
SMS_SEGMENT_US = 0.0088
SFN_LOG_EVENT_BYTES = 350  # one CloudWatch Logs event per history event (no execution data)

STAGES = {
    "order_reception": "Reception",
    "order_preparation": "Preparation",
    "order_installation": "Installation",
    "order_billing": "Billing",
    "order_satisfaction": "Satisfaction",
    "order_workflow_api": "API (quote, accept, report)",
    "survey_api": "Survey answer (public page)",
}


@dataclass
class Run:
    channel: str
    transitions: list[str]
    history_events: int
    tallies: dict[str, Tally]
    invocations: Counter[str]
    api_requests: int
    emails: int
    sms_segments: int
    log_bytes: int
    lambda_dollars: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)

    def dollars(self, sms_segment_price: float = SMS_SEGMENT_FR) -> dict[str, float]:
        lam = 0.0
        for name, count in self.invocations.items():
            spec = registry.function(name)
            seconds = DURATION_MS.get(name, 100) / 1000
            lam += count * (
                prices.LAMBDA_REQUEST + spec.memory_mb / 1024 * seconds * prices.LAMBDA_ARM_GB_SECOND
            )
        ddb = sum(
            t.read_units * prices.DDB_READ_UNIT + t.write_units * prices.DDB_WRITE_UNIT
            for t in self.tallies.values()
        )
        return {
            "step_functions": len(self.transitions) * prices.SFN_TRANSITION,
            "lambda": lam,
            "dynamodb": ddb,
            "api": self.api_requests * prices.HTTP_API_REQUEST,
            "email": self.emails * prices.SES_EMAIL,
            "sms": self.sms_segments * (sms_segment_price + prices.SNS_PUBLISH) if self.sms_segments else 0.0,
            "logs": (self.log_bytes + self.history_events * SFN_LOG_EVENT_BYTES) / 1e9 * prices.LOGS_PER_GB,
            "s3": 1 * 0.005 / 1000 + 1 * 0.0004 / 1000,  # the invoice: one PUT, one GET (list prices)
        }


class _PerFunction:
    """Routes every AWS call to the recorder of the function running on this thread."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.recorders: dict[str, _Recorder] = {}
        self.invocations: Counter[str] = Counter()
        self._original = BaseClient._make_api_call
        self._lock = threading.Lock()

    def install(self, dispatcher: Any) -> None:
        original_invoke = dispatcher.invoke
        recorders, local, invocations, lock = self.recorders, self.local, self.invocations, self._lock
        original = self._original

        def invoke(name_or_arn: str, event: Any) -> Any:
            spec = dispatcher.spec(name_or_arn)
            name = spec.name if spec else str(name_or_arn)
            with lock:
                if name not in recorders:
                    recorder = _Recorder()
                    recorder._original = original  # the unpatched entry point, not ours
                    recorders[name] = recorder
                invocations[name] += 1
            previous = getattr(local, "function", None)
            local.function = name
            try:
                return original_invoke(name_or_arn, event)
            finally:
                local.function = previous

        dispatcher.invoke = invoke

        def call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            name = getattr(local, "function", None)
            if name is None:
                return original(client, operation, params)
            return recorders[name].call(client, operation, params)

        BaseClient._make_api_call = call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]


def _one_order(channel: str) -> Run:
    from tests.workflow_support import WorkflowHarness, first_offered_slot

    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger("guichet").handlers if isinstance(h, logging.StreamHandler)]
    with WorkflowHarness() as wf:
        if channel == "email":
            wf.seed_customer("C1", email="alice@example.com")
        else:
            wf.seed_customer("C1", email=None, phone="+33612345678")
        wf.seed_catalog()
        warm = wf.accept(wf.quote()["id"])  # warm every handler's first-call costs (not measured)
        wf.report(warm)
        wf.wait_status(warm)
        emails_before, sms_before = len(wf.sent_emails()), len(wf.sent_sms())

        streams = [h.setStream(buffer) for h in handlers]
        counter = _PerFunction()
        counter.install(wf.dispatcher)
        try:
            quote = wf.quote()
            order_id = wf.accept(quote["id"], slot=first_offered_slot(quote))
            wf.report(order_id)
            wf.wait_status(order_id)
            from shared.adapters.dynamodb.workflow_store import WorkflowStore

            token = WorkflowStore(wf.table).survey_for_order(order_id)
            assert token is not None
            wf.api("POST", f"/survey/{token.value.token}", {"score": 5})
        finally:
            counter.uninstall()
            for handler, stream in zip(handlers, streams, strict=True):
                if stream is not None:
                    handler.setStream(stream)
        transitions = wf.transitions(order_id)
        history = len(wf.history(order_id))
        emails = len(wf.sent_emails()) - emails_before
        texts = [text for _, text in wf.sent_sms()[sms_before:]]
    from shared.domain.outbound_rules import sms_info

    return Run(
        channel=channel,
        transitions=transitions,
        history_events=history,
        tallies={name: recorder.tally for name, recorder in counter.recorders.items()},
        invocations=counter.invocations,
        api_requests=counter.invocations["order_workflow_api"] + counter.invocations["survey_api"],
        emails=emails,
        sms_segments=sum(sms_info(text).segments for text in texts),
        log_bytes=len(buffer.getvalue().encode()),
    )


def measure() -> tuple[Run, Run]:
    return _one_order("email"), _one_order("sms")


def _calls(tally: Tally) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(tally.calls.items())) or "none"


def report_lines(email: Run, sms: Run) -> list[str]:
    lines = [
        "",
        "## Order workflow (issue 6): one order through the five stages",
        "",
        "The happy path on moto through the real ASL and handlers (bench/order_workflow.py): quote,",
        "acceptance with a chosen slot, commissioning report, invoice, survey sent and answered. AWS",
        "calls are attributed to the function that made them; Lambda durations are assumptions",
        "(bench/order_workflow.py), SMS at the French price per segment (cost-model.md).",
        "",
        f"State transitions per order: **{len(email.transitions)}** (target at most 12): "
        + " -> ".join(email.transitions),
        "",
        "| stage (function) | invocations | AWS calls | items read | read units | items written"
        " | write units |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in STAGES.items():
        tally = email.tallies.get(name, Tally())
        lines.append(
            f"| {label} (`{name}`) | {email.invocations.get(name, 0)} | {_calls(tally)} | {tally.items_read}"
            f" | {tally.read_units:g} | {tally.items_written} | {tally.write_units:g} |"
        )
    lines += [
        "",
        "| dollars per order | email alerts | SMS alerts (France) | SMS alerts (US) |",
        "|---|---|---|---|",
    ]
    by_email, by_sms, by_us = email.dollars(), sms.dollars(), sms.dollars(SMS_SEGMENT_US)
    for part in by_email:
        lines.append(f"| {part} | {by_email[part]:.6f} | {by_sms[part]:.6f} | {by_us[part]:.6f} |")
    lines.append(
        f"| **total** | **{sum(by_email.values()):.6f}** | **{sum(by_sms.values()):.4f}** |"
        f" **{sum(by_us.values()):.4f}** |"
    )
    lines += [
        "",
        f"Email: {email.emails} alerts (one per stage), target under $0.001 per order:"
        f" **${sum(by_email.values()):.6f}**. SMS: {sms.sms_segments} segments for 6 alerts"
        " (GSM-7, one segment each); the SMS price is nearly all of it, hence email first.",
    ]
    return lines


if __name__ == "__main__":
    runs = measure()
    print("\n".join(report_lines(*runs)))
    print(json.dumps({r.channel: math.fsum(r.dollars().values()) for r in runs}))
