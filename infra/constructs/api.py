"""The HTTP API: one route per registry Route, JWT authorizers on the Cognito pools,
access logs on the default stage, and a throttle per route (``registry.THROTTLES`` by caller:
each route has its own token bucket, so a flood of one cannot use up the others').

Built in two steps: the API itself first (its URL is a function environment value,
``Ref("api", "url")``), then ``add_routes`` once the functions exist. CloudFormation sees no
cycle: functions -> HttpApi, and integrations/routes/permissions -> functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import registry
from infra.constructs.resources import acknowledge, pascal

# The stage default: only a route without its own settings would use it (there is none).
RATE_LIMIT = 100
BURST_LIMIT = 200
ACCESS_LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# HTTP API $context variables: one JSON line per request, no body, no header, no token.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "userAgent": "$context.identity.userAgent",
}


def issuer(pool: cognito.IUserPool) -> str:
    return f"https://cognito-idp.{Stack.of(pool).region}.amazonaws.com/{pool.user_pool_id}"


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pools: Mapping[str, cognito.IUserPool],
        clients: Mapping[str, cognito.IUserPoolClient],
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Guichet: webhooks, agent workspace and customer space",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=ACCESS_LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=RATE_LIMIT, burst_limit=BURST_LIMIT),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )

        # Route.auth -> a JWT authorizer trusting the pool that declares it `authorizes`.
        # (CDK creates an authorizer only once a route uses it.)
        self.authorizers: dict[str, authorizers.HttpJwtAuthorizer] = {}
        for pool_spec in registry.USER_POOLS:
            if pool_spec.authorizes == "none":
                continue
            if pool_spec.authorizes in self.authorizers:
                raise ValueError(f"two user pools authorize {pool_spec.authorizes!r} routes")
            self.authorizers[pool_spec.authorizes] = authorizers.HttpJwtAuthorizer(
                f"{pascal(pool_spec.name)}JwtAuthorizer",
                issuer(user_pools[pool_spec.name]),
                jwt_audience=[clients[pool_spec.name].user_pool_client_id],
                authorizer_name=f"{pool_spec.name}-jwt",
            )

        self.integrations: dict[str, integrations.HttpLambdaIntegration] = {}
        self.routes: dict[str, apigwv2.HttpRoute] = {}

    def add_routes(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        """One route per registry Route, integrated with its function (Lambda proxy, payload 2.0)."""
        for route, spec in registry.all_routes():
            if spec.name not in self.integrations:
                self.integrations[spec.name] = integrations.HttpLambdaIntegration(
                    f"{pascal(spec.name)}Integration", functions[spec.name]
                )
            authorizer: apigwv2.IHttpRouteAuthorizer
            if route.auth == "none":
                authorizer = apigwv2.HttpNoneAuthorizer()
            elif route.auth in self.authorizers:
                authorizer = self.authorizers[route.auth]
            else:
                raise KeyError(f"{route.method} {route.path}: no user pool authorizes {route.auth!r}")
            (added,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=self.integrations[spec.name],
                authorizer=authorizer,
            )
            if route.auth == "none":
                acknowledge(
                    added,
                    "AwsSolutions-APIG4",
                    f"{route.method} {route.path} ({spec.name}) is declared auth='none' in "
                    "infra/registry.py: its callers have no Cognito identity (liveness probes, "
                    "channel and commerce providers that sign their requests, the anonymous web "
                    "form). The handler validates its input; the route has its own throttle "
                    f"({route.who}) and the WAF on the distribution in front rate-limits per address.",
                )
            self.routes[route.key] = added
        self._throttle_routes()

    def _throttle_routes(self) -> None:
        """The stage's route settings: each registry route's throttle. CloudFormation checks that
        each route key exists, so the stage waits for the routes."""
        stage = self.stage.node.default_child
        settings = {}
        for route, _spec in registry.all_routes():
            throttle = registry.route_throttle(route)
            settings[route.key] = {
                "ThrottlingRateLimit": throttle.rate,
                "ThrottlingBurstLimit": throttle.burst,
            }
            stage.node.add_dependency(self.routes[route.key])
        stage.route_settings = settings

    @property
    def url(self) -> str:
        return self.http_api.api_endpoint


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """JSON access log lines (ACCESS_LOG_FORMAT) into ``log_group``."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))
