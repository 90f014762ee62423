"""Inbound email through the processor, as SES -> SNS -> SQS delivers it (events/inbound_processor)."""

from __future__ import annotations

import json

import boto3

from functions.inbound_processor.handler import handler as processor
from shared.adapters.dynamodb.repository import DynamoRepository
from tests.support import EVENTS, load_event

RAW = (EVENTS / "inbound_processor" / "mail" / "email_reply.eml").read_bytes()


def _stored_mail(aws, event):
    """Put the raw MIME where the S3 action of the notification says SES stored it."""
    message = json.loads(json.loads(event["Records"][0]["body"])["Message"])
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=message["receipt"]["action"]["objectKey"], Body=RAW
    )


def _only_message(aws):
    repo = DynamoRepository(aws["table"])
    [listed] = repo.list_tickets(limit=10, cursor=None).items
    ticket = repo.get_ticket(listed.id).value
    [message] = repo.ticket_messages(ticket.id, limit=10, cursor=None)[1].items
    return repo, ticket, message


def test_an_email_stored_by_the_s3_action_becomes_a_message_with_verdicts_and_stored_attachments(
    aws, lambda_context
):
    event = load_event("inbound_processor/email_s3_action_record")
    _stored_mail(aws, event)

    assert processor(event, lambda_context) == {"batchItemFailures": []}

    repo, ticket, message = _only_message(aws)
    assert ticket.channel.value == "email"
    assert repo.identity_owner("email", "marie.dupont@example.org") == ticket.customer_id
    assert message.subject == "Re: [Ticket#4821] Colis non reçu"
    assert message.display_text == "Toujours rien reçu, voici la photo du bordereau."
    assert "Nous enquêtons." in message.text  # the full text is kept
    assert message.verdicts == {
        "spam": "PASS",
        "virus": "PASS",
        "spf": "PASS",
        "dkim": "PASS",
        "dmarc": "PASS",
    }
    [attachment] = message.attachments
    assert (attachment.name, attachment.content_type, attachment.blocked) == (
        "bordereau.jpg",
        "image/jpeg",
        False,
    )
    stored = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=attachment.storage_key)
    assert stored["ContentType"] == "image/jpeg"
    # A later reply quoting this Message-ID threads onto the same ticket.
    assert repo.ticket_for_email("CAF=reply-001@mail.example.org") == ticket.id


def test_an_email_with_content_from_the_sns_action_is_accepted_too(aws, lambda_context):
    assert processor(load_event("inbound_processor/email_sns_action_record"), lambda_context) == {
        "batchItemFailures": []
    }
    _, _, message = _only_message(aws)
    assert message.channel.value == "email"


def test_a_virus_verdict_fail_keeps_attachments_out_of_reach(aws, lambda_context):
    event = load_event("inbound_processor/email_s3_action_record")
    _stored_mail(aws, event)
    envelope = json.loads(event["Records"][0]["body"])
    notification = json.loads(envelope["Message"])
    notification["receipt"]["virusVerdict"] = {"status": "FAIL"}
    envelope["Message"] = json.dumps(notification)
    event["Records"][0]["body"] = json.dumps(envelope)

    assert processor(event, lambda_context) == {"batchItemFailures": []}

    _, _, message = _only_message(aws)
    [attachment] = message.attachments
    assert attachment.blocked and attachment.storage_key is None
    assert message.verdicts["virus"] == "FAIL"
    listed = boto3.client("s3").list_objects_v2(Bucket=aws["bucket"], Prefix="attachments/")
    assert listed.get("KeyCount", 0) == 0


def test_a_notification_from_another_topic_is_refused(aws, lambda_context):
    event = load_event("inbound_processor/email_sns_action_record")
    envelope = json.loads(event["Records"][0]["body"])
    envelope["TopicArn"] = "arn:aws:sns:eu-west-3:999999999999:someone-else"
    event["Records"][0]["body"] = json.dumps(envelope)

    response = processor(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert DynamoRepository(aws["table"]).list_tickets(limit=10, cursor=None).items == []


def test_a_mail_outside_the_receipt_rule_prefix_is_refused(aws, lambda_context):
    event = load_event("inbound_processor/email_s3_action_record")
    envelope = json.loads(event["Records"][0]["body"])
    notification = json.loads(envelope["Message"])
    notification["receipt"]["action"]["objectKey"] = "attachments/email/forged.eml"
    envelope["Message"] = json.dumps(notification)
    event["Records"][0]["body"] = json.dumps(envelope)

    assert processor(event, lambda_context)["batchItemFailures"]


def test_a_redelivered_email_changes_nothing(aws, lambda_context):
    event = load_event("inbound_processor/email_s3_action_record")
    _stored_mail(aws, event)
    processor(event, lambda_context)
    processor(event, lambda_context)

    _, ticket, _ = _only_message(aws)
    assert ticket.message_count == 1
