"""What the functions can reference: registry resource keys -> CDK constructs.

``infra/registry.py`` names resources with keys such as ``"table"`` or ``"queue:inbound"``.
``Resources`` is the one place that turns such a key into a construct, a ``Ref`` into a CDK
token, and a ``Grant`` into the matching ``grant_*`` call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Acknowledgment, Aws, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from infra import registry
from infra.registry import Grant, Ref

NAG_PACK = "AwsSolutions"


def pascal(name: str) -> str:
    """``"ops-alarms"`` -> ``"OpsAlarms"``: construct ids derived from registry names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``"AwsSolutions-S1"`` or ``"AwsSolutions-IAM5[...]"``)."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{NAG_PACK}::{rule}", reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2 construct's main resource."""
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))


# resource kind -> attribute name -> getter
_ATTRIBUTES: dict[str, dict[str, Callable[[Any], str]]] = {
    "table": {"name": lambda t: t.table_name, "arn": lambda t: t.table_arn},
    "queue": {"name": lambda q: q.queue_name, "url": lambda q: q.queue_url, "arn": lambda q: q.queue_arn},
    "bucket": {"name": lambda b: b.bucket_name, "arn": lambda b: b.bucket_arn},
    "secret": {"name": lambda s: s.secret_name, "arn": lambda s: s.secret_arn},
    "topic": {"name": lambda t: t.topic_name, "arn": lambda t: t.topic_arn},
    "userpool": {"id": lambda p: p.user_pool_id, "arn": lambda p: p.user_pool_arn},
    "api": {"id": lambda a: a.api_id},  # "url" is Resources.api_url (overridable)
}

# (resource kind, access) -> the CDK grant method that implements it
_GRANTS: dict[tuple[str, str], Callable[[Any, iam.IGrantable], iam.Grant]] = {
    ("table", "read"): lambda t, g: t.grant_read_data(g),
    ("table", "write"): lambda t, g: t.grant_write_data(g),
    ("table", "read_write"): lambda t, g: t.grant_read_write_data(g),
    ("queue", "send"): lambda q, g: q.grant_send_messages(g),
    ("queue", "consume"): lambda q, g: q.grant_consume_messages(g),
    ("bucket", "read"): lambda b, g: b.grant_read(g),
    ("bucket", "write"): lambda b, g: b.grant_put(g),
    ("bucket", "read_write"): lambda b, g: b.grant_read_write(g),
    ("secret", "read"): lambda s, g: s.grant_read(g),
    ("topic", "publish"): lambda t, g: t.grant_publish(g),
}


# Wildcards that a grant method writes inside one declared resource, as cdk-nag names them
# (``AwsSolutions-IAM5[<finding>]``), with the reason they are acceptable. Acknowledged on
# the grantee's role only, finding by finding.
def _table_wildcards(table: Any, access: str) -> list[tuple[str, str]]:
    return [
        (
            f"Resource::<{logical_id(table)}.Arn>/index/*",
            "Queries on the global secondary indexes of this one table (declared in "
            "shared/adapters/dynamodb/schema.py); the grant covers no other table.",
        )
    ]


_S3_ACTION_WILDCARDS = {
    "read": ("s3:GetObject*", "s3:GetBucket*", "s3:List*"),
    "write": ("s3:Abort*",),
    "read_write": ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"),
}


def _bucket_wildcards(bucket: Any, access: str) -> list[tuple[str, str]]:
    scope = f"bucket {logical_id(bucket)} only"
    findings = [
        (
            f"Resource::<{logical_id(bucket)}.Arn>/*",
            f"Object-level access to the objects of one declared bucket ({scope}), as the registry grants.",
        )
    ]
    findings += [
        (
            f"Action::{action}",
            f"CDK's grant for registry access '{access}' uses the {action} family (object versions, "
            f"tags, multipart uploads) on {scope}; no other bucket is reachable.",
        )
        for action in _S3_ACTION_WILDCARDS[access]
    ]
    return findings


def _topic_wildcards(topic: Any, access: str) -> list[tuple[str, str]]:
    if topic.master_key is None:
        return []
    return [
        (
            "Action::kms:GenerateDataKey*",
            "Publishing to a topic encrypted with a customer-managed key needs GenerateDataKey on "
            f"that key; the statement names the key of topic {logical_id(topic)} only.",
        )
    ]


_SCOPED_WILDCARDS: dict[str, Callable[[Any, str], list[tuple[str, str]]]] = {
    "table": _table_wildcards,
    "bucket": _bucket_wildcards,
    "topic": _topic_wildcards,
}


def split_key(resource: str) -> tuple[str, str | None]:
    kind, _, name = resource.partition(":")
    return kind, (name or None)


@dataclass(frozen=True)
class Resources:
    table: dynamodb.Table
    queues: Mapping[str, sqs.Queue]
    buckets: Mapping[str, s3.Bucket]
    secrets: Mapping[str, secretsmanager.Secret]
    topics: Mapping[str, sns.Topic]
    user_pools: Mapping[str, cognito.UserPool]
    user_pool_clients: Mapping[str, cognito.UserPoolClient]
    api: apigwv2.HttpApi
    # What Ref("api", "url") means: the public base URL that providers sign, without a
    # trailing slash (the API's endpoint, or a custom domain given as CDK context).
    api_url: str
    # Filled by infra/constructs/workflow.py, which is built after the functions (its state
    # machines invoke them); it also sets the functions' Ref("statemachine:...") variables.
    state_machines: dict[str, Any] = field(default_factory=dict)
    # Deployment values (CDK context) for literal variables of the registry, which hold the
    # local stack's demo values: applied to every function that declares the variable.
    env_overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def support_email_from(self) -> str:
        """The replies' sender: what the ``ses`` grant allows and SUPPORT_EMAIL_FROM says."""
        return self.env_overrides.get("SUPPORT_EMAIL_FROM", registry.SUPPORT_EMAIL_FROM)

    @property
    def alert_sender(self) -> str:
        """The order alerts' sender: what the ``email`` grant allows and ALERT_SENDER says."""
        return self.env_overrides.get("ALERT_SENDER", registry.ALERT_SENDER)

    def construct(self, resource: str) -> Any:
        kind, name = split_key(resource)
        if kind == "table" and name is None:
            return self.table
        if kind == "api" and name is None:
            return self.api
        families: dict[str, Mapping[str, Any]] = {
            "statemachine": self.state_machines,
            "queue": self.queues,
            "bucket": self.buckets,
            "secret": self.secrets,
            "topic": self.topics,
            "userpool": self.user_pools,
        }
        if kind not in families or name not in families[kind]:
            raise KeyError(f"unknown resource {resource!r} (see infra/registry.py)")
        return families[kind][name]

    def attribute(self, ref: Ref) -> str:
        """The CDK token for a registry ``Ref`` (e.g. the inbound queue's URL)."""
        kind, name = split_key(ref.resource)
        if kind == "userpool" and ref.attribute == "client_id" and name in self.user_pool_clients:
            return self.user_pool_clients[name].user_pool_client_id
        if kind == "api" and name is None and ref.attribute == "url":
            return self.api_url
        if kind == "statemachine" and ref.attribute == "arn" and name:
            if name not in self.state_machines:
                raise KeyError(f"state machine {name!r} is not built yet (infra/constructs/workflow.py)")
            arn: str = self.state_machines[name].state_machine_arn
            return arn
        getter = _ATTRIBUTES.get(kind, {}).get(ref.attribute)
        if getter is None:
            raise KeyError(f"no attribute {ref.attribute!r} on {ref.resource!r}")
        return getter(self.construct(ref.resource))

    def grant(self, grant: Grant, grantee: iam.IGrantable) -> list[tuple[str, str]]:
        """Apply ``grant``; return the (IAM5 finding, reason) pairs its wildcards imply."""
        kind, _ = split_key(grant.resource)
        if kind == "statemachine":
            return []  # applied by infra/constructs/workflow.py once the state machine exists
        if (kind, grant.access) == ("email", "send"):
            return _grant_email(grantee, self.alert_sender)
        if (kind, grant.access) == ("sms", "send"):
            return _grant_sms(grantee)
        if (kind, grant.access) == ("ses", "send"):
            configuration_set = self.env_overrides.get("SES_CONFIGURATION_SET")
            return _grant_ses(grantee, self.support_email_from, configuration_set)
        method = _GRANTS.get((kind, grant.access))
        if method is None:
            raise NotImplementedError(f"no grant for {grant.access!r} on {grant.resource!r}")
        target = self.construct(grant.resource)
        method(target, grantee)
        wildcards = _SCOPED_WILDCARDS.get(kind)
        return wildcards(target, grant.access) if wildcards else []


def _grant_email(grantee: iam.IGrantable, sender: str) -> list[tuple[str, str]]:
    """SES sending for the order workflow's alerts: on the alert sender's identities only (the
    address and its domain, whichever the account verified) and only with that From address."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resources=ses_identity_arns(sender),
            conditions={"StringEquals": {"ses:FromAddress": sender}},
        )
    )
    return []


def ses_identity_arns(sender: str) -> list[str]:
    """The SES identities that can authorise sending from ``sender``: the address itself and its
    domain (SES checks the one the account verified; either is this sender's, no other)."""
    domain = sender.rpartition("@")[2]
    return [
        f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/{identity}"
        for identity in (sender, domain)
    ]


def ses_configuration_set_arn(name: str) -> str:
    return f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:configuration-set/{name}"


def _grant_ses(
    grantee: iam.IGrantable, sender: str, configuration_set: str | None = None
) -> list[tuple[str, str]]:
    """SES sending for replies: on the sender's identities only, and only with that From address
    (``ses:FromAddress``), so the role cannot send as anyone else of the same domain. When mail
    goes through a configuration set (``SES_CONFIGURATION_SET`` in ``outboundEnv``), SES also
    authorises the send on that set: without it every reply fails with AccessDenied. No
    wildcard: nothing for cdk-nag to acknowledge."""
    extra = [ses_configuration_set_arn(configuration_set)] if configuration_set else []
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resources=[*ses_identity_arns(sender), *extra],
            conditions={"StringEquals": {"ses:FromAddress": sender}},
        )
    )
    return []


def _grant_sms(grantee: iam.IGrantable) -> list[tuple[str, str]]:
    """SNS SMS: a phone number has no ARN, so Publish needs Resource "*"; an explicit Deny on
    every topic ARN keeps the grant to direct SMS only."""
    policy = grantee.grant_principal
    policy.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
    policy.add_to_principal_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=["sns:Publish"],
            resources=[f"arn:{Aws.PARTITION}:sns:*:*:*"],
        )
    )
    return [
        (
            "Resource::*",
            "sns:Publish to a phone number (SMS) has no resource ARN and requires '*'; a Deny "
            "statement on arn:aws:sns:*:*:* forbids publishing to any topic. Active tracing "
            "adds xray:PutTraceSegments/PutTelemetryRecords, which also require '*'.",
        )
    ]
