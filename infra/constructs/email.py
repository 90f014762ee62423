"""SES inbound email (``registry.EMAIL_RECEIPT``): a receipt rule set with one rule whose
single S3 action stores the raw MIME under the declared prefix of the declared bucket, then
notifies the declared topic (subscribed by the inbound queue). Unlike the SNS action (150 KB
at most, larger mail bounces), this handles mail of any size SES accepts.

Spam and virus scanning are on (the verdicts come in the notification) and the sending
server must use TLS. The rule accepts mail for one domain (CDK context ``inboundEmailDomain``).

What SES needs, each scoped to this account and this receipt rule (aws:SourceAccount,
aws:SourceArn): s3:PutObject under the prefix (bucket policy), sns:Publish on the topic
(topic policy) and, the topic being encrypted with a customer-managed key, kms:GenerateDataKey*
and kms:Decrypt on that key (key policy). SES checks these permissions when
the rule is created: the rule depends on the bucket and topic policies.

Not done here: SES receives with the *active* rule set only, and an account has one. Making
this one active would silently deactivate any other; the operator does it once (README, Deploy).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.registry import EmailReceiptSpec

SES = "ses.amazonaws.com"


class Email(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EmailReceiptSpec,
        domain: str,
        buckets: Mapping[str, s3.Bucket],
        topics: Mapping[str, sns.Topic],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bucket, topic = buckets[spec.bucket], topics[spec.topic]
        if not spec.prefix.endswith("/"):
            raise ValueError(f"EMAIL_RECEIPT.prefix must end with '/': {spec.prefix!r}")

        self.rule_set_name = f"{stack.stack_name}-{spec.rule_name}"
        self.rule_set = ses.CfnReceiptRuleSet(self, "RuleSet", rule_set_name=self.rule_set_name)
        self.rule_arn = stack.format_arn(
            service="ses",
            resource="receipt-rule-set",
            resource_name=f"{self.rule_set_name}:receipt-rule/{spec.rule_name}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        from_this_rule = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": self.rule_arn},
        }
        ses_principal = iam.ServicePrincipal(SES)

        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesStoresInboundMail",
                principals=[ses_principal],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{spec.prefix}*")],
                conditions=from_this_rule,
            )
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesNotifiesInboundMail",
                principals=[ses_principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=from_this_rule,
            )
        )
        if topic.master_key is not None:
            # SNS encrypts what SES publishes with the topic's key, on SES's behalf.
            key = topic.master_key
            if not isinstance(key, kms.Key):
                raise TypeError(f"topic {spec.topic!r}: its key must be a kms.Key of this stack")
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SesPublishesToTheInboundEmailTopic",
                    principals=[ses_principal],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],  # in a key policy, "*" is this key
                    # Not kms:EncryptionContext:aws:sns:topicArn: the topic's ARN would make the
                    # key depend on the topic that depends on it. This rule is the only source.
                    conditions=from_this_rule,
                )
            )

        self.rule = ses.CfnReceiptRule(
            self,
            "Rule",
            rule_set_name=self.rule_set.ref,
            rule=ses.CfnReceiptRule.RuleProperty(
                name=spec.rule_name,
                enabled=True,
                recipients=[domain],
                scan_enabled=True,
                tls_policy="Require",
                actions=[
                    ses.CfnReceiptRule.ActionProperty(
                        s3_action=ses.CfnReceiptRule.S3ActionProperty(
                            bucket_name=bucket.bucket_name,
                            object_key_prefix=spec.prefix,
                            topic_arn=topic.topic_arn,
                        )
                    )
                ],
            ),
        )
        topic_policy = topic.node.try_find_child("Policy")
        if bucket.policy is None or topic_policy is None:
            raise RuntimeError("the bucket and topic policies must exist before the receipt rule")
        self.rule.node.add_dependency(bucket.policy, topic_policy)
