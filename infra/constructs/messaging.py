"""SNS topics and SQS queues from infra/registry.py; every queue has a dead-letter queue
and an alarm that fires as soon as that dead-letter queue holds a message.

A topic's ``subscribe_queue`` becomes an SNS -> SQS subscription with raw message delivery
off (the consumer reads the SNS envelope: TopicArn, MessageId). The queues use SQS-managed
encryption, which SNS (and EventBridge) can deliver to without any key grant; the topics'
customer-managed key only protects messages at rest in SNS.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import registry
from infra.constructs.resources import pascal

ALARM_TOPIC = "ops-alarms"  # the registry topic that receives the dead-letter alarms


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")

        # CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed aws/sns
        # key (its key policy cannot be changed): the topics use this customer-managed key.
        self.topic_key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the SNS topics of Guichet; CloudWatch alarms may use it",
            enable_key_rotation=True,
        )
        self.topic_key.grant(cloudwatch_principal, "kms:Decrypt", "kms:GenerateDataKey*")

        self.topics: dict[str, sns.Topic] = {}
        for topic_spec in registry.TOPICS:
            topic = sns.Topic(
                self,
                f"{pascal(topic_spec.name)}Topic",
                display_name=topic_spec.description[:100],
                master_key=self.topic_key,
                enforce_ssl=True,
            )
            self.topics[topic_spec.name] = topic
        if ALARM_TOPIC not in self.topics:
            raise KeyError(f"registry.TOPICS must declare {ALARM_TOPIC!r}")
        # Only the alarm topic accepts CloudWatch alarms (not, e.g., the inbound-email topic).
        self.topics[ALARM_TOPIC].add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topics[ALARM_TOPIC].topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch", resource="alarm", resource_name="*"
                        )
                    },
                },
            )
        )
        alarm_action = cloudwatch_actions.SnsAction(self.topics[ALARM_TOPIC])

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in registry.QUEUES:
            name = pascal(spec.name)
            dlq = sqs.Queue(
                self,
                f"{name}DeadLetterQueue",
                queue_name=f"{stack.stack_name}-{spec.name}-dlq",
                retention_period=Duration.days(spec.dlq_retention_days),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            queue = sqs.Queue(
                self,
                f"{name}Queue",
                queue_name=f"{stack.stack_name}-{spec.name}",
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                retention_period=Duration.days(spec.retention_days),
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{name}DeadLetterAlarm",
                alarm_description=(
                    f"Messages in the dead-letter queue of '{spec.name}' ({spec.description}): "
                    "inspect them, fix the cause, then redrive."
                ),
                metric=dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(alarm_action)
            alarm.add_ok_action(alarm_action)
            self.queues[spec.name] = queue
            self.dead_letter_queues[spec.name] = dlq
            self.alarms[spec.name] = alarm

        # Topic -> queue subscriptions. CDK adds to the queue's policy one statement allowing
        # sns.amazonaws.com sqs:SendMessage with aws:SourceArn = this topic only.
        self.subscriptions: dict[str, sns.Subscription] = {}
        for topic_spec in registry.TOPICS:
            if topic_spec.subscribe_queue is None:
                continue
            if topic_spec.subscribe_queue not in self.queues:
                raise KeyError(
                    f"topic {topic_spec.name!r} subscribes unknown queue {topic_spec.subscribe_queue!r}"
                )
            self.subscriptions[topic_spec.name] = self.topics[topic_spec.name].add_subscription(
                subscriptions.SqsSubscription(
                    self.queues[topic_spec.subscribe_queue], raw_message_delivery=False
                )
            )
