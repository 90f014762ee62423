"""Orders and commerce in the synthesized stack: public signed webhooks, the cart sweeper's rule."""

from __future__ import annotations

from infra import registry
from tests.infra.template import Synthesized, references


def test_commerce_webhook_routes_are_public_and_reach_their_function(synth: Synthesized) -> None:
    """Shopify and WooCommerce sign their deliveries (checked by the handler): no authorizer."""
    wanted = {"POST /webhooks/shopify", "POST /webhooks/woocommerce"}
    routes = {
        res["Properties"]["RouteKey"]: res["Properties"]
        for res in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if res["Properties"]["RouteKey"] in wanted
    }
    assert set(routes) == wanted
    for props in routes.values():
        assert props["AuthorizationType"] == "NONE" and "AuthorizerId" not in props
        (integration_id,) = references(props["Target"])
        integration = synth.resources[integration_id]["Properties"]
        assert references(integration["IntegrationUri"]) == {synth.function_id("commerce_webhook")}


def test_the_abandoned_cart_sweeper_runs_every_15_minutes(synth: Synthesized) -> None:
    (schedule,) = registry.function("abandoned_carts").schedules
    rules = [
        res["Properties"]
        for res in synth.of_type("AWS::Events::Rule").values()
        if res["Properties"].get("ScheduleExpression") == schedule.expression
    ]
    (rule,) = [r for r in rules if r["Description"] == schedule.description]
    assert schedule.expression == "rate(15 minutes)" and rule["State"] == "ENABLED"
    assert [references(target["Arn"]) for target in rule["Targets"]] == [
        {synth.function_id("abandoned_carts")}
    ]
    env = synth.function("abandoned_carts")["Environment"]["Variables"]
    assert env["ABANDONED_CART_MINUTES"] == "60"
