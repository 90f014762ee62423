"""The workflow's outbound adapters: the provisioning HTTP client against a local server, SES and
SNS on moto (what a provider refusal becomes), Step Functions answers to a finished execution."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from shared.adapters.aws.notify import AwsNotifier
from shared.adapters.aws.stepfunctions import StepFunctionsEngine
from shared.adapters.provisioning import FakeProvisioning, HttpProvisioning, provisioning_for
from shared.domain.catalog import Product
from shared.domain.errors import Conflict
from shared.domain.order import Order, OrderLine, OrderSource
from shared.domain.workflow import ProvisioningRejected, TransientError
from shared.services.order_alerts import DeliveryRejected

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ROUTER = Product(sku="ROUTER", title="Routeur", unit_price=Decimal("149.90"), stock_tracked=True)
ORDER = Order(
    id="O1",
    number="CMD-1",
    source=OrderSource.portal,
    lines=[
        OrderLine(id="L1", sku="FIBRE", title="Fibre", quantity=1, unit_price=Decimal("99"), is_service=True),
        OrderLine(id="L2", sku="ROUTER", title="Routeur", quantity=2, unit_price=Decimal("149.90")),
    ],
    created_at=NOW,
    updated_at=NOW,
)


class _Provisioning(BaseHTTPRequestHandler):
    script: list[tuple[int, Any, float]] = []  # (status, body, delay before answering)
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Provisioning.seen.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
        )
        status, body, delay = _Provisioning.script.pop(0)
        if delay:
            threading.Event().wait(delay)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # the read-timeout case: the client hung up before the late answer


@pytest.fixture
def server() -> Iterator[str]:
    _Provisioning.script, _Provisioning.seen = [], []
    httpd = _Server(("127.0.0.1", 0), _Provisioning)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_declares_the_order_with_an_idempotency_key_and_reads_serials(server: str) -> None:
    _Provisioning.script = [
        (201, {"reference": "PRV-9", "lines": [{"line_id": "L2", "serial_numbers": ["S1", "S2"]}]}, 0)
    ]
    result = HttpProvisioning(server, timeout_s=2).declare(ORDER, {"ROUTER": ROUTER})
    assert result.reference == "PRV-9" and result.serial_numbers == {"L2": ["S1", "S2"]}
    (request,) = _Provisioning.seen
    assert request["path"] == "/v1/orders"
    assert request["headers"]["Idempotency-Key"] == "O1"
    assert request["body"]["lines"] == [
        {"line_id": "L1", "sku": "FIBRE", "quantity": 1, "hardware": False},
        {"line_id": "L2", "sku": "ROUTER", "quantity": 2, "hardware": True},
    ]


@pytest.mark.parametrize(
    ("status", "body", "delay", "error"),
    [
        (503, {"error": "busy"}, 0, TransientError),
        (429, {"error": "slow down"}, 0, TransientError),
        (422, {"error": "unknown sku"}, 0, ProvisioningRejected),
        (200, b"<html>not json", 0, TransientError),
        (200, {"no": "reference"}, 0, TransientError),
        (200, {"reference": "late"}, 1.5, TransientError),  # read timeout
    ],
)
def test_errors_are_transient_or_rejected(
    server: str, status: int, body: Any, delay: float, error: type[Exception]
) -> None:
    _Provisioning.script = [(status, body, delay)]
    with pytest.raises(error):
        HttpProvisioning(server, timeout_s=0.5).declare(ORDER, {"ROUTER": ROUTER})


def test_an_unreachable_system_is_transient() -> None:
    with pytest.raises(TransientError):
        HttpProvisioning("http://127.0.0.1:9/v1", timeout_s=0.5).declare(ORDER, {})


def test_the_fake_links_service_lines_to_the_hardware_serials() -> None:
    fake = provisioning_for("fake:")
    assert isinstance(fake, FakeProvisioning)
    result = fake.declare(ORDER, {"ROUTER": ROUTER})
    assert len(result.serial_numbers["L2"]) == 2
    assert result.serial_numbers["L1"] == result.serial_numbers["L2"]
    assert fake.declare(ORDER, {"ROUTER": ROUTER}) == result  # deterministic, like the real one
    with pytest.raises(ValueError):
        HttpProvisioning("file:///etc/passwd")


def test_ses_refusing_the_sender_is_a_permanent_rejection(aws) -> None:
    ses, sns = boto3.client("ses"), boto3.client("sns")
    notifier = AwsNotifier(ses, sns, "orders@unverified.example")
    with pytest.raises(DeliveryRejected):
        notifier.send_email("alice@example.com", "s", "t", "<p>t</p>")
    ses.verify_domain_identity(Domain="verified.example")
    ok = AwsNotifier(ses, sns, "orders@verified.example", sms_sender_id="Guichet")
    assert ok.send_email("alice@example.com", "s", "t", "<p>t</p>")
    assert ok.send_sms("+33612345678", "Commande CMD-1 recue.")


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_answering_a_finished_wait_is_a_conflict(code: str) -> None:
    """moto accepts any token; AWS answers these codes when the wait is over (timed out, already
    answered): the API then says 409, it does not retry."""
    from botocore.stub import Stubber

    sfn = boto3.client("stepfunctions", region_name="eu-west-3")
    engine = StepFunctionsEngine(sfn, "arn:aws:states:eu-west-3:123456789012:stateMachine:m")
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_success", service_error_code=code)
        with pytest.raises(Conflict):
            engine.send_success("token", {"passed": True})
        stub.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists")
        assert engine.start("O1", {"order_id": "O1"}) is False
        stub.add_response("start_execution", {"executionArn": "arn:x", "startDate": NOW})
        assert engine.start("O2", {"order_id": "O2"}) is True


def test_the_processor_installs_the_workflow_as_satisfaction_starter(aws, monkeypatch) -> None:
    from functions.inbound_processor import handler as processor
    from shared.adapters.aws.stepfunctions import SatisfactionViaWorkflow
    from shared.order_ports import RecordOnly, satisfaction_starter, use_satisfaction_starter

    try:
        processor._wire()
        assert isinstance(satisfaction_starter(), RecordOnly)  # no ARN: the request is only recorded
        monkeypatch.setattr(processor, "_wired", None)
        monkeypatch.setenv(
            "ORDER_WORKFLOW_ARN", "arn:aws:states:eu-west-3:123456789012:stateMachine:order_workflow"
        )
        processor._wire()
        assert isinstance(satisfaction_starter(), SatisfactionViaWorkflow)
    finally:
        use_satisfaction_starter(None)
