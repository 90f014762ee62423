"""The team configuration over HTTP on the local stack: who may read and edit it, versions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Reply, Stack

pytestmark = pytest.mark.e2e


def _call(stack: Stack, method: str, path: str, role: str | None, body: Any = None) -> Reply:
    headers = {"content-type": "application/json"}
    if role is not None:
        headers["Authorization"] = f"Bearer {stack.token(role)}"
    data = json.dumps(body).encode() if body is not None else None
    return stack.request(method, path, body=data, headers=headers)


def test_without_a_token_401_as_an_agent_403(stack: Stack) -> None:
    assert _call(stack, "GET", "/api/admin/sla-policies", None).status == 401
    assert _call(stack, "GET", "/api/admin/sla-policies", "agent").status == 403
    reply = _call(stack, "GET", "/api/admin/sla-policies", "admin")
    assert reply.status == 200
    assert set(reply.json()["policy"]["targets"]) == {"urgent", "high", "normal", "low"}


def test_a_supervisor_sets_the_threshold_quoting_the_version_read(stack: Stack) -> None:
    path = "/api/admin/routing"
    read = _call(stack, "GET", path, "supervisor").json()
    # The default value: other tests of this session keep the behaviour they expect.
    saved = _call(
        stack, "PUT", path, "supervisor", {"version": read["version"], "policy": {"backup_threshold": 20}}
    )
    assert saved.status == 200, saved.body
    assert saved.json()["version"] == read["version"] + 1

    stale = _call(
        stack, "PUT", path, "supervisor", {"version": read["version"], "policy": {"backup_threshold": 20}}
    )
    assert stale.status == 409
    bad = _call(stack, "PUT", path, "supervisor", {"version": 0, "policy": {"backup_threshold": "many"}})
    assert bad.status == 422
    assert "backup_threshold" in bad.json()["message"]
    reset = _call(stack, "DELETE", f"{path}?version={saved.json()['version']}", "admin")
    assert reset.status == 200
    assert reset.json()["is_default"] is True
