"""The local stack over HTTP, as a developer (or the front end) uses it."""

from __future__ import annotations

import base64
import importlib.util
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from infra import registry
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

UNAUTHORIZED = {"message": "Unauthorized"}


def _handler_exists(function: str) -> bool:
    return importlib.util.find_spec(registry.function(function).module) is not None


def test_health_reports_versions(stack: Stack) -> None:
    reply = stack.get("/health")
    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "ok"
    assert {"python", "boto3", "moto"} <= set(body["versions"])
    assert reply.headers["apigw-requestid"]


def test_unknown_route_is_404_json(stack: Stack) -> None:
    reply = stack.get("/no/such/route")
    assert reply.status == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"message": "Not Found"}


def test_wrong_method_on_known_path_is_405(stack: Stack) -> None:
    reply = stack.request("DELETE", "/health")
    assert reply.status == 405
    assert reply.json() == {"message": "Method Not Allowed"}
    assert reply.headers["allow"] == "GET"


def test_staff_route_without_token_is_401(stack: Stack) -> None:
    reply = stack.get("/api/tickets")
    assert reply.status == 401
    assert reply.json() == UNAUTHORIZED
    assert "the token is missing" in reply.headers["www-authenticate"]


@pytest.mark.parametrize("value", ["Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer "])
def test_staff_route_with_garbage_token_is_401(stack: Stack, value: str) -> None:
    reply = stack.get("/api/tickets", headers={"Authorization": value})
    assert reply.status == 401
    assert reply.json() == UNAUTHORIZED


def test_tampered_token_is_401(stack: Stack) -> None:
    header, payload, signature = stack.token("agent").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    reply = stack.get("/api/tickets", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"})
    assert reply.status == 401
    assert "signature" in reply.headers["www-authenticate"]


def test_customer_token_is_refused_on_staff_routes(stack: Stack) -> None:
    reply = stack.get("/api/tickets", headers={"Authorization": f"Bearer {stack.token('customer')}"})
    assert reply.status == 401  # another pool: wrong issuer, as the deployed authorizer decides


def test_staff_token_passes_the_authorizer(stack: Stack) -> None:
    reply = stack.get("/api/tickets", headers={"Authorization": f"Bearer {stack.token('agent')}"})
    assert reply.status != 401, reply.body
    if not _handler_exists("agent_api"):
        pytest.skip("functions/agent_api/handler.py does not exist yet: only the authorizer was checked")
    assert reply.status == 200, reply.body
    assert "items" in reply.json()


def test_token_without_bearer_prefix_is_accepted(stack: Stack) -> None:
    """API Gateway takes the identity source with or without ``Bearer``."""
    reply = stack.get("/api/tickets", headers={"Authorization": stack.token("supervisor")})
    assert reply.status != 401


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin", "customer"])
def test_local_token_for_each_role(stack: Stack, role: str) -> None:
    reply = stack.get(f"/local/token?role={role}")
    assert reply.status == 200
    token = reply.json()["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["token_use"] == "id"
    assert claims["email"] == f"{role}@guichet.local"
    if role != "customer":
        assert claims["cognito:groups"] == [role]
    else:
        assert "cognito:groups" not in claims


def test_local_token_unknown_role_is_404(stack: Stack) -> None:
    reply = stack.get("/local/token?role=pirate")
    assert reply.status == 404


def test_outbox_is_a_json_list(stack: Stack) -> None:
    reply = stack.get("/local/outbox")
    assert reply.status == 200
    assert isinstance(reply.json(), list)


def test_provider_fake_records_the_call_in_the_outbox(stack: Stack) -> None:
    marker = uuid.uuid4().hex
    form = urlencode({"To": "+33612345678", "From": "+33100000000", "Body": marker}).encode()
    reply = stack.post(
        "/local/providers/twilio/2010-04-01/Accounts/AC0123/Messages.json",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(b"AC0123:secret").decode(),
        },
    )
    assert reply.status == 201
    assert reply.json()["sid"].startswith("SM")
    whatsapp = {"messaging_product": "whatsapp", "to": "33612345678", "text": {"body": marker}}
    meta = stack.post(
        "/local/providers/meta/v21.0/1234/messages",
        body=json.dumps(whatsapp).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert meta.json()["messages"][0]["id"].startswith("wamid.")
    outbox = stack.get("/local/outbox").json()
    mine = [e for e in outbox if e["kind"] == "provider" and marker in json.dumps(e["body"])]
    assert [e["provider"] for e in mine] == ["meta", "twilio"]  # newest first
    assert "authorization" not in mine[1]["headers"]
    assert mine[1]["body"]["To"] == "+33612345678"


def test_firing_an_unknown_schedule_is_404(stack: Stack) -> None:
    reply = stack.post("/local/schedules/no-such-schedule/fire")
    assert reply.status == 404
    assert "no-such-schedule" in reply.json()["message"]


@pytest.mark.parametrize("schedule", [s.name for s, _ in registry.all_schedules()])
def test_each_declared_schedule_can_be_fired(stack: Stack, schedule: str) -> None:
    reply = stack.post(f"/local/schedules/{schedule}/fire")
    assert reply.status == 200, reply.body
    assert reply.json()["error"] is None


def test_queues_lists_each_queue_and_its_dlq(stack: Stack) -> None:
    counts = stack.get("/local/queues").json()
    for queue in registry.QUEUES:
        assert {"visible", "inFlight", "delayed"} <= set(counts[queue.name])
        assert f"{queue.name}-dlq" in counts


def test_the_local_functions_declare_the_runtime_lambda_runs(aws: Callable[[str], Any]) -> None:
    """One Python version (pyproject.toml): moto's function records say what AWS will run."""
    from infra import build

    lam = aws("lambda")
    runtimes = {
        lam.get_function(FunctionName=spec.name)["Configuration"]["Runtime"] for spec in registry.FUNCTIONS
    }
    assert runtimes == {build.LAMBDA_RUNTIME}
