"""admin_api: the team configuration's function reaches the table and nothing else, and each of
its routes is behind the staff pool's JWT authorizer (401 without a token, before it runs)."""

from __future__ import annotations

from infra import registry
from tests.infra.template import Synthesized, as_list, references

ADMIN = registry.function("admin_api")


def test_admin_api_reaches_the_table_and_nothing_else(synth: Synthesized) -> None:
    statements = list(synth.statements("admin_api"))
    actions = {str(a) for s in statements for a in as_list(s["Action"])}
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= actions
    assert not [
        a for a in actions if a.startswith(("sqs:", "s3:", "sns:", "states:", "secretsmanager:", "ses:"))
    ]
    on_data = [s for s in statements if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))]
    targets = {t for s in on_data for r in as_list(s["Resource"]) if r != "*" for t in references(r)}
    assert targets == {synth.id_of("table")}


def test_every_admin_route_needs_a_staff_token(synth: Synthesized) -> None:
    keys = {f"{route.method} {route.path}" for route in ADMIN.routes}
    routes = [
        res["Properties"]
        for res in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if res["Properties"]["RouteKey"] in keys
    ]
    assert len(routes) == len(keys) == 13
    assert {props["AuthorizationType"] for props in routes} == {"JWT"}
