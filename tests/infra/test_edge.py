"""One flood cannot starve the rest (issue 15 #6): a throttle per API route, a WAF web ACL with
rate rules on the CloudFront distribution in front of the API, and a ceiling on the queue
consumers' concurrency."""

from __future__ import annotations

from typing import Any

from infra import registry
from infra.constructs.edge import WAF_WINDOW_S, WEB_ACL_PARAMETER, path_prefixes
from tests.infra.template import Synthesized, references


def _stage(synth: Synthesized) -> dict[str, Any]:
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    return stage


def test_every_route_has_the_throttle_of_its_callers(synth: Synthesized) -> None:
    settings = _stage(synth)["Properties"]["RouteSettings"]
    assert set(settings) == {route.key for route, _ in registry.all_routes()}
    for route, _ in registry.all_routes():
        throttle = registry.THROTTLES[route.who]
        assert settings[route.key] == {
            "ThrottlingRateLimit": throttle.rate,
            "ThrottlingBurstLimit": throttle.burst,
        }, route.key


def test_the_anonymous_form_is_throttled_apart_from_providers_and_agents(synth: Synthesized) -> None:
    settings = _stage(synth)["Properties"]["RouteSettings"]
    form = settings["POST /webhooks/form"]["ThrottlingRateLimit"]
    assert form < settings["POST /webhooks/whatsapp"]["ThrottlingRateLimit"]
    assert form < settings["GET /api/tickets"]["ThrottlingRateLimit"]
    assert registry.Route("POST", "/webhooks/twilio/sms", caller="provider").who == "provider"
    assert registry.Route("GET", "/survey/{token}").who == "anonymous"


def test_the_stage_waits_for_the_routes_its_settings_name(synth: Synthesized) -> None:
    stage_id = next(iter(synth.of_type("AWS::ApiGatewayV2::Stage")))
    depends = set(synth.resources[stage_id].get("DependsOn", []))
    routes = set(synth.of_type("AWS::ApiGatewayV2::Route"))
    assert routes <= depends


def _web_acl(synth: Synthesized) -> dict[str, Any]:
    assert synth.edge_template is not None
    (acl,) = (r for r in synth.edge_template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL")
    return acl["Properties"]


def _prefixes(statement: dict[str, Any]) -> list[str]:
    if "OrStatement" in statement:
        return sorted(p for s in statement["OrStatement"]["Statements"] for p in _prefixes(s))
    match = statement["ByteMatchStatement"]
    assert match["PositionalConstraint"] == "STARTS_WITH"
    assert match["FieldToMatch"] == {"UriPath": {}}
    return [match["SearchString"]]


def test_the_web_acl_rate_limits_the_anonymous_routes_per_address(synth: Synthesized) -> None:
    acl = _web_acl(synth)
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    anonymous = rules["anonymous-routes-per-ip"]
    rate = anonymous["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == registry.WAF_RATE_LIMITS["anonymous"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["EvaluationWindowSec"] == WAF_WINDOW_S
    assert _prefixes(rate["ScopeDownStatement"]) == ["/health", "/survey/", "/webhooks/form"]
    assert anonymous["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}


def test_the_web_acl_limits_every_address_except_on_the_signed_provider_webhooks(synth: Synthesized) -> None:
    rules = {rule["Name"]: rule for rule in _web_acl(synth)["Rules"]}
    rate = rules["api-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == registry.WAF_RATE_LIMITS["api"]
    excluded = _prefixes(rate["ScopeDownStatement"]["NotStatement"]["Statement"])
    assert excluded == path_prefixes("provider")
    assert "/webhooks/whatsapp" in excluded and "/webhooks/twilio/sms" in excluded
    assert "/webhooks/form" not in excluded


def test_the_web_acl_uses_the_reputation_and_bad_input_lists(synth: Synthesized) -> None:
    managed = [
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in _web_acl(synth)["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    ]
    assert managed == ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"]
    outputs = synth.edge_template["Outputs"]  # type: ignore[index]
    assert "WebAclArn" in outputs


def test_the_distribution_fronts_the_api_with_the_web_acl_and_caches_nothing(synth: Synthesized) -> None:
    (distribution,) = synth.of_type("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Ref": WEB_ACL_PARAMETER}
    parameter = synth.template["Parameters"][WEB_ACL_PARAMETER]
    assert parameter["AllowedPattern"].startswith("^arn:aws:wafv2:us-east-1:")
    (origin,) = config["Origins"]
    assert references(origin["DomainName"]) == {synth.id_of("api")}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behavior = config["DefaultCacheBehavior"]
    assert behavior["AllowedMethods"] == ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    # AllViewerExceptHostHeader: the HTTP API answers to its own Host name.
    assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    assert behavior["ViewerProtocolPolicy"] == "https-only"


def test_the_queue_consumers_cannot_take_all_the_concurrency(synth: Synthesized) -> None:
    consumers = [spec for spec in registry.FUNCTIONS if spec.consumes]
    assert consumers
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    for spec in consumers:
        assert spec.max_concurrency is not None and 2 <= spec.max_concurrency <= 100, spec.name
        (mapping,) = [
            m
            for m in mappings
            if references(m["Properties"]["FunctionName"]) == {synth.function_id(spec.name)}
        ]
        assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": spec.max_concurrency}
