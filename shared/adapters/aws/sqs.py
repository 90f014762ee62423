"""SQS adapter for the inbound queue port."""

from __future__ import annotations

from typing import Any

from shared.domain.inbound import InboundEnvelope


class SqsInboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, envelope: InboundEnvelope) -> str:
        response = self._client.send_message(
            QueueUrl=self._url,
            MessageBody=envelope.model_dump_json(),
            MessageAttributes={"channel": {"DataType": "String", "StringValue": envelope.channel.value}},
        )
        return str(response["MessageId"])
