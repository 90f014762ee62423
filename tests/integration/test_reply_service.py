"""send_reply and the canned responses on moto, with FakeOutboundChannel: the races (a status
webhook before the record, a ticket changed meanwhile), SLA and queue effects, canned rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.outbound_store import OutboundStore
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.outbound import ProviderRejected, RejectionKind
from shared.adapters.outbound.fakes import fake_channels
from shared.domain.agent import Agent
from shared.domain.canned import CannedAttachment, CannedResponse, CannedVariant
from shared.domain.common import Channel, iso
from shared.domain.errors import NotFound
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.message import DeliveryStatus
from shared.domain.replies import ReplyRefused
from shared.domain.routing import waiting_position
from shared.domain.ticket import TicketStatus
from shared.services import canned_responses
from shared.services.ingest import record_message
from shared.services.replies import Author, ReplyDraft, ReplyNotSent, send_reply
from tests.support import FixedClock

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday, within office hours
AGENT = Author(id="agent-paul")


class World:
    def __init__(self, table: Any) -> None:
        self.table = table
        self.repo = DynamoRepository(table)
        self.store = OutboundStore(table)
        self.orders = OrderRepository(table)
        self.clock = FixedClock(NOW)
        self.fake, self.channels = fake_channels()

    def seed(
        self, channel: Channel, kind: IdentityKind, value: str, ago: timedelta = timedelta(hours=1)
    ) -> str:
        result = record_message(
            self.repo,
            FixedClock(NOW - ago),
            InboundMessage(
                dedup_key=f"{channel.value}:{value}:{ago}",
                channel=channel,
                identities=[IdentityClaim(kind=kind, value=value)],
                first_name="Léa",
                text="Bonjour",
                sent_at=NOW - ago,
            ),
        )
        assert result.ticket_id
        return result.ticket_id

    def reply(self, ticket_id: str, **draft: Any) -> Any:
        return send_reply(
            reader=self.repo,
            orders=self.orders,
            store=self.store,
            channels=self.channels,
            clock=self.clock,
            ticket_id=ticket_id,
            draft=ReplyDraft(**draft),
            author=AGENT,
        )

    def ticket(self, ticket_id: str) -> Any:
        found = self.repo.get_ticket(ticket_id)
        assert found is not None
        return found


@pytest.fixture
def world(aws: dict[str, Any]) -> World:
    return World(aws["table"])


def test_a_status_that_arrives_before_the_record_is_kept(world: World) -> None:
    """Twilio can call back before the reply is recorded: the message starts delivered."""
    ticket_id = world.seed(Channel.whatsapp, IdentityKind.whatsapp, "33612345678")
    first_id = "wamid.fake" + f"{1:032d}"  # what the fake answers to its first send
    world.repo.apply_delivery_status(
        "status:early",
        channel="whatsapp",
        provider_id=first_id,
        ref=None,
        status=DeliveryStatus.delivered,
        error=None,
        timeline=None,
    )

    outcome = world.reply(ticket_id, text="Bonjour")

    assert outcome.message.delivery_status is DeliveryStatus.delivered
    ref = world.repo.provider_message("whatsapp", first_id)
    assert ref is not None and ref.ticket_id == ticket_id and ref.customer_id
    assert ref.status_rank == DeliveryStatus.delivered.rank
    _, page = world.repo.ticket_messages(ticket_id, 10, None)
    assert page.items[-1].delivery_status is DeliveryStatus.delivered


def test_a_ticket_changed_meanwhile_is_read_again_and_the_reply_recorded_once(world: World) -> None:
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    original = world.store.record_reply
    calls: list[int] = []

    def concurrent_change_first(write: Any) -> Any:
        if not calls:  # another agent tags the ticket between our read and our write
            world.table.update_item(
                Key={"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
                UpdateExpression="SET tags = :t ADD version :one",
                ExpressionAttributeValues={":t": ["vip"], ":one": 1},
            )
        calls.append(1)
        return original(write)

    world.store.record_reply = concurrent_change_first  # type: ignore[method-assign]
    outcome = world.reply(ticket_id, text="Bonjour")

    assert len(calls) == 2
    assert len(world.fake.sent) == 1  # sent once, whatever the retries of the record
    found = world.ticket(ticket_id)
    assert found.value.tags == ["vip"]  # the other change survived
    assert found.value.sla.first_responded_at == NOW
    assert found.value.message_count == 2
    assert outcome.segments == 1


def test_a_late_first_response_is_recorded_as_a_breach(world: World) -> None:
    on_time = world.seed(Channel.sms, IdentityKind.phone, "+33612345678", ago=timedelta(hours=1))
    late = world.seed(Channel.sms, IdentityKind.phone, "+33699999999", ago=timedelta(days=1))

    world.reply(on_time, text="Bonjour")
    world.reply(late, text="Bonjour")

    assert world.ticket(on_time).value.sla.breached == []
    clock = world.ticket(late).value.sla
    assert clock.first_responded_at == NOW and clock.breached == ["first_response"]
    item = world.table.get_item(Key={"pk": f"TICKET#{late}", "sk": "#TICKET"})["Item"]
    # The SLA check now watches the resolution deadline (the first response is met, late).
    [(_, due_sk)] = [
        (k, v) for k, v in item.items() if k in keys.sla_due_keys(late, "-") and k.endswith("sk")
    ]
    assert due_sk.startswith(clock.resolution_due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))


def test_back_to_open_resumes_the_clock_and_the_queue(world: World) -> None:
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    world.reply(ticket_id, text="Une photo ?", status="pending_customer")
    world.clock.advance(hours=2)

    world.reply(ticket_id, text="Finalement, c'est bon.", status="open")

    found = world.ticket(ticket_id)
    assert found.value.status is TicketStatus.open
    assert found.value.sla.paused_since is None and found.value.sla.paused_seconds == 2 * 3600
    item = world.table.get_item(Key={"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"})["Item"]
    position = waiting_position(found.value)
    assert position is not None
    queue = keys.queue_keys(position.topic.value, position.sort_key, ticket_id)
    assert {k: item.get(k) for k in queue} == queue  # back in its queue, at its place
    due = keys.sla_due_keys(ticket_id, "-")
    assert all(item.get(k) for k in due)  # and watched by the SLA check again
    stats = world.table.get_item(Key={"pk": f"QUEUESTATS#{found.value.topic.value}", "sk": "#STATS"})["Item"]
    assert stats["backlog"] == 1


def test_a_rejection_is_recorded_and_raised_with_the_recorded_message(world: World) -> None:
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    world.fake.fail_next(
        ProviderRejected(
            "twilio", status=400, code="21610", provider_message="unsubscribed", kind=RejectionKind.recipient
        )
    )

    with pytest.raises(ReplyNotSent) as caught:
        world.reply(ticket_id, text="Bonjour")

    assert caught.value.failure.http_status == 502
    assert caught.value.message.delivery_status is DeliveryStatus.failed
    audit = world.repo.ticket_audit(ticket_id, 10)
    assert [a.action for a in audit] == ["reply_failed"]
    assert world.repo.provider_message("sms", "anything") is None


def test_the_window_counts_from_the_profiles_last_contact_on_another_ticket(world: World) -> None:
    """A long ticket's old messages are not read: the profile's last contact still counts."""
    ticket_id = world.seed(Channel.whatsapp, IdentityKind.whatsapp, "33612345678", ago=timedelta(days=2))
    customer_id = world.ticket(ticket_id).value.customer_id
    world.table.update_item(
        Key={"pk": f"CUSTOMER#{customer_id}", "sk": "#PROFILE"},
        UpdateExpression="SET traits.last_contact_at = :at, traits.last_inbound_channel = :c",
        ExpressionAttributeValues={":at": (NOW - timedelta(hours=2)).isoformat(), ":c": "whatsapp"},
    )

    outcome = world.reply(ticket_id, text="Bonjour")

    assert outcome.decision.allowed


def test_refusals_name_what_to_do(world: World) -> None:
    ticket_id = world.seed(Channel.whatsapp, IdentityKind.whatsapp, "33612345678")
    with pytest.raises(ReplyRefused) as caught:
        world.reply(ticket_id, text="Bonjour", channel="messenger")
    assert caught.value.code == "never_contacted"
    with pytest.raises(ReplyRefused) as caught:
        world.reply(ticket_id, text="Bonjour", channel="email")
    assert caught.value.code == "no_address"
    assert world.fake.attempts == []


# --- canned responses ---------------------------------------------------------------------


def _canned(**fields: Any) -> CannedResponse:
    values: dict[str, Any] = {
        "id": "shipping-delay",
        "title": "Retard de livraison",
        "body": "Bonjour {{customer.first_name}}, votre commande {{order.number}} est en route. "
        "{{agent.first_name}}",
        "variants": {Channel.sms: CannedVariant(body='Commande {{order.number | "en cours"}} en route.')},
        "attachments": [
            CannedAttachment(name="CGV", content_type="application/pdf", url="https://shop.example/cgv.pdf")
        ],
        "whatsapp_template": "order_update",
    }
    values.update(fields)
    return CannedResponse(**values)


def test_canned_crud_and_bounded_listing(world: World) -> None:
    for n in range(5):
        canned_responses.save(world.store, f"c{n}", _canned(id=f"c{n}"), by="agent:alice")
    page = canned_responses.list_canned(world.store, 2, None)
    assert [c.id for c in page.items] == ["c0", "c1"] and page.next_cursor
    rest = canned_responses.list_canned(world.store, 10, page.next_cursor)
    assert [c.id for c in rest.items] == ["c2", "c3", "c4"] and rest.next_cursor is None
    assert canned_responses.get(world.store, "c3").attachments[0].url == "https://shop.example/cgv.pdf"
    canned_responses.delete(world.store, "c3")
    with pytest.raises(NotFound):
        canned_responses.delete(world.store, "c3")


def test_preview_fills_the_ticket_context_and_checks_the_length(world: World) -> None:
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    world.store.put_canned(_canned(), "agent:alice")
    # The name customers read is the one admins gave the agent's profile, not the token's.
    world.repo.save_agent(Agent(id="agent-paul", name="Paul-Henri Martin", first_name="Paul", email="p@x.fr"))

    shown = canned_responses.preview_on_ticket(
        reader=world.repo,
        orders=world.orders,
        store=world.store,
        ticket_id=ticket_id,
        canned_id="shipping-delay",
        channel=Channel.whatsapp,
        agent_id="agent-paul",
    )

    assert shown.text.startswith("Bonjour Léa, votre commande {{order.number}} est en route. Paul")
    assert shown.missing == ["order.number"] and not shown.ready
    assert shown.length.limit == 4096

    sms = canned_responses.preview_on_ticket(
        reader=world.repo,
        orders=world.orders,
        store=world.store,
        ticket_id=ticket_id,
        canned_id="shipping-delay",
        channel=None,  # the reply's channel: SMS, the customer's last
        agent_id="agent-without-profile",
    )
    assert sms.channel is Channel.sms and sms.variant is Channel.sms
    assert sms.text == "Commande en cours en route." and sms.ready
    assert sms.length.segments == 1


def test_a_canned_reply_is_rendered_strictly_with_its_links(world: World) -> None:
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    world.store.put_canned(_canned(), "agent:alice")

    outcome = world.reply(ticket_id, canned_id="shipping-delay")

    assert outcome.message.text == "Commande en cours en route.\n\nCGV: https://shop.example/cgv.pdf"
    assert outcome.message.metadata["canned_id"] == "shipping-delay"
    assert outcome.message.attachments[0].url == "https://shop.example/cgv.pdf"

    with pytest.raises(ReplyRefused) as caught:  # the default wording needs an order number
        world.reply(ticket_id, canned_id="shipping-delay", channel="whatsapp")
    assert caught.value.code == "missing_variables" and "order.number" in caught.value.reason


def test_the_template_hint_comes_with_the_refusal_outside_the_window(world: World) -> None:
    ticket_id = world.seed(Channel.whatsapp, IdentityKind.whatsapp, "33612345678", ago=timedelta(days=2))
    world.store.put_canned(_canned(body="Bonjour {{customer.first_name}}"), "agent:alice")

    with pytest.raises(ReplyRefused) as caught:
        world.reply(ticket_id, canned_id="shipping-delay")

    assert caught.value.code == "template_required"
    assert 'approved template is "order_update"' in caught.value.reason


def test_a_reply_leaves_the_index_keys_it_does_not_decide(world: World) -> None:
    """An assigned ticket stays filed under its agent (and in the list): a reply writes only
    what it decides, so keys other changes own survive it."""
    ticket_id = world.seed(Channel.sms, IdentityKind.phone, "+33612345678")
    ticket = world.ticket(ticket_id).value
    filed = keys.assignee_keys("agent-paul", iso(ticket.created_at), ticket_id)
    listed = keys.ticket_list_keys(ticket_id, iso(ticket.created_at))
    world.table.update_item(
        Key={"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
        UpdateExpression="SET assignee_id = :a, "
        + ", ".join(f"{k} = :{k}" for k in filed)
        + " ADD version :one",
        ExpressionAttributeValues={":a": "agent-paul", ":one": 1, **{f":{k}": v for k, v in filed.items()}},
    )

    world.reply(ticket_id, text="Bonjour", status="pending_customer")

    item = world.table.get_item(Key={"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"})["Item"]
    assert {k: item.get(k) for k in filed} == filed
    assert {k: item.get(k) for k in listed} == listed
    assert item["assignee_id"] == "agent-paul" and item["status"] == "pending_customer"


def test_an_echo_recorded_first_keeps_its_lookup_and_the_reply_is_still_recorded(world: World) -> None:
    ticket_id = world.seed(Channel.messenger, IdentityKind.messenger, "PSID-1")
    first_mid = "m_fake" + f"{1:032d}"
    world.table.put_item(
        Item={
            "pk": f"PROVIDERMSG#messenger:{first_mid}",
            "sk": "#PROVIDER",
            "entity": "provider_message",
            "ticket_id": ticket_id,
            "message_sk": "MSG#echo",
            "delivery_rank": DeliveryStatus.sent.rank,
        }
    )

    outcome = world.reply(ticket_id, text="Bonjour")

    assert outcome.message.delivery_status is DeliveryStatus.sent
    _, page = world.repo.ticket_messages(ticket_id, 10, None)
    assert outcome.message.id in [m.id for m in page.items]
    ref = world.repo.provider_message("messenger", first_mid)
    assert ref is not None and ref.message_sk == "MSG#echo"
