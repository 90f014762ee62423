"""Supervisors' notifications on an SNS topic (subscribe their email or chat integration)."""

from __future__ import annotations

from typing import Any


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def notify(self, subject: str, message: str) -> None:
        self._client.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=message)
