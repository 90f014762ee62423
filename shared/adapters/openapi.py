"""One OpenAPI 3.1 document for the whole ``/api/*`` surface, served by agent_api.

Several functions serve ``/api/*`` routes, each with its own Powertools resolver (``app``) and
so its own generated document. ``merged_document`` imports each of them when the document is
asked for (never at import time: agent_api's cold start does not pay for the others' imports),
asks each resolver for its document and merges them: paths under ``/api/`` and components.
The same path and method in two functions, or one component name with two different schemas,
is a mistake that would publish a wrong contract: ``OpenApiConflict`` says which.

``API_HANDLERS`` names the modules: the Lambda code asset holds ``shared`` and ``functions``
but not ``infra`` (infra/build.py), so the registry cannot be read at run time.
tests/integration/test_openapi.py checks that this list is exactly the registry's functions
with ``/api/`` routes, and that the document lists exactly the routes the registry declares.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import openapi as powertools_openapi
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

API_HANDLERS: tuple[str, ...] = (
    "functions.agent_api.handler",
    "functions.admin_api.handler",
    "functions.portal_api.handler",
    "functions.orders_api.handler",
    "functions.order_workflow_api.handler",
    "functions.replies_api.handler",
)
PREFIX = "/api/"
TITLE = "Guichet API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Every /api/* route of Guichet, whichever function serves it: the agent workspace, replies "
    "and canned responses, orders and the order workflow, administration, and the customer space "
    "(/api/portal/*). Each call needs a bearer JWT: the staff pool's (agents, supervisors, "
    "admins) or, under /api/portal/, the customer pool's. Errors are JSON with a message."
)
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class OpenApiConflict(RuntimeError):
    """Two functions document the same operation, or one component name differently."""


def function_document(module: str, title: str = TITLE, version: str = VERSION) -> dict[str, Any]:
    """The document Powertools generates for one function's resolver (imported now)."""
    resolver = importlib.import_module(module).app
    document: dict[str, Any] = json.loads(resolver.get_openapi_json_schema(title=title, version=version))
    return document


def merged_document(modules: Iterable[str] = API_HANDLERS) -> dict[str, Any]:
    """One document from every function's (see the module docstring)."""
    return merge([(module, function_document(module)) for module in modules])


def merge(documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Paths under ``/api/`` and components of ``(source, document)`` pairs, in one document.
    Raises ``OpenApiConflict`` for a path and method, or a component name, defined twice
    differently (the same component in two documents, e.g. a shared model, is kept once)."""
    paths: dict[str, dict[str, Any]] = {}
    owners: dict[tuple[str, str], str] = {}
    components: dict[str, dict[str, Any]] = {}
    component_owners: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for source, document in documents:
        for path, item in document.get("paths", {}).items():
            if not path.startswith(PREFIX):
                continue
            target = paths.setdefault(path, {})
            for key, value in item.items():  # operations, and path-level fields (parameters)
                if (path, key) in owners and (key in METHODS or target[key] != value):
                    what = f"{key.upper()} {path}" if key in METHODS else f"{path} {key!r}"
                    problems.append(f"{what} is in {owners[path, key]} and in {source}")
                    continue
                owners.setdefault((path, key), source)
                target[key] = value
        for kind, named in document.get("components", {}).items():
            merged = components.setdefault(kind, {})
            for name, schema in named.items():
                if name in merged and merged[name] != schema:
                    first = component_owners[kind, name]
                    problems.append(f"components.{kind}.{name} differs between {first} and {source}")
                    continue
                merged[name] = schema
                component_owners.setdefault((kind, name), source)
    if problems:
        raise OpenApiConflict("the /api/* documents do not merge: " + "; ".join(problems))
    components.setdefault("securitySchemes", {})["bearer"] = BEARER
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {kind: dict(sorted(named.items())) for kind, named in sorted(components.items())},
        "security": [{"bearer": []}],
    }


def swagger_page(document_json: str) -> str:
    """Swagger UI (the copy Powertools bundles, inlined: no CDN) showing ``document_json``."""
    assets = Path(powertools_openapi.__file__).parent / "swagger_ui"
    return generate_swagger_html(
        document_json.replace("</", "<\\/"),  # the spec sits inside a <script>
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
