"""EventBridge rules of infra/registry.py (``EVENT_RULES``): AWS service events on the
default bus into a queue (e.g. Amazon Connect contact events into ``inbound``).

The target adds to the queue's policy one statement allowing events.amazonaws.com
sqs:SendMessage with aws:SourceArn = this rule only. The queues use SQS-managed encryption,
which EventBridge can deliver to without any key grant.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import registry
from infra.constructs.resources import pascal


class EventRules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, queues: Mapping[str, sqs.IQueue]) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for spec in registry.EVENT_RULES:
            if spec.target_queue not in queues:
                raise KeyError(f"event rule {spec.name!r} targets unknown queue {spec.target_queue!r}")
            self.rules[spec.name] = events.Rule(
                self,
                f"{pascal(spec.name)}Rule",
                description=spec.description,
                event_pattern=events.EventPattern(source=[spec.source], detail_type=[spec.detail_type]),
                targets=[targets.SqsQueue(queues[spec.target_queue])],
            )
