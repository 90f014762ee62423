"""The HTTP API: one route per registry Route, the right authorizer, logs and throttling."""

from __future__ import annotations

from typing import Any

import pytest

from infra import registry
from infra.registry import Route
from tests.infra.probe import PROBE
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


def test_customer_routes_get_the_customers_pool_authorizer(probe: Synthesized) -> None:
    """No registry route uses auth="customer" yet: the probe stack adds one."""
    (route,) = PROBE.routes
    props = _route(probe, route)
    assert props["AuthorizationType"] == "JWT"
    (authorizer_id,) = references(props["AuthorizerId"])
    authorizer = probe.resources[authorizer_id]["Properties"]
    assert_jwt_authorizer_trusts(probe, authorizer, _pool_spec("customer").name)
    for staff_route in [route for route, _ in registry.all_routes() if route.auth == "staff"]:
        assert references(_route(probe, staff_route)["AuthorizerId"]) != {authorizer_id}


PROVIDER_WEBHOOK_ROUTES = {
    "meta_webhook": {
        f"{method} /webhooks/{channel}"
        for channel in ("whatsapp", "messenger", "instagram")
        for method in ("GET", "POST")  # GET: Meta's subscription handshake
    },
    "twilio_webhook": {f"POST /webhooks/twilio/{kind}" for kind in ("sms", "status", "voice")},
}


@pytest.mark.parametrize("name", sorted(PROVIDER_WEBHOOK_ROUTES))
def test_provider_webhook_routes_are_public_and_reach_their_function(synth: Synthesized, name: str) -> None:
    """The providers sign their requests (checked by the handler): no authorizer."""
    routes = {
        res["Properties"]["RouteKey"]: res["Properties"]
        for res in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if res["Properties"]["RouteKey"] in PROVIDER_WEBHOOK_ROUTES[name]
    }
    assert set(routes) == PROVIDER_WEBHOOK_ROUTES[name]
    for props in routes.values():
        assert props["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in props
        (integration_id,) = references(props["Target"])
        integration = synth.resources[integration_id]["Properties"]
        assert references(integration["IntegrationUri"]) == {synth.function_id(name)}
