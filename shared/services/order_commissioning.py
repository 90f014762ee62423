"""The technician's commissioning report: the human step that ends (or repeats) a visit.

A report is accepted only when it can be true:

* the order waits for a commissioning report (the workflow keeps a task token for it);
* it comes from the technician assigned to that visit (their staff account's email is the
  technician's), or from a coordinator entering it for them, recorded as such;
* the visit has started (a report dated before the technician arrived is not a report);
* each test has a name, a result (passed or failed) and, optionally, what was measured;
* photos and the customer's signature are uploaded beforehand with presigned uploads
  (``commissioning_upload``) and named in the report by their upload ids; each must exist.

All tests passed: the waiting execution succeeds (lines billable, alert "installed"); any failed:
it fails with ``CommissioningFailed`` (a tech ticket, a new visit offered to the customer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.catalog import Technician
from shared.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from shared.domain.ids import new_id
from shared.domain.order import Order
from shared.domain.workflow import (
    Appointment,
    Awaiting,
    CommissioningReport,
    Signature,
    TestResult,
    WaitKind,
    WorkflowRecord,
)
from shared.ports import Versioned
from shared.workflow_ports import Clock, Orders, Uploads, WorkflowData, WorkflowEngine

UPLOAD_TYPES = {"image/jpeg": "jpg", "image/png": "png"}
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_EXPIRES = timedelta(minutes=15)
MAX_PHOTOS = 20
_UPLOAD_ID = re.compile(r"^U[0-9A-Z]{26}\.(jpg|png)$")


@dataclass(frozen=True)
class Reporter:
    """Who posts: their staff account (email, else subject) and what their roles let them do."""

    who: str
    email: str | None
    technician: bool  # the technician role: reports on their own visits only
    coordinator: bool  # coordinators (and supervisors, admins) enter reports for a technician


@dataclass(frozen=True)
class Visit:
    """The visit a report (or an upload) is for, and how the report is recorded."""

    order: Versioned[Order]
    record: Versioned[WorkflowRecord]
    awaiting: Awaiting
    appointment: Appointment
    recorded_as: str  # "technician:<id>" or "coordinator:<who>"


@dataclass(frozen=True)
class UploadGrant:
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


def upload_key(order_id: str, attempt: int, upload_id: str) -> str:
    return f"commissioning/{order_id}/visit-{attempt}/{upload_id}"


def technician_of(store: WorkflowData, email: str | None) -> Technician | None:
    """The technician whose staff account has this email (case-insensitive)."""
    if not email:
        return None
    wanted = email.strip().lower()
    return next((t for t in store.technicians() if t.email and t.email.lower() == wanted), None)


def current_visit(
    store: WorkflowData,
    orders: Orders,
    clock: Clock,
    *,
    order_id: str,
    reporter: Reporter,
    technician_id: str | None = None,
) -> Visit:
    """The visit waiting for its report, checked against who asks and the time (see module)."""
    found_order = orders.get_order(order_id)
    if found_order is None:
        raise NotFound("order", order_id)
    found = store.get_workflow(order_id)
    awaiting = found.value.awaiting if found else None
    if found is None or awaiting is None or awaiting.kind is not WaitKind.commissioning:
        raise Conflict("this order is not waiting for a commissioning report")
    appointment = found.value.appointment
    if appointment is None or appointment.attempt != awaiting.attempt:
        raise Conflict("this order has no visit waiting for its report")
    assigned = appointment.technician_id
    if reporter.coordinator:
        if technician_id and technician_id != assigned:
            raise InvalidInput(
                [
                    {
                        "field": "technician_id",
                        "message": f"{technician_id} is not the technician of visit "
                        f"{appointment.attempt} ({assigned} is)",
                    }
                ]
            )
        recorded_as = f"coordinator:{reporter.who}"
    elif reporter.technician:
        technician = technician_of(store, reporter.email)
        if technician is None:
            raise NotAllowed("your account is not a technician's (no technician has its email)")
        if technician.id != assigned or (technician_id and technician_id != technician.id):
            raise NotAllowed(
                f"visit {appointment.attempt} of order {found_order.value.number} is assigned to "
                "another technician: only they, or a coordinator, can report on it"
            )
        recorded_as = f"technician:{technician.id}"
    else:
        raise NotAllowed("a commissioning report comes from the visit's technician or a coordinator")
    now = clock.now()
    if now < appointment.start:
        raise Conflict(
            f"visit {appointment.attempt} starts at {appointment.start.isoformat()}: "
            "its report cannot come before"
        )
    return Visit(found_order, found, awaiting, appointment, recorded_as)


def commissioning_upload(
    store: WorkflowData,
    orders: Orders,
    uploads: Uploads,
    clock: Clock,
    *,
    order_id: str,
    reporter: Reporter,
    content_type: str,
) -> UploadGrant:
    """A presigned upload for one photo (or the signature's picture) of the current visit."""
    extension = UPLOAD_TYPES.get(content_type)
    if extension is None:
        raise InvalidInput(
            [{"field": "content_type", "message": f"one of {', '.join(sorted(UPLOAD_TYPES))}"}]
        )
    visit = current_visit(store, orders, clock, order_id=order_id, reporter=reporter)
    upload_id = f"{new_id('U')}.{extension}"
    key = upload_key(order_id, visit.appointment.attempt, upload_id)
    presigned = uploads.presign_upload(
        key, content_type, UPLOAD_MAX_BYTES, int(UPLOAD_EXPIRES.total_seconds())
    )
    return UploadGrant(
        upload_id=upload_id,
        url=str(presigned["url"]),
        fields={k: str(v) for k, v in presigned["fields"].items()},
        expires_at=clock.now() + UPLOAD_EXPIRES,
        max_bytes=UPLOAD_MAX_BYTES,
    )


def submit_commissioning(
    store: WorkflowData,
    orders: Orders,
    engine: WorkflowEngine,
    uploads: Uploads,
    clock: Clock,
    *,
    order_id: str,
    reporter: Reporter,
    tests: list[TestResult],
    installed_line_ids: list[str] | None,
    technician_id: str | None,
    notes: str | None,
    photos: list[str],
    signature: Signature | None,
) -> CommissioningReport:
    """Record the report and answer the waiting execution (see module). ``Conflict`` when the
    order is not waiting for a report or the visit has not started; ``NotAllowed`` for someone
    else's visit; ``InvalidInput`` for unknown lines or uploads. Nothing is recorded then."""
    visit = current_visit(
        store, orders, clock, order_id=order_id, reporter=reporter, technician_id=technician_id
    )
    line_ids = {line.id for line in visit.order.value.lines}
    problems: list[dict[str, str]] = []
    unknown = sorted(set(installed_line_ids or []) - line_ids) + sorted(
        {t.line_id for t in tests if t.line_id and t.line_id not in line_ids}
    )
    if unknown:
        problems.append({"field": "line_id", "message": f"not a line of this order: {', '.join(unknown)}"})
    if len(photos) > MAX_PHOTOS:
        problems.append({"field": "photos", "message": f"at most {MAX_PHOTOS} photos"})
    named = [("photos", p) for p in photos]
    if signature is not None and signature.image:
        named.append(("signature.image", signature.image))
    attempt = visit.appointment.attempt
    for field, upload_id in named:
        if not _UPLOAD_ID.match(upload_id) or not uploads.exists(upload_key(order_id, attempt, upload_id)):
            problems.append({"field": field, "message": f"{upload_id}: no such upload for this visit"})
    if problems:
        raise InvalidInput(problems)
    now = clock.now()
    report = CommissioningReport(
        attempt=attempt,
        technician_id=visit.appointment.technician_id,
        tests=tests,
        installed_line_ids=installed_line_ids,
        notes=notes,
        photos=photos,
        signature=signature,
        received_at=now,
        received_by=visit.recorded_as,
    )
    record = visit.record.value
    updated = record.model_copy(
        update={"reports": [*record.reports, report], "awaiting": None, "updated_at": now}
    )
    store.save_workflow(updated, visit.record.version)  # Conflict: a concurrent post won
    if report.passed:
        engine.send_success(visit.awaiting.token, {"passed": True, "attempt": report.attempt})
    else:
        failed = ", ".join(t.name for t in report.failed_tests())
        engine.send_failure(visit.awaiting.token, "CommissioningFailed", f"failed tests: {failed}"[:256])
    return report


def report_links(uploads: Uploads, order_id: str, report: CommissioningReport) -> dict[str, Any]:
    """Short-lived links to a report's photos and signature, for the staff's order view."""
    links: dict[str, Any] = {
        "photos": [uploads.url(upload_key(order_id, report.attempt, p)) for p in report.photos]
    }
    if report.signature is not None and report.signature.image:
        links["signature"] = uploads.url(upload_key(order_id, report.attempt, report.signature.image))
    return links
