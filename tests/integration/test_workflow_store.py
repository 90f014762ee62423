"""WorkflowStore on moto: the invariants its conditional writes and transactions guard.

Races are played out one writer after the other, or by handing a writer a stale read: moto's
transactions are not thread-safe (it deep-copies tables while another thread writes), and a
condition expression decides the same whatever the timing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.domain.catalog import Product, Slot, SlotTaken
from shared.domain.common import Address, Channel
from shared.domain.errors import Conflict
from shared.domain.invoice import build_invoice
from shared.domain.message import Direction, Message
from shared.domain.order import BillableStatus, Order, OrderLine, OrderSource
from shared.domain.survey import new_survey
from shared.domain.ticket import Ticket
from shared.domain.workflow import Csat, OutOfStock, WorkflowRecord

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(aws) -> WorkflowStore:
    return WorkflowStore(aws["table"])


def _record(order_id: str) -> WorkflowRecord:
    return WorkflowRecord(order_id=order_id, updated_at=NOW)


def test_a_slot_is_never_booked_twice(store: WorkflowStore) -> None:
    slot = Slot(technician_id="T1", start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=2))

    def book(order_id: str) -> str:
        try:
            store.book_slot(slot, order_id, _record(order_id), None)
        except SlotTaken:
            return "taken"
        return "booked"

    outcomes = [book(f"O{n}") for n in range(8)]  # every one read the slot as free
    assert outcomes == ["booked"] + ["taken"] * 7
    assert store.booked_slots(["T1"], NOW, NOW + timedelta(days=2)) == {("T1", slot.start)}
    # The loser's workflow record was not written either (one transaction).
    assert sum(store.get_workflow(f"O{n}") is not None for n in range(8)) == 1


def test_stock_is_reserved_all_or_nothing_and_once(store: WorkflowStore) -> None:
    store.set_stock("A", 2)
    store.set_stock("B", 0)
    with pytest.raises(OutOfStock) as short:
        store.reserve_stock("O1", {"A": 1, "B": 1}, NOW)
    assert short.value.skus == ["B"]
    assert store.stock(["A"])["A"].available == 2  # nothing taken from A either
    store.set_stock("B", 1)
    assert store.reserve_stock("O1", {"A": 1, "B": 1}, NOW) is True
    assert store.reserve_stock("O1", {"A": 1, "B": 1}, NOW) is False  # a retried step
    levels = store.stock(["A", "B"])
    assert (levels["A"].available, levels["A"].reserved, levels["B"].available) == (1, 1, 0)


def test_reservations_never_oversell(store: WorkflowStore) -> None:
    store.set_stock("A", 3)

    def reserve(order_id: str) -> bool:
        for _ in range(20):
            try:
                return store.reserve_stock(order_id, {"A": 1}, NOW)
            except OutOfStock:
                return False
            except Conflict:
                continue
        return False

    results = [reserve(f"O{n}") for n in range(8)]
    assert results == [True] * 3 + [False] * 5
    assert store.stock(["A"])["A"].available == 0


def _billable_order(order_id: str) -> Order:
    address = Address(name="A", line1="1 rue", postal_code="75001", city="Paris", country="FR")
    return Order(
        id=order_id,
        number=f"CMD-{order_id}",
        source=OrderSource.portal,
        customer_id="C1",
        lines=[
            OrderLine(
                id="L1",
                title="x",
                quantity=1,
                unit_price=Decimal("10"),
                billable_status=BillableStatus.billable,
            )
        ],
        billing_address=address,
        created_at=NOW,
        updated_at=NOW,
    )


def _issue(store: WorkflowStore, order_id: str, year: int = 2026) -> str:
    order = _billable_order(order_id)
    invoice, _ = store.issue_invoice(order_id, year, lambda seq: build_invoice(order, year, seq, NOW))
    return invoice.number


def test_invoice_numbers_are_gapless_and_one_per_order(store: WorkflowStore) -> None:
    numbers = [_issue(store, f"O{n}") for n in range(6)]
    assert numbers == [f"F2026-{n:06d}" for n in range(1, 7)]
    again, new = store.issue_invoice(
        "O0", 2026, lambda seq: build_invoice(_billable_order("O0"), 2026, seq, NOW)
    )
    assert not new and again.number == numbers[0]
    assert store.order_for_invoice(numbers[0]) == "O0"
    assert _issue(store, "O9", 2027) == "F2027-000001"  # numbering restarts each year


def test_a_writer_that_read_a_stale_counter_takes_the_next_number(
    store: WorkflowStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders read counter = 0; the first takes 1; the second's transaction is cancelled
    (counter no longer 0), re-reads and takes 2: no duplicate, no gap."""
    assert _issue(store, "O1") == "F2026-000001"
    real_get = store._get
    stale = {"served": False}

    def stale_counter(pk: str, sk: str, consistent: bool = False):  # type: ignore[no-untyped-def]
        if pk.startswith("COUNTER#") and not stale["served"]:
            stale["served"] = True
            return None  # what the second writer saw before the first one committed
        return real_get(pk, sk, consistent)

    monkeypatch.setattr(store, "_get", stale_counter)
    assert _issue(store, "O2") == "F2026-000002"
    assert stale["served"]


def test_an_alert_is_claimed_once_and_a_failed_send_can_be_retried(store: WorkflowStore) -> None:
    lease = NOW + timedelta(minutes=15)
    claims = [store.claim_alert("O1", "received", NOW, lease) for _ in range(8)]
    assert claims == [True] + [False] * 7
    store.release_alert("O1", "received", "ThrottlingException")
    assert store.claim_alert("O1", "received", NOW, lease) is True
    store.complete_alert(
        "O1", "received", status="sent", channel="email", provider_id="p1", customer_id=None, timeline=None
    )
    assert store.claim_alert("O1", "received", NOW + timedelta(days=1), lease) is False  # sent: never again
    # A claim whose sender died is retaken once its lease has run out.
    assert store.claim_alert("O1", "scheduled", NOW, lease) is True
    assert store.claim_alert("O1", "scheduled", NOW + timedelta(minutes=5), lease) is False
    assert store.claim_alert("O1", "scheduled", NOW + timedelta(minutes=16), lease) is True
    assert {(a.key, a.status) for a in store.alerts("O1")} == {("received", "sent"), ("scheduled", "sending")}


def test_one_ticket_per_order_and_reason(store: WorkflowStore) -> None:
    def ticket(ref: str) -> tuple[Ticket, Message]:
        t = Ticket(id=ref, channel=Channel.portal, customer_id="C1", created_at=NOW, updated_at=NOW)
        m = Message(
            id=f"M{ref}",
            ticket_id=ref,
            channel=Channel.portal,
            direction=Direction.internal,
            text="x",
            sent_at=NOW,
            received_at=NOW,
        )
        return t, m

    first = store.open_ticket("O1", "billing-hold", *ticket("AAAAAAAA"))
    second = store.open_ticket("O1", "billing-hold", *ticket("BBBBBBBB"))
    assert first == ("AAAAAAAA", True) and second == ("AAAAAAAA", False)
    assert store.open_ticket("O1", "low-csat", *ticket("CCCCCCCC")) == ("CCCCCCCC", True)


def test_survey_due_index_reminders_and_answer(store: WorkflowStore) -> None:
    store.save_workflow(_record("O1"), None)
    survey, created = store.create_survey(new_survey("O1", "CMD-1", "C1", "T1", NOW))
    assert created
    duplicate, created = store.create_survey(new_survey("O1", "CMD-1", "C1", "T1", NOW))
    assert not created and duplicate.token == survey.token  # one survey per order
    assert store.due_surveys(NOW + timedelta(days=1) - timedelta(days=3)) == []
    (due,) = store.due_surveys(NOW + timedelta(seconds=1))
    assert store.mark_reminded(due.value, due.version, NOW + timedelta(days=3), last=False)
    assert not store.mark_reminded(due.value, due.version, NOW + timedelta(days=3), last=False)  # stale
    (due,) = store.due_surveys(NOW + timedelta(days=3, seconds=1))
    assert due.value.reminders_sent == 1
    assert store.mark_reminded(due.value, due.version, NOW + timedelta(days=6), last=True)
    assert store.due_surveys(NOW + timedelta(days=365)) == []  # off the index after the last one

    current = store.get_survey(survey.token)
    assert current is not None
    store.record_answer(
        current.value, current.version, Csat(score=4, answered_at=NOW, technician_id="T1"), None
    )
    with pytest.raises(Conflict):
        store.record_answer(current.value, current.version, Csat(score=1, answered_at=NOW), None)
    assert store.get_workflow("O1").value.csat.score == 4  # type: ignore[union-attr]
    assert store.csat_totals("CUSTOMER#C1") == (1, 4)
    assert store.csat_totals("TECH#T1") == (1, 4)


def test_catalog_and_technicians_round_trip(store: WorkflowStore) -> None:
    store.put_product(Product(sku="A", title="A", unit_price=Decimal("1.50")))
    assert store.products(["A", "missing"])["A"].unit_price == Decimal("1.50")
    assert store.products([]) == {}


def test_due_surveys_follow_pages_up_to_the_limit(store: WorkflowStore) -> None:
    for n in range(12):
        store.save_workflow(_record(f"O{n}"), None)
        store.create_survey(new_survey(f"O{n}", f"CMD-{n}", "C1", None, NOW + timedelta(seconds=n)))
    later = NOW + timedelta(days=1)
    assert len(store.due_surveys(later)) == 12
    limited = store.due_surveys(later, limit=1)
    assert 1 <= len(limited) <= 4  # at most one per shard
