"""One OpenAPI 3.1 document for the whole /api/* surface, served by agent_api: valid, exactly the
routes the registry declares under /api/ (whichever function serves them), with Swagger UI."""

from __future__ import annotations

import json
import subprocess
import sys

from openapi_spec_validator import validate

from functions.agent_api.handler import handler
from infra import registry
from shared.adapters import openapi
from tests.support import ROOT, LambdaContext, api_event

SELF = {"/api/openapi.json", "/api/docs"}  # the document's own routes are not in it


def _get(path: str, query: str = "", groups: str = "[agent]") -> dict:
    event = api_event("agent_api/list_tickets", "GET", path, query=query, claims={"cognito:groups": groups})
    return handler(event, LambdaContext())


def _api_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for r, _ in registry.all_routes() if r.path.startswith("/api/")} - {
        ("GET", path) for path in SELF
    }


def test_the_document_merges_every_function_serving_api_routes() -> None:
    serving = {
        spec.module for spec in registry.FUNCTIONS if any(r.path.startswith("/api/") for r in spec.routes)
    }
    assert set(openapi.API_HANDLERS) == serving


def test_the_document_is_valid_and_lists_exactly_the_declared_api_routes(aws):
    response = _get("/api/openapi.json")

    assert response["statusCode"] == 200
    document = json.loads(response["body"])
    validate(document)
    assert document["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    declared = _api_routes()
    assert documented - declared == set(), "documented but not declared in infra/registry.py"
    assert declared - documented == set(), "declared in infra/registry.py but not documented"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # Models of other functions than agent_api are described too.
    assert {"ReplyDraft", "CannedResponse"} <= set(document["components"]["schemas"])


def test_swagger_ui_shows_the_merged_document(aws):
    response = _get("/api/docs")
    assert response["statusCode"] == 200
    assert "swagger" in response["body"].lower()
    assert "/api/tickets/{ticket_id}/replies" in response["body"]  # served by replies_api
    as_json = _get("/api/docs", query="format=json")
    assert json.loads(as_json["body"]) == json.loads(_get("/api/openapi.json")["body"])


def test_the_document_is_for_staff_only(aws):
    assert _get("/api/openapi.json", groups="[]")["statusCode"] == 403
    assert _get("/api/docs", groups="[]")["statusCode"] == 403


def test_agent_api_does_not_import_the_other_functions_until_the_document_is_asked_for():
    others = [m for m in openapi.API_HANDLERS if m != "functions.agent_api.handler"]
    code = f"import sys, functions.agent_api.handler; print([m for m in {others!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
