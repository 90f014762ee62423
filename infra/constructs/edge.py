"""AWS WAF in front of the HTTP API (issue 15 #6): a CloudFront distribution with a web ACL.

Why this design. An HTTP API cannot be associated with AWS WAF (REST APIs, ALBs, AppSync,
Cognito and CloudFront can). Two ways were weighed:
- a REST API for the public routes, with a regional web ACL: REST proxies Lambda with payload
  format 1.0, not the 2.0 events every handler parses, costs $3.50 per million requests instead
  of $1.00, and splits the public URL that Twilio and Meta sign;
- CloudFront in front of the unchanged HTTP API, with a CLOUDFRONT-scope web ACL. Chosen: one
  public URL (the distribution's, ``PUBLIC_BASE_URL`` unless ``publicBaseUrl`` is given), the
  handlers untouched, requests not cached (every method, header, query and body forwarded).
A CLOUDFRONT web ACL must be created in us-east-1: :class:`WebAcl` is the whole of
``GuichetEdgeStack`` (infra/edge_stack.py); ``GuichetStack`` takes its ARN as the
``EdgeWebAclArn`` parameter (README, Deploy).

The execute-api endpoint stays reachable directly: the per-route throttles of the API stage
(``registry.THROTTLES``) bound every route whichever way a request comes, so a flood that skips
CloudFront still cannot use up another route's capacity; the WAF adds per-address limits and
reputation lists for traffic through the public URL.

To serve the console from the same distribution (issue 10's S3 + CloudFront construct), add
:meth:`ApiEdge.behaviors` to that distribution and give it this web ACL: one URL, one ACL.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnParameter, Duration, Fn
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_wafv2 as waf
from constructs import Construct

from infra import registry
from infra.constructs.resources import acknowledge

WEB_ACL_PARAMETER = "EdgeWebAclArn"
WAF_WINDOW_S = 300  # the rate rules count requests per address over 5 minutes


def path_prefixes(caller: registry.Caller) -> list[str]:
    """The registry routes of a caller as path prefixes (``/survey/{token}`` -> ``/survey/``)."""
    prefixes = {route.path.split("{", 1)[0] for route, _ in registry.all_routes() if route.who == caller}
    return sorted(prefixes)


def _visibility(name: str) -> waf.CfnWebACL.VisibilityConfigProperty:
    return waf.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _starts_with(prefix: str) -> waf.CfnWebACL.StatementProperty:
    return waf.CfnWebACL.StatementProperty(
        byte_match_statement=waf.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=waf.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=prefix,
            text_transformations=[waf.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _any_of(statements: list[waf.CfnWebACL.StatementProperty]) -> waf.CfnWebACL.StatementProperty:
    if len(statements) == 1:
        return statements[0]
    either = waf.CfnWebACL.OrStatementProperty(statements=statements)
    return waf.CfnWebACL.StatementProperty(or_statement=either)


def _rate_rule(
    name: str, priority: int, limit: int, scope: waf.CfnWebACL.StatementProperty
) -> waf.CfnWebACL.RuleProperty:
    """Blocks an address past ``limit`` requests per 5 minutes with 429 Too Many Requests."""
    return waf.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=waf.CfnWebACL.RuleActionProperty(
            block=waf.CfnWebACL.BlockActionProperty(
                custom_response=waf.CfnWebACL.CustomResponseProperty(response_code=429)
            )
        ),
        statement=waf.CfnWebACL.StatementProperty(
            rate_based_statement=waf.CfnWebACL.RateBasedStatementProperty(
                limit=limit,
                aggregate_key_type="IP",
                evaluation_window_sec=WAF_WINDOW_S,
                scope_down_statement=scope,
            )
        ),
        visibility_config=_visibility(name),
    )


def _managed_rule(name: str, priority: int) -> waf.CfnWebACL.RuleProperty:
    return waf.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=waf.CfnWebACL.OverrideActionProperty(none={}),
        statement=waf.CfnWebACL.StatementProperty(
            managed_rule_group_statement=waf.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=_visibility(name),
    )


class WebAcl(Construct):
    """The web ACL of the distribution (CLOUDFRONT scope: deploy it in us-east-1).

    Rules, in order: Amazon's IP reputation list; per-address rate limits on the anonymous routes
    (the form, survey links, /health) and on everything but the providers' signed webhooks
    (``registry.WAF_RATE_LIMITS``); Amazon's known-bad-inputs rules. The common rule set is left
    out on purpose: its body size and XSS rules would block large provider deliveries and
    customers' messages quoting HTML.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        anonymous = _any_of([_starts_with(p) for p in path_prefixes("anonymous")])
        not_provider = waf.CfnWebACL.StatementProperty(
            not_statement=waf.CfnWebACL.NotStatementProperty(
                statement=_any_of([_starts_with(p) for p in path_prefixes("provider")])
            )
        )
        self.web_acl = waf.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
            description="Guichet: rate limits per address and reputation lists in front of the API",
            visibility_config=_visibility("guichet-edge"),
            rules=[
                _managed_rule("AWSManagedRulesAmazonIpReputationList", 0),
                _rate_rule("anonymous-routes-per-ip", 1, registry.WAF_RATE_LIMITS["anonymous"], anonymous),
                _rate_rule("api-per-ip", 2, registry.WAF_RATE_LIMITS["api"], not_provider),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )

    @property
    def arn(self) -> str:
        return self.web_acl.attr_arn


class ApiEdge(Construct):
    """The CloudFront distribution in front of the HTTP API, protected by the edge web ACL."""

    def __init__(self, scope: Construct, construct_id: str, *, http_api: apigwv2.HttpApi) -> None:
        super().__init__(scope, construct_id)
        self.web_acl_arn = CfnParameter(
            self,
            WEB_ACL_PARAMETER,
            type="String",
            description="ARN of GuichetEdgeStack's web ACL (its WebAclArn output, in us-east-1)",
            allowed_pattern=r"^arn:aws:wafv2:us-east-1:\d{12}:global/webacl/.+$",
        )
        self.web_acl_arn.override_logical_id(WEB_ACL_PARAMETER)
        self.origin = origins.HttpOrigin(
            f"{http_api.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=Duration.seconds(30),  # the HTTP API's own integration limit
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Guichet API: webhooks, agent workspace, customer space (WAF, no caching)",
            default_behavior=self.behavior_options(),
            web_acl_id=self.web_acl_arn.value_as_string,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "No geo restriction: the providers (Meta, Twilio, Shopify) call from anywhere, and "
            "customers travel; the web ACL rate-limits per address instead.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "Every request that passes the web ACL reaches the HTTP API stage, whose access log "
            "records it (infra/constructs/api.py); blocked ones are in the web ACL's metrics and "
            "sampled requests. CloudFront standard logs would need an ACL-enabled bucket.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate cannot set a minimum viewer TLS version; a "
            "custom domain (publicBaseUrl) with its own certificate can (TLSv1.2_2021).",
        )

    def behavior_options(self) -> cloudfront.BehaviorOptions:
        """How the API is served: every method, nothing cached, the viewer's request forwarded
        but its Host (the HTTP API answers to its own)."""
        return cloudfront.BehaviorOptions(
            origin=self.origin,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            compress=False,
        )

    def behaviors(self) -> dict[str, cloudfront.BehaviorOptions]:
        """The API's paths, for a distribution that serves something else by default (the console)."""
        paths = {route.path.split("{", 1)[0].rstrip("/") for route, _ in registry.all_routes()}
        tops = sorted({"/" + path.strip("/").split("/", 1)[0] for path in paths})
        return {f"{top}*" if top == "/health" else f"{top}/*": self.behavior_options() for top in tops}

    @property
    def url(self) -> str:
        return Fn.join("", ["https://", self.distribution.distribution_domain_name])
