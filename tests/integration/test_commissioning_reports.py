"""Issue 13, item 1: a commissioning report is accepted only when it can be true.

Only for an order waiting for its report, from the technician assigned to the visit (or a
coordinator, recorded as such), not before the visit starts; tests have a name, a result and an
optional measure; photos and the signature are uploaded first (presigned) and must exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.workflow_support import TECHNICIAN, WorkflowHarness, workflow_harness

COORDINATOR = {"sub": "coord-1", "email": "claire@guichet.example", "cognito:groups": "[coordinator]"}
AGENT = {"sub": "agent-2", "email": "paul@guichet.example", "cognito:groups": "[agent]"}
OTHER_TECH = {"sub": "tech-2", "email": "chloe@guichet.example", "cognito:groups": "[technician]"}
TESTS = [
    {"name": "optical power", "result": "passed", "measure": "-18 dBm"},
    {"name": "throughput", "result": "passed"},
]


@pytest.fixture
def wf() -> Iterator[WorkflowHarness]:
    with workflow_harness() as harness:
        harness.seed_customer()
        harness.seed_catalog()
        yield harness


def _waiting_order(wf: WorkflowHarness) -> str:
    order_id = wf.accept(wf.quote()["id"])
    wf.wait_for(lambda: wf.waiting_for(order_id, "commissioning"), what="the commissioning wait")
    return order_id


def _post(wf: WorkflowHarness, order_id: str, claims: dict[str, str], **body: Any) -> Any:
    return wf.api("POST", f"/api/orders/{order_id}/commissioning", {"tests": TESTS, **body}, claims=claims)


def test_the_report_of_a_visit_four_days_away_or_from_an_unknown_technician_is_refused(
    wf: WorkflowHarness,
) -> None:
    order_id = _waiting_order(wf)
    # Before the visit: 409, nothing recorded, the workflow still waits.
    early = _post(wf, order_id, TECHNICIAN)
    assert early.status == 409 and "cannot come before" in early.body["message"]
    wf.travel_to_visit(order_id)
    # A technician who is not the visit's, an unknown id, a plain agent: refused.
    assert _post(wf, order_id, OTHER_TECH).status == 403
    unknown = _post(wf, order_id, COORDINATOR, technician_id="TECH-INCONNU")
    assert (
        unknown.status == 422 and "TECH-INCONNU is not the technician" in unknown.body["errors"][0]["message"]
    )
    assert _post(wf, order_id, AGENT).status == 403
    assert wf.workflow(order_id).reports == [] and wf.waiting_for(order_id, "commissioning")
    assert "invoiced" not in wf.alerts(order_id)


def test_the_assigned_technician_reports_with_measures_photos_and_signature(wf: WorkflowHarness) -> None:
    order_id = _waiting_order(wf)
    wf.travel_to_visit(order_id)
    grant = wf.api(
        "POST",
        f"/api/orders/{order_id}/commissioning/uploads",
        {"content_type": "image/jpeg"},
        claims=TECHNICIAN,
    )
    assert grant.status == 201 and grant.body["max_bytes"] == 10 * 1024 * 1024
    assert grant.body["fields"]["Content-Type"] == "image/jpeg" and "policy" in grant.body["fields"]
    refused = wf.api(
        "POST",
        f"/api/orders/{order_id}/commissioning/uploads",
        {"content_type": "application/pdf"},
        claims=TECHNICIAN,
    )
    assert refused.status == 422
    # The upload lands where the grant says (what the browser's form POST does).
    from shared.services.order_commissioning import upload_key

    photo = grant.body["upload_id"]
    wf.s3.put_object(Bucket="guichet-documents", Key=upload_key(order_id, 1, photo), Body=b"\xff\xd8jpeg")
    missing = _post(wf, order_id, TECHNICIAN, photos=["U01ABCDEFGHJKMNPQRSTVWXYZ01.jpg"])
    assert missing.status == 422 and missing.body["errors"][0]["field"] == "photos"

    posted = _post(wf, order_id, TECHNICIAN, photos=[photo], signature={"signed_by": "Alice Martin"})
    assert posted.status == 200 and posted.body["passed"] is True
    (report,) = wf.workflow(order_id).reports
    assert report.received_by == "technician:T1" and report.technician_id == "T1"
    assert report.tests[0].measure == "-18 dBm" and report.tests[1].measure is None
    assert report.photos == [photo] and report.signature.signed_by == "Alice Martin"
    assert wf.wait_status(order_id) == "SUCCEEDED"
    view = wf.api("GET", f"/api/orders/{order_id}/workflow")
    assert view.body["reports"][0]["links"]["photos"][0].startswith("https://")


def test_a_coordinator_enters_the_report_for_the_technician_and_is_recorded_as_such(
    wf: WorkflowHarness,
) -> None:
    order_id = _waiting_order(wf)
    wf.travel_to_visit(order_id)
    posted = _post(wf, order_id, COORDINATOR, technician_id="T1")
    assert posted.status == 200
    (report,) = wf.workflow(order_id).reports
    assert report.received_by == "coordinator:claire@guichet.example" and report.technician_id == "T1"
    # Posted twice: the order no longer waits.
    assert _post(wf, order_id, COORDINATOR).status == 409


def test_a_test_needs_a_name_and_a_result(wf: WorkflowHarness) -> None:
    order_id = _waiting_order(wf)
    wf.travel_to_visit(order_id)
    for bad in ([{"name": "throughput"}], [{"result": "passed"}], [{"name": "x", "result": "ok"}], []):
        reply = wf.api("POST", f"/api/orders/{order_id}/commissioning", {"tests": bad}, claims=TECHNICIAN)
        assert reply.status == 422, bad


def test_the_team_language_is_the_admins_choice(wf: WorkflowHarness) -> None:
    admin = {"sub": "admin-1", "email": "admin@guichet.example", "cognito:groups": "[admin]"}
    read = wf.api("GET", "/api/admin/order-policy", claims=admin)
    assert read.status == 200 and read.body["policy"]["team_locale"] == "fr" and read.body["version"] == 0
    policy = {**read.body["policy"], "team_locale": "en"}
    assert (
        wf.api("PUT", "/api/admin/order-policy", {"version": 0, "policy": policy}, claims=AGENT).status == 403
    )
    saved = wf.api("PUT", "/api/admin/order-policy", {"version": 0, "policy": policy}, claims=admin)
    assert saved.status == 200 and saved.body["version"] == 1
    assert (
        wf.api("PUT", "/api/admin/order-policy", {"version": 0, "policy": policy}, claims=admin).status == 409
    )
    wf._reset_wiring()  # the steps' one-minute cache
    wf._warm()
    order_id = _waiting_order(wf)
    wf.travel_to_visit(order_id)
    failed = [{"name": "throughput", "result": "failed", "measure": "12 Mbit/s"}]
    assert (
        wf.api("POST", f"/api/orders/{order_id}/commissioning", {"tests": failed}, claims=TECHNICIAN).status
        == 200
    )
    (ticket,) = wf.wait_for(lambda: wf.tickets_of(order_id), what="the tech ticket")
    assert ticket.subject == f"Order {wf.order(order_id).number}: commissioning failed (visit 1)"
