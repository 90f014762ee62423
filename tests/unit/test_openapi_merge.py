"""Merging the functions' OpenAPI documents: a contract published twice differently fails loudly."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.openapi import OpenApiConflict, merge


def _document(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas or {}}}


OK = {"responses": {"200": {"description": "ok"}}}
TICKET = {"type": "object", "properties": {"id": {"type": "string"}}}


def test_paths_and_components_of_every_function_in_one_document() -> None:
    merged = merge(
        [
            ("agent_api", _document({"/api/tickets": {"get": OK}}, {"Ticket": TICKET})),
            (
                "replies_api",
                _document({"/api/tickets": {"post": OK}, "/webhooks/x": {"post": OK}}, {"Ticket": TICKET}),
            ),
        ]
    )
    assert merged["paths"] == {"/api/tickets": {"get": OK, "post": OK}}  # /api/ only
    assert merged["components"]["schemas"] == {"Ticket": TICKET}  # the same model, kept once
    assert merged["openapi"] == "3.1.0" and merged["security"] == [{"bearer": []}]


def test_the_same_operation_in_two_functions_is_refused() -> None:
    with pytest.raises(OpenApiConflict, match="GET /api/tickets is in agent_api and in admin_api"):
        merge(
            [
                ("agent_api", _document({"/api/tickets": {"get": OK}})),
                ("admin_api", _document({"/api/tickets": {"get": OK}})),
            ]
        )


def test_one_component_name_with_two_schemas_is_refused() -> None:
    other = {"type": "object", "properties": {"reference": {"type": "integer"}}}
    with pytest.raises(
        OpenApiConflict, match=r"components\.schemas\.Ticket differs between agent_api and orders_api"
    ):
        merge(
            [
                ("agent_api", _document({"/api/a": {"get": OK}}, {"Ticket": TICKET})),
                ("orders_api", _document({"/api/b": {"get": OK}}, {"Ticket": other})),
            ]
        )
