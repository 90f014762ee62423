"""The HTTP API: one route per registry Route, the right authorizer, logs and throttling."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from infra import registry
from infra.registry import Route
from tests.infra.template import Synthesized, references

ROUTES = registry.all_routes()


def _route(synth: Synthesized, route: Route) -> dict[str, Any]:
    (found,) = [
        res["Properties"]
        for res in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if res["Properties"]["RouteKey"] == f"{route.method} {route.path}"
    ]
    return found


def _pool_spec(auth: str) -> registry.UserPoolSpec:
    (spec,) = [pool for pool in registry.USER_POOLS if pool.authorizes == auth]
    return spec


def assert_jwt_authorizer_trusts(synth: Synthesized, authorizer: dict[str, Any], pool: str) -> None:
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    jwt = authorizer["JwtConfiguration"]
    assert jwt["Issuer"] == {
        "Fn::Join": [
            "",
            [
                "https://cognito-idp.",
                {"Ref": "AWS::Region"},
                ".amazonaws.com/",
                {"Ref": synth.id_of(f"userpool:{pool}")},
            ],
        ]
    }
    client_id = synth.stack.resolve(synth.stack.auth.clients[pool].user_pool_client_id)
    assert jwt["Audience"] == [client_id]


def test_routes_are_exactly_the_registry_routes(synth: Synthesized) -> None:
    keys = {res["Properties"]["RouteKey"] for res in synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert keys == {f"{route.method} {route.path}" for route, _ in ROUTES}


@pytest.mark.parametrize(("route", "spec"), ROUTES, ids=[f"{r.method} {r.path}" for r, _ in ROUTES])
def test_route_integration_and_authorizer(
    synth: Synthesized, route: Route, spec: registry.FunctionSpec
) -> None:
    props = _route(synth, route)
    (integration_id,) = references(props["Target"])
    integration = synth.resources[integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert references(integration["IntegrationUri"]) == {synth.function_id(spec.name)}
    if route.auth == "none":
        assert props["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in props
    else:
        assert props["AuthorizationType"] == "JWT"
        (authorizer_id,) = references(props["AuthorizerId"])
        authorizer = synth.resources[authorizer_id]["Properties"]
        assert_jwt_authorizer_trusts(synth, authorizer, _pool_spec(route.auth).name)


def test_default_stage_logs_and_throttles(synth: Synthesized) -> None:
    (stage,) = [res["Properties"] for res in synth.of_type("AWS::ApiGatewayV2::Stage").values()]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    (log_group,) = references(stage["AccessLogSettings"]["DestinationArn"])
    assert synth.resources[log_group]["Properties"]["RetentionInDays"] > 0
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0


def test_customer_routes_get_the_customers_pool_authorizer(
    monkeypatch: pytest.MonkeyPatch, artifacts: tuple[Any, Any]
) -> None:
    """No registry route uses auth="customer" yet: add one and check its authorizer."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.app import cdk_context
    from infra.stack import GuichetStack

    probe = replace(
        registry.function("health"),
        name="customer_probe",
        routes=(Route("GET", "/me/tickets", auth="customer"),),
    )
    monkeypatch.setattr(registry, "FUNCTIONS", (*registry.FUNCTIONS, probe))
    code_dir, layer_dir = artifacts
    stack = GuichetStack(App(context=cdk_context()), "Probe", code_dir=code_dir, layer_dir=layer_dir)
    probed = Synthesized(stack=stack, template=Template.from_stack(stack).to_json())

    props = _route(probed, probe.routes[0])
    (authorizer_id,) = references(props["AuthorizerId"])
    customer_pool = _pool_spec("customer").name
    assert_jwt_authorizer_trusts(probed, probed.resources[authorizer_id]["Properties"], customer_pool)
    staff_routes = [route for route, _ in registry.all_routes() if route.auth == "staff"]
    for route in staff_routes:
        assert references(_route(probed, route)["AuthorizerId"]) != {authorizer_id}
