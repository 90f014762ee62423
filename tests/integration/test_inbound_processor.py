"""The inbound processor on moto, from events/inbound_processor samples."""

from __future__ import annotations

import json
import threading

from boto3.dynamodb.conditions import Key

from functions.inbound_processor.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.ingest import record_message
from tests.support import FixedClock, load_event


def _record_with(envelope_changes: dict, message_id: str = "m-1") -> dict:
    event = load_event("inbound_processor/form_record")
    record = event["Records"][0]
    envelope = json.loads(record["body"])
    for key, value in envelope_changes.items():
        if key == "payload":
            envelope["payload"].update(value)
        else:
            envelope[key] = value
    record["body"] = json.dumps(envelope)
    record["messageId"] = message_id
    return event


def test_first_message_creates_customer_ticket_message_and_timeline(aws, lambda_context):
    response = handler(load_event("inbound_processor/form_record"), lambda_context)

    assert response == {"batchItemFailures": []}
    repo = DynamoRepository(aws["table"])
    owner = repo.identity_owner("email", "jean.martin@example.net")
    assert owner is not None
    assert repo.identity_owner("phone", "+33698765432") == owner
    customer = repo.get_customer(owner).value
    assert customer.display_name == "Jean Martin"
    ticket = repo.get_ticket(customer.open_ticket_id).value
    assert ticket.subject == "Question sur la garantie"
    assert ticket.order_number == "#1001"
    assert ticket.message_count == 1
    assert ticket.sla is not None and ticket.sla.first_response_due_at is not None
    found, page = repo.ticket_messages(ticket.id, limit=10, cursor=None)
    assert found is not None
    assert [m.text for m in page.items] == ["Bonjour, la garantie couvre-t-elle la batterie ?"]
    timeline = aws["table"].query(
        KeyConditionExpression=Key("pk").eq(f"CUSTOMER#{owner}") & Key("sk").begins_with("TL#")
    )["Items"]
    assert [t["channel"] for t in timeline] == ["web_form"]


def test_redelivery_of_the_same_submission_changes_nothing(aws, lambda_context):
    handler(load_event("inbound_processor/form_record"), lambda_context)
    before = aws["table"].query(IndexName="GSI1", KeyConditionExpression=Key("gsi1pk").eq("TICKETS#0"))
    handler(_record_with({}, message_id="another-sqs-id"), lambda_context)

    repo = DynamoRepository(aws["table"])
    customer = repo.get_customer(repo.identity_owner("email", "jean.martin@example.net")).value
    ticket = repo.get_ticket(customer.open_ticket_id).value
    assert ticket.message_count == 1
    assert len(repo.list_tickets(limit=50, cursor=None).items) == 1
    assert before is not None


def test_second_submission_joins_the_open_ticket(aws, lambda_context):
    handler(load_event("inbound_processor/form_record"), lambda_context)
    handler(
        _record_with(
            {
                "dedup_key": "web_form:second-submission",
                "payload": {"message": "Et pour le chargeur ?", "client_submission_id": "second-submission"},
            },
            message_id="m-2",
        ),
        lambda_context,
    )

    repo = DynamoRepository(aws["table"])
    customer = repo.get_customer(repo.identity_owner("email", "jean.martin@example.net")).value
    ticket, page = repo.ticket_messages(customer.open_ticket_id, limit=10, cursor=None)
    assert ticket.message_count == 2
    assert len(page.items) == 2
    assert customer.traits.contacts_per_channel[Channel.web_form] == 2
    assert len(repo.list_tickets(limit=50, cursor=None).items) == 1


def test_customer_found_by_phone_when_the_email_is_new(aws, lambda_context):
    handler(load_event("inbound_processor/form_record"), lambda_context)
    handler(
        _record_with(
            {
                "dedup_key": "web_form:by-phone",
                "payload": {"email": "jean.perso@example.org", "client_submission_id": "by-phone"},
            },
            message_id="m-3",
        ),
        lambda_context,
    )

    repo = DynamoRepository(aws["table"])
    first = repo.identity_owner("email", "jean.martin@example.net")
    assert repo.identity_owner("email", "jean.perso@example.org") == first
    customer = repo.get_customer(first).value
    assert sorted(i.value for i in customer.identities if i.kind is IdentityKind.email) == [
        "jean.martin@example.net",
        "jean.perso@example.org",
    ]


def test_a_broken_record_fails_alone_and_the_good_one_is_recorded(aws, lambda_context):
    response = handler(load_event("inbound_processor/good_and_broken_records"), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "1a2b3c4d-0000-4000-8000-00000000dead"}]}
    repo = DynamoRepository(aws["table"])
    assert repo.identity_owner("email", "jean.martin@example.net") is not None


class _OneCallAtATime:
    """DynamoDB applies each request atomically; moto's in-process backend is not thread-safe.
    Serialising single calls keeps that atomicity while threads still interleave between calls
    (read, read, transact), which is where the races this test is about happen."""

    def __init__(self, target, lock):
        self._target = target
        self._lock = lock

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def locked(*args, **kwargs):
            with self._lock:
                return attribute(*args, **kwargs)

        return locked


def test_concurrent_first_messages_from_one_number_make_one_customer_and_one_ticket(aws):
    repo = DynamoRepository(aws["table"])
    lock = threading.Lock()
    repo._table = _OneCallAtATime(repo._table, lock)
    repo._client = _OneCallAtATime(repo._client, lock)
    clock = FixedClock()
    errors: list[BaseException] = []
    start_together = threading.Barrier(50)

    def send(n: int) -> None:
        message = InboundMessage(
            dedup_key=f"sms:SM{n:032d}",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value="+33611111111")],
            text=f"message {n}",
            sent_at=clock.now(),
        )
        start_together.wait()
        try:
            record_message(repo, clock, message)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    owner = repo.identity_owner("phone", "+33611111111")
    customer = repo.get_customer(owner).value
    ticket = repo.get_ticket(customer.open_ticket_id).value
    assert ticket.message_count == 50
    assert len(repo.list_tickets(limit=50, cursor=None).items) == 1
    assert customer.traits.contacts_per_channel[Channel.sms] == 50
