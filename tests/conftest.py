"""Fixtures for the unit and integration levels (e2e has its own in tests/e2e/conftest.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Fake credentials before any boto3 client exists: no test may reach real AWS.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[_name] = "testing"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Guichet")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "guichet")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")

from infra.local import aws_calls, moto_patches  # noqa: E402
from tests.support import LambdaContext, provision_moto  # noqa: E402

moto_patches.install()  # the local stack's moto, without its O(table) writes (issue 15 #11)

# Every AWS call a function makes in this session, in-process or in an e2e local stack (which
# inherits the variable), goes to one file; tests/infra/test_observed_permissions.py, run last,
# checks each against that function's role in the synthesized template (issue 15 #12).
if not os.environ.get("LOCAL_AWS_CALLS_FILE"):
    _fd, _calls_file = tempfile.mkstemp(prefix="guichet-aws-calls-", suffix=".tsv")
    os.close(_fd)
    os.environ["LOCAL_AWS_CALLS_FILE"] = _calls_file
aws_calls.Recorder(
    aws_calls.function_modules(), aws_calls.file_sink(Path(os.environ["LOCAL_AWS_CALLS_FILE"]))
).install()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_everything: runs after every other test of the session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker("after_everything")]
    items[:] = [item for item in items if not item.get_closest_marker("after_everything")] + last


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the table (from the schema declaration) and the inbound queue with its DLQ.

    Handlers wire their clients lazily, once per module: the wiring is reset per test.
    """
    from moto import mock_aws

    with mock_aws():
        env, handles = provision_moto()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for module in (
            "functions.form_webhook.handler",
            "functions.inbound_processor.handler",
            "functions.agent_api.handler",
            "functions.meta_webhook.handler",
            "functions.twilio_webhook.handler",
            "functions.portal_api.handler",
            "functions.admin_api.handler",
        ):
            mod = __import__(module, fromlist=["handler"])
            for attribute in ("_wired", "_repo", "_config", "_store"):
                if hasattr(mod, attribute):
                    monkeypatch.setattr(mod, attribute, None)
        yield handles


@pytest.fixture(autouse=True)
def _no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any DynamoDB Scan issued by code under test fails the test (no Scan on request paths).

    Wraps botocore's single entry point for API calls, so it holds for every client and
    session (moto replaces boto3's default session, so a session event hook would not).
    """
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def guarded(self: Any, operation_name: str, api_params: Any) -> Any:
        if operation_name == "Scan" and self.meta.service_model.service_name == "dynamodb":
            raise AssertionError("DynamoDB Scan was called: request paths must use keys or indexes")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", guarded)
