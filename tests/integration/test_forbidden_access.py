"""Every staff route of every /api/* function, from the registry, refuses a signed-in user who
has no staff role (403, JSON message) before reading or parsing anything; the customer-space
routes refuse a staff token that is not a customer's (401/403 are answered by API Gateway's
authorizers for a missing or foreign token: tests/infra/test_api.py checks each route has one).
"""

from __future__ import annotations

import importlib
import json
import re

import pytest

from infra import registry
from tests.support import LambdaContext, api_event

STAFF_ROUTES = [
    (spec.handler.rsplit(".", 1)[0], route.method, route.path)
    for spec in registry.FUNCTIONS
    for route in spec.routes
    if route.auth == "staff" and route.path.startswith("/api/")
]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "K7M3Q9XA", path)


@pytest.mark.parametrize(
    ("module", "method", "path"), STAFF_ROUTES, ids=[f"{m} {p}" for _, m, p in STAFF_ROUTES]
)
def test_a_user_without_a_staff_role_is_refused_on_every_staff_route(aws, module, method, path):
    handler = importlib.import_module(module).handler
    event = api_event(
        "agent_api/get_ticket",
        method,
        _concrete(path),
        body={"anything": "at all"} if method in ("POST", "PUT", "PATCH") else None,
        claims={"cognito:groups": "[]", "sub": "someone-signed-in"},
    )

    response = handler(event, LambdaContext())

    assert response["statusCode"] == 403, (method, path, response.get("body"))
    assert "role" in json.loads(response["body"])["message"]


def test_there_are_staff_routes_in_every_api_function():
    modules = {module for module, _, _ in STAFF_ROUTES}
    assert {
        "functions.agent_api.handler",
        "functions.replies_api.handler",
        "functions.admin_api.handler",
        "functions.orders_api.handler",
        "functions.order_workflow_api.handler",
    } <= modules
