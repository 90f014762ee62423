"""GuichetStack: the whole back office, one construct per capability.

CDK context values (``npx aws-cdk deploy -c name=value``, or cdk.json ``context``):

- ``publicBaseUrl``: the public base URL the providers call and sign (``https://...``, e.g. a
  custom domain on the distribution); default: the CloudFront distribution in front of the HTTP
  API (infra/constructs/edge.py), whose web ACL is the ``EdgeWebAclArn`` parameter. Becomes
  ``PUBLIC_BASE_URL`` (``Ref("api", "url")``) without a trailing slash.
- ``inboundEmailDomain``: the domain whose mail the SES receipt rule accepts; default
  ``support.example.com``, a placeholder that receives nothing: set it to deploy.
- ``supportEmailFrom``: the address replies are sent from (a verified SES identity, or one of
  a verified domain); default ``support@<inboundEmailDomain>`` when that is given, so that the
  customers' answers to ``support+t<ticket>@<domain>`` come back through the receipt rule;
  else the registry's local value. Becomes SUPPORT_EMAIL_FROM and the ``ses`` grant's scope.
- ``outboundEnv``: a JSON object of the reply clients' other settings (the variables of
  ``shared.adapters.outbound.OutboundConfig``: ``TWILIO_SMS_FROM``, ``WHATSAPP_PHONE_NUMBER_ID``,
  ``TWILIO_MESSAGING_SERVICE_SID`` ...), replacing the registry's local demo values.
- ``alertSender``: the address order alerts are sent from (a verified SES identity, or one of a
  verified domain); default ``orders@<inboundEmailDomain>`` when that is given, else the
  registry's value. Becomes ALERT_SENDER and the ``email`` grant's scope.
- ``provisioningUrl``: the provisioning system's ``https://`` base URL (PROVISIONING_URL of the
  order workflow's preparation step); default the registry's ``fake:`` (the built-in fake).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra import registry
from infra.constructs.api import Api
from infra.constructs.auth import Auth
from infra.constructs.data import Data
from infra.constructs.edge import ApiEdge
from infra.constructs.email import Email
from infra.constructs.events import EventRules
from infra.constructs.functions import Functions
from infra.constructs.messaging import ALARM_TOPIC, Messaging
from infra.constructs.monitoring import Monitoring
from infra.constructs.resources import Resources
from infra.constructs.secrets import Secrets
from infra.constructs.storage import Storage
from infra.constructs.workflow import Workflow

TAGS: dict[str, str] = {
    "project": "guichet",
    "managed-by": "aws-cdk",
    "repository": "guichet",
}

PUBLIC_BASE_URL_CONTEXT = "publicBaseUrl"
INBOUND_EMAIL_DOMAIN_CONTEXT = "inboundEmailDomain"
SUPPORT_EMAIL_FROM_CONTEXT = "supportEmailFrom"
OUTBOUND_ENV_CONTEXT = "outboundEnv"
ALERT_SENDER_CONTEXT = "alertSender"
PROVISIONING_URL_CONTEXT = "provisioningUrl"
DEFAULT_INBOUND_EMAIL_DOMAIN = "support.example.com"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def public_base_url(value: Any) -> str | None:
    """The ``publicBaseUrl`` context value, checked, without trailing slash (None if unset)."""
    if value is None or value == "":
        return None
    url = str(value).strip().rstrip("/")
    if not re.fullmatch(r"https://[^/\s?#]+(/[^\s?#]*)?", url):
        raise ValueError(f"context {PUBLIC_BASE_URL_CONTEXT}: expected an https:// URL, got {value!r}")
    return url


def inbound_email_domain(value: Any) -> str:
    """The ``inboundEmailDomain`` context value, checked (the placeholder default if unset)."""
    domain = str(value or DEFAULT_INBOUND_EMAIL_DOMAIN).strip().lower()
    if not _DOMAIN.match(domain):
        raise ValueError(f"context {INBOUND_EMAIL_DOMAIN_CONTEXT}: expected a domain name, got {value!r}")
    return domain


def support_email_from(value: Any, inbound_domain: Any) -> str | None:
    """The ``supportEmailFrom`` context value, else ``support@<inboundEmailDomain>`` when that
    context is set, else None (the registry's value stays)."""
    if value is None or value == "":
        return f"support@{inbound_email_domain(inbound_domain)}" if inbound_domain else None
    address = str(value).strip().lower()
    local, _, domain = address.partition("@")
    if not local or "+" in local or not _DOMAIN.match(domain):
        raise ValueError(f"context {SUPPORT_EMAIL_FROM_CONTEXT}: expected name@domain, got {value!r}")
    return address


def alert_sender(value: Any, inbound_domain: Any) -> str | None:
    """The ``alertSender`` context value, else ``orders@<inboundEmailDomain>`` when that context
    is set, else None (the registry's value stays)."""
    if value is None or value == "":
        return f"orders@{inbound_email_domain(inbound_domain)}" if inbound_domain else None
    address = str(value).strip().lower()
    local, _, domain = address.partition("@")
    if not local or "+" in local or not _DOMAIN.match(domain):
        raise ValueError(f"context {ALERT_SENDER_CONTEXT}: expected name@domain, got {value!r}")
    return address


def provisioning_url(value: Any) -> str | None:
    """The ``provisioningUrl`` context value (https only), without trailing slash; None if unset."""
    if value is None or value == "":
        return None
    url = str(value).strip().rstrip("/")
    if not re.fullmatch(r"https://[^/\s?#]+(/[^\s?#]*)?", url):
        raise ValueError(f"context {PROVISIONING_URL_CONTEXT}: expected an https:// URL, got {value!r}")
    return url


def outbound_env(value: Any) -> dict[str, str]:
    """The ``outboundEnv`` context value: a JSON object (or its text) of OutboundConfig variables,
    checked against that model so a typo fails the synth, not the first reply."""
    from shared.adapters.outbound import OutboundConfig  # noqa: PLC0415 (only when deploying)

    if value is None or value == "":
        return {}
    data = json.loads(value) if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise ValueError(f"context {OUTBOUND_ENV_CONTEXT}: expected a JSON object")
    names = {field.alias for field in OutboundConfig.model_fields.values() if field.alias}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"context {OUTBOUND_ENV_CONTEXT}: unknown variable(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(names))}"
        )
    env = {str(name): str(setting) for name, setting in data.items()}
    OutboundConfig.model_validate(env)
    return env


class GuichetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        layer_dir: Path,
        **kwargs: Any,
    ) -> None:
        """``code_dir``: the Lambda code (build/lambda); ``layer_dir``: the dependency layer,
        holding ``python/`` (build/layer). Tests pass small temporary directories."""
        kwargs.setdefault("description", "Guichet: omnichannel customer-service back office")
        super().__init__(scope, construct_id, **kwargs)
        for key, value in TAGS.items():
            Tags.of(self).add(key, value)

        self.data = Data(self, "Data")
        self.messaging = Messaging(self, "Messaging")
        self.storage = Storage(self, "Storage")
        self.secrets = Secrets(self, "Secrets")
        self.auth = Auth(self, "Auth")
        # The API before the functions: its URL is in their environment (Ref("api", "url")).
        self.api = Api(self, "Api", user_pools=self.auth.user_pools, clients=self.auth.clients)
        # The API's public face: CloudFront with the WAF web ACL (the API cannot have one).
        self.edge = ApiEdge(self, "Edge", http_api=self.api.http_api)
        self.public_base_url = (
            public_base_url(self.node.try_get_context(PUBLIC_BASE_URL_CONTEXT)) or self.edge.url
        )
        self.inbound_email_domain = inbound_email_domain(
            self.node.try_get_context(INBOUND_EMAIL_DOMAIN_CONTEXT)
        )
        overrides = outbound_env(self.node.try_get_context(OUTBOUND_ENV_CONTEXT))
        sender = support_email_from(
            self.node.try_get_context(SUPPORT_EMAIL_FROM_CONTEXT),
            self.node.try_get_context(INBOUND_EMAIL_DOMAIN_CONTEXT),
        )
        if sender is not None:
            overrides["SUPPORT_EMAIL_FROM"] = sender
        alerts_from = alert_sender(
            self.node.try_get_context(ALERT_SENDER_CONTEXT),
            self.node.try_get_context(INBOUND_EMAIL_DOMAIN_CONTEXT),
        )
        if alerts_from is not None:
            overrides["ALERT_SENDER"] = alerts_from
        provisioning = provisioning_url(self.node.try_get_context(PROVISIONING_URL_CONTEXT))
        if provisioning is not None:
            overrides["PROVISIONING_URL"] = provisioning
        self.resources = Resources(
            table=self.data.table,
            queues=self.messaging.queues,
            buckets=self.storage.buckets,
            secrets=self.secrets.secrets,
            topics=self.messaging.topics,
            user_pools=self.auth.user_pools,
            user_pool_clients=self.auth.clients,
            api=self.api.http_api,
            api_url=self.public_base_url,
            env_overrides=overrides,
        )
        self.functions = Functions(
            self, "Functions", resources=self.resources, code_dir=code_dir, layer_dir=layer_dir
        )
        self.api.add_routes(self.functions.functions)
        # After the functions: the state machines invoke them; it then sets their ARN variables.
        self.workflow = Workflow(
            self, "Workflow", functions=self.functions.functions, resources=self.resources
        )
        self.event_rules = EventRules(self, "EventRules", queues=self.messaging.queues)

        self.email = Email(
            self,
            "Email",
            spec=registry.EMAIL_RECEIPT,
            domain=self.inbound_email_domain,
            buckets=self.storage.buckets,
            topics=self.messaging.topics,
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            topic=self.messaging.topics[ALARM_TOPIC],
            queues=self.messaging.queues,
            dead_letter_alarms=self.messaging.alarms,
            functions=self.functions.functions,
            http_api=self.api.http_api,
            state_machines=self.workflow.state_machines,
        )

        CfnOutput(self, "ApiUrl", value=self.api.url, description="The HTTP API itself (behind the edge)")
        CfnOutput(
            self,
            "PublicBaseUrl",
            value=self.public_base_url,
            description="Base URL the providers call and sign: webhooks at <this>/webhooks/...",
        )
        CfnOutput(
            self,
            "EmailReceiptRuleSet",
            value=self.email.rule_set.ref,
            description="Activate once: aws ses set-active-receipt-rule-set --rule-set-name <this>",
        )
        CfnOutput(
            self,
            "InboundEmailDomain",
            value=self.inbound_email_domain,
            description="Mail for this domain goes to the inbound queue (MX + verified SES identity)",
        )
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        for name, pool in self.auth.user_pools.items():
            CfnOutput(self, f"{pool.node.id}Id", value=pool.user_pool_id, description=f"{name} user pool")
            CfnOutput(
                self,
                f"{pool.node.id}ClientId",
                value=self.auth.clients[name].user_pool_client_id,
                description=f"{name} app client",
            )
