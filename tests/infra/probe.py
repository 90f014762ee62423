"""A test-only function spec that uses what no registry function uses yet.

The ``probe`` session fixture synthesizes GuichetStack with it added to the registry, so that
the constructs' paths for customer routes, schedules, bucket/secret/topic grants and more
kinds of ``Ref`` are synthesized, checked by cdk-nag and asserted on.
"""

from __future__ import annotations

from dataclasses import replace

from infra import registry
from infra.registry import Grant, Ref, Route, Schedule

PROBE = replace(
    registry.function("health"),
    name="probe",
    description="Test-only function exercising the registry features no real function uses yet",
    routes=(Route("GET", "/me/tickets", auth="customer"),),
    schedules=(Schedule("probe-nightly", "cron(0 7 * * ? *)", "Test-only schedule"),),
    env={
        "ATTACHMENTS_BUCKET": Ref("bucket:attachments", "name"),
        "WEBHOOK_SECRETS_ARN": Ref("secret:webhooks", "arn"),
        "OPS_TOPIC_ARN": Ref("topic:ops-alarms", "arn"),
        "CUSTOMERS_POOL_ID": Ref("userpool:customers", "id"),
        "CUSTOMERS_CLIENT_ID": Ref("userpool:customers", "client_id"),
        "LITERAL": "value",
    },
    grants=(
        Grant("bucket:attachments", "read_write"),
        Grant("secret:webhooks", "read"),
        Grant("topic:ops-alarms", "publish"),
    ),
)
