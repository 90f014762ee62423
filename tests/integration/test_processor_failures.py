"""Failed records are visible: one ERROR line each with its ids (never the body), and a metric."""

from __future__ import annotations

import io
import json
import logging

import pytest

from functions.inbound_processor.handler import handler
from tests.support import load_event


@pytest.fixture
def logs():
    """What the functions' Powertools Logger writes (one JSON object per line)."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger("guichet").handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(buffer) for h in handlers]
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    for h, stream in zip(handlers, previous, strict=True):
        h.setStream(stream)


def _metrics(printed: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in printed.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[definition["Name"]]
            totals[definition["Name"]] = totals.get(definition["Name"], 0) + sum(
                value if isinstance(value, list) else [value]
            )
    return totals


def test_a_malformed_envelope_is_logged_once_at_error_with_its_ids_and_counted(
    aws, lambda_context, logs, capsys
):
    event = load_event("inbound_processor/good_and_broken_records")
    event["Records"][1]["attributes"]["ApproximateReceiveCount"] = "5"

    response = handler(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "1a2b3c4d-0000-4000-8000-00000000dead"}]}
    errors = [line for line in logs() if line["level"] == "ERROR"]
    assert len(errors) == 1
    [error] = errors
    assert error["message"] == "record failed"
    assert error["message_id"] == "1a2b3c4d-0000-4000-8000-00000000dead"
    assert error["channel"] == "web_form"
    assert error["receive_count"] == "5"
    assert error["error_type"] == "UnsupportedRecord"
    assert "not JSON" in error["reason"]
    assert _metrics(capsys.readouterr().out) == {"MessagesRecorded": 1, "FailedRecords": 1}


def test_an_invalid_envelope_is_logged_without_what_it_contains(aws, lambda_context, logs, capsys):
    event = load_event("inbound_processor/form_record")
    envelope = json.loads(event["Records"][0]["body"])
    envelope["received_at"] = "not a date"  # pydantic's error would quote the input values
    event["Records"][0]["body"] = json.dumps(envelope)

    response = handler(event, lambda_context)

    assert len(response["batchItemFailures"]) == 1
    [error] = [line for line in logs() if line["level"] == "ERROR"]
    assert error["error_type"] == "ValidationError"
    assert error["reference"] == envelope["reference"]
    assert "reason" not in error
    everything = json.dumps(logs())
    for secret in ("jean.martin@example.net", "Jean Martin", "garantie", "+33698765432"):
        assert secret not in everything
    assert _metrics(capsys.readouterr().out) == {"FailedRecords": 1}


def test_a_database_fault_is_logged_with_its_aws_error_code(aws, lambda_context, logs, monkeypatch):
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call

    def throttled(self, operation, params):
        if operation == "TransactWriteItems":
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                operation,
            )
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", throttled)
    response = handler(load_event("inbound_processor/form_record"), lambda_context)

    assert len(response["batchItemFailures"]) == 1
    [error] = [line for line in logs() if line["level"] == "ERROR"]
    assert error["error_type"] == "ClientError"
    assert error["error_code"] == "ProvisionedThroughputExceededException"
    assert error["channel"] == "web_form"
