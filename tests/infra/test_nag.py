"""cdk-nag (AWS Solutions): no unacknowledged finding, and every acknowledgement is reasoned."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import registry
from tests.infra.template import Synthesized

# Findings this stack acknowledges on purpose (each with its reason in infra/constructs).
# A new kind of acknowledgement must be added here, so that it gets reviewed.
EXPECTED_ACKNOWLEDGEMENTS = {
    "AwsSolutions-IAM5[Resource::*]",  # X-Ray actions have no resource-level permission
    "AwsSolutions-L1",  # runtime pinned with the dependency layer's wheels
    "AwsSolutions-SMG4",  # third-party signing secrets: no rotation Lambda possible
    "AwsSolutions-COG2",  # customers' MFA is optional
    "AwsSolutions-COG8",  # customers' pool on the Essentials plan
    "AwsSolutions-APIG4",  # auth="none" routes
    "AwsSolutions-CFR1",  # the edge distribution: no geo restriction (providers call from anywhere)
    "AwsSolutions-CFR3",  # the edge distribution: requests are logged by the API stage
    "AwsSolutions-CFR4",  # the edge distribution: default certificate (a custom domain sets TLS 1.2)
}


@pytest.fixture(scope="module")
def report(synth: Synthesized) -> dict[str, Any]:
    assert synth.outdir is not None
    return json.loads((synth.outdir / "validation-report.json").read_text())


def test_synth_passed_the_aws_solutions_checks(report: dict[str, Any]) -> None:
    (plugin,) = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []


def test_probe_stack_passes_too(probe: Synthesized) -> None:
    """Bucket, secret and topic grants, schedules and customer routes raise no finding either."""
    assert probe.outdir is not None
    report = json.loads((probe.outdir / "validation-report.json").read_text())
    assert report["pluginReports"][0]["violations"] == []
    for suppressed in report["pluginReports"][0]["suppressedViolations"]:
        assert suppressed["acknowledgedId"] == f"AwsSolutions::{suppressed['ruleName']}"
        assert len(suppressed["reason"]) >= 60, suppressed


# The S3 action families of CDK's bucket grant for read_write (inbound_processor on the
# attachments bucket), acknowledged on the grantee's role, for that one bucket only.
BUCKET_READ_WRITE_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")


def test_every_acknowledgement_is_expected_and_reasoned(synth: Synthesized, report: dict[str, Any]) -> None:
    table, bucket = synth.id_of("table"), synth.id_of("bucket:attachments")
    expected = EXPECTED_ACKNOWLEDGEMENTS | {
        f"AwsSolutions-IAM5[Resource::<{table}.Arn>/index/*]",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]",
        *(f"AwsSolutions-IAM5[Action::{action}]" for action in BUCKET_READ_WRITE_ACTIONS),
        # sla_check publishes to the supervisors topic, encrypted with a customer-managed key.
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        # The order workflow: the documents bucket's objects, and the state machine invoking
        # its tasks' versions.
        f"AwsSolutions-IAM5[Resource::<{synth.id_of('bucket:documents')}.Arn>/*]",
        # Claim checks of large inbound deliveries (random object keys, expiring in 21 days).
        f"AwsSolutions-IAM5[Resource::<{synth.id_of('bucket:payloads')}.Arn>/*]",
        *(
            f"AwsSolutions-IAM5[Resource::<{synth.function_id(task)}.Arn>:*]"
            for machine in registry.STATE_MACHINES
            for task in machine.tasks
        ),
    }
    for suppressed in report["pluginReports"][0].get("suppressedViolations", []):
        assert suppressed["ruleName"] in expected, suppressed["ruleName"]
        assert suppressed["acknowledgedId"] == f"AwsSolutions::{suppressed['ruleName']}"
        assert len(suppressed["reason"]) >= 60, suppressed


def test_only_public_routes_skip_authorization(report: dict[str, Any]) -> None:
    paths = [
        construct["constructPath"]
        for suppressed in report["pluginReports"][0].get("suppressedViolations", [])
        if suppressed["ruleName"] == "AwsSolutions-APIG4"
        for construct in suppressed["violatingConstructs"]
    ]
    public = [route for route, _ in registry.all_routes() if route.auth == "none"]
    assert len(paths) == len(public)
    for route in public:
        # CDK names a route construct "<METHOD><path with / replaced by -->"
        assert any(f"/{route.method}{route.path.replace('/', '--')}/" in path for path in paths), route
