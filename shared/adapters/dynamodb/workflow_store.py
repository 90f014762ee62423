"""What the order workflow owns on the single table (docs/data-model.md, "Order workflow").

Catalog and stock, technicians and their booked slots, quotes, the workflow record of each
order, stock reservations, the gapless invoice counter and invoices, alert records (exactly one
alert per order and stage), back-office ticket guards, surveys and CSAT. Same rules as
repository.py: GetItem, BatchGetItem, Query, conditional writes and transactions only (never a
Scan); conditional failures become domain errors (``Conflict``, ``SlotTaken``, ``OutOfStock``).

Items of one order sit in its partition (``ORDER#<id>``, beside the order item of
``OrderRepository``), so the 360 view reads the order, its links and its workflow in one Query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys, order_keys
from shared.adapters.dynamodb.items import ENTITY, from_item, iso_json, to_item, version_of
from shared.adapters.dynamodb.kpi_counters import KpiCounters
from shared.adapters.dynamodb.schema import DUE_SHARDS, PARTITION_KEY, SORT_KEY
from shared.domain.catalog import Product, Slot, SlotTaken, StockLevel, Technician
from shared.domain.common import iso
from shared.domain.errors import Conflict
from shared.domain.invoice import Invoice
from shared.domain.kpi import on_csat
from shared.domain.message import Message
from shared.domain.quote import Quote
from shared.domain.survey import Survey
from shared.domain.ticket import Ticket
from shared.domain.timeline import TimelineEntry
from shared.domain.workflow import Csat, OutOfStock, WorkflowRecord
from shared.ports import Versioned

_NEW = f"attribute_not_exists({PARTITION_KEY})"
_EXISTS = f"attribute_exists({PARTITION_KEY})"
BATCH_GET_MAX = 100
COUNTER_ATTEMPTS = 8

# ------------------------------------------------------------------ keys
TECHNICIANS_PK = "TECHNICIANS"
PRODUCT_SK = "#PRODUCT"
STOCK_SK = "#STOCK"
QUOTE_SK = "#QUOTE"
WORKFLOW_SK = "#WORKFLOW"
RESERVATION_SK = "#RESERVATION"
INVOICE_SK = "#INVOICE"
SURVEY_SK = "#SURVEY"
COUNTER_SK = "#COUNTER"
CSAT_SK = "#CSAT"
ALERT_PREFIX = "ALERT#"
TICKET_GUARD_PREFIX = "TICKETFOR#"


def product_pk(sku: str) -> str:
    return f"PRODUCT#{sku}"


def technician_sk(technician_id: str) -> str:
    return f"TECH#{technician_id}"


def technician_pk(technician_id: str) -> str:
    return f"TECH#{technician_id}"


def slot_sk(start: datetime) -> str:
    return f"SLOT#{iso(start)}"


def quote_pk(quote_id: str) -> str:
    return f"QUOTE#{quote_id}"


def invoice_counter_pk(year: int) -> str:
    return f"COUNTER#INVOICE#{year}"


def invoice_pk(number: str) -> str:
    return f"INVOICE#{number}"


def survey_pk(token: str) -> str:
    return f"SURVEY#{token}"


def survey_due_pk(shard: int) -> str:
    return f"DUE#SURVEY#{shard}"


def survey_due_keys(survey_id: str, last_sent_iso: str) -> dict[str, str]:
    """GSI3 keys while a survey waits for its answer: due for a reminder once old enough."""
    return {
        "gsi3pk": survey_due_pk(keys.shard_of(survey_id, DUE_SHARDS)),
        "gsi3sk": f"{last_sent_iso}#{survey_id}",
    }


def csat_sk(order_id: str) -> str:
    return f"CSAT#{order_id}"


@dataclass(frozen=True)
class AlertRecord:
    order_id: str
    key: str
    status: str  # sending, sent, failed, skipped
    channel: str | None
    provider_id: str | None
    at: str | None


class WorkflowStore(KpiCounters):  # TableOperations, plus add_kpis
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource (the single table)."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    @property
    def table(self) -> Any:
        return self._table

    # ------------------------------------------------------------------ catalog and stock
    def put_product(self, product: Product) -> None:
        self._table.put_item(
            Item=to_item(product, "product", self._keys(product_pk(product.sku), PRODUCT_SK))
        )

    def products(self, skus: Iterable[str]) -> dict[str, Product]:
        wanted = [{PARTITION_KEY: product_pk(s), SORT_KEY: PRODUCT_SK} for s in dict.fromkeys(skus) if s]
        return {str(i["sku"]): from_item(i, Product) for i in self._batch_get(wanted)}

    def set_stock(self, sku: str, available: int) -> None:
        """Staff count the shelf: the available quantity is set, reservations are kept."""
        self._table.update_item(
            Key=self._keys(product_pk(sku), STOCK_SK),
            UpdateExpression="SET available = :a, sku = :sku, #entity = :entity, reserved = "
            "if_not_exists(reserved, :zero)",
            ExpressionAttributeNames={"#entity": ENTITY},
            ExpressionAttributeValues={":a": available, ":sku": sku, ":entity": "stock", ":zero": 0},
        )

    def stock(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        wanted = [{PARTITION_KEY: product_pk(s), SORT_KEY: STOCK_SK} for s in dict.fromkeys(skus) if s]
        return {str(i["sku"]): from_item(i, StockLevel) for i in self._batch_get(wanted)}

    def reserve_stock(self, order_id: str, quantities: dict[str, int], at: datetime) -> bool:
        """Reserve every sku at once (one transaction) or nothing.

        Returns False if this order already holds its reservation (a retried step). Raises
        ``OutOfStock`` naming the skus short of stock, read from the cancellation reasons.
        """
        if not quantities:
            return False
        skus = sorted(quantities)
        operations: list[dict[str, Any]] = [
            self._put(
                {
                    **self._keys(order_keys.order_pk(order_id), RESERVATION_SK),
                    ENTITY: "reservation",
                    "order_id": order_id,
                    "quantities": {sku: quantities[sku] for sku in skus},
                    "reserved_at": iso(at),
                },
                _NEW,
            )
        ]
        for sku in skus:
            operations.append(
                self._update(
                    self._keys(product_pk(sku), STOCK_SK),
                    "SET available = available - :q, reserved = reserved + :q",
                    "available >= :q",
                    {},
                    {":q": quantities[sku]},
                )
            )
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            short = [
                sku for sku, code in zip(skus, reasons[1:], strict=False) if code == "ConditionalCheckFailed"
            ]
            if short:
                raise OutOfStock(short) from error
            _raise_conflict(error)
        return True

    def has_reservation(self, order_id: str) -> bool:
        return self._get(order_keys.order_pk(order_id), RESERVATION_SK) is not None

    # ------------------------------------------------------------------ technicians and slots
    def put_technician(self, technician: Technician) -> None:
        self._table.put_item(
            Item=to_item(technician, "technician", self._keys(TECHNICIANS_PK, technician_sk(technician.id)))
        )

    def technicians(self) -> list[Technician]:
        """Every technician: one Query on their partition (a team of tens, not thousands)."""
        items = self._query_all(TECHNICIANS_PK, "TECH#")
        return [from_item(item, Technician) for item in items]

    def booked_slots(
        self, technician_ids: Iterable[str], start: datetime, end: datetime
    ) -> set[tuple[str, datetime]]:
        """(technician, slot start) already booked in [start, end): one Query per technician."""
        booked: set[tuple[str, datetime]] = set()
        for technician_id in technician_ids:
            params: dict[str, Any] = {
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                "ExpressionAttributeValues": {
                    ":pk": technician_pk(technician_id),
                    ":low": slot_sk(start),
                    ":high": slot_sk(end),
                },
                "ProjectionExpression": "slot_start",
            }
            for item in self._paginate(params):
                booked.add((technician_id, datetime.fromisoformat(str(item["slot_start"]))))
        return booked

    def book_slot(
        self, slot: Slot, order_id: str, record: WorkflowRecord, expected_version: int | None
    ) -> int:
        """Book ``slot`` for the order and save the workflow record that points to it, atomically.

        ``SlotTaken`` if the slot is already booked; ``Conflict`` if the record changed.
        Returns the record's new version.
        """
        operations = [
            self._put(
                {
                    **self._keys(technician_pk(slot.technician_id), slot_sk(slot.start)),
                    ENTITY: "booking",
                    "order_id": order_id,
                    "slot_start": slot.start.isoformat(),
                    "slot_end": slot.end.isoformat(),
                },
                _NEW,
            ),
            self._workflow_put(record, expected_version),
        ]
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise SlotTaken(f"slot {iso(slot.start)} of {slot.technician_id} is taken") from error
            _raise_conflict(error)
        return (expected_version or 0) + 1

    # ------------------------------------------------------------------ quotes
    def create_quote(self, quote: Quote) -> None:
        try:
            self._table.put_item(
                Item=to_item(quote, "quote", self._keys(quote_pk(quote.id), QUOTE_SK), version=1),
                ConditionExpression=_NEW,
            )
        except ClientError as error:
            _conditional(error, f"quote {quote.id} exists")

    def get_quote(self, quote_id: str) -> Versioned[Quote] | None:
        item = self._get(quote_pk(quote_id), QUOTE_SK)
        return Versioned(from_item(item, Quote), version_of(item)) if item else None

    def save_quote(self, quote: Quote, expected_version: int) -> int:
        try:
            self._table.put_item(
                Item=to_item(
                    quote, "quote", self._keys(quote_pk(quote.id), QUOTE_SK), version=expected_version + 1
                ),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": expected_version},
            )
        except ClientError as error:
            _conditional(error, f"quote {quote.id} changed")
        return expected_version + 1

    # ------------------------------------------------------------------ workflow record
    def get_workflow(self, order_id: str) -> Versioned[WorkflowRecord] | None:
        item = self._get(order_keys.order_pk(order_id), WORKFLOW_SK, consistent=True)
        return Versioned(from_item(item, WorkflowRecord), version_of(item)) if item else None

    def save_workflow(self, record: WorkflowRecord, expected_version: int | None) -> int:
        """Create (``expected_version`` None) or replace at that version; ``Conflict`` otherwise."""
        try:
            self._client.transact_write_items(TransactItems=[self._workflow_put(record, expected_version)])
        except ClientError as error:
            _raise_conflict(error)
        return (expected_version or 0) + 1

    def _workflow_put(self, record: WorkflowRecord, expected_version: int | None) -> dict[str, Any]:
        version = 1 if expected_version is None else expected_version + 1
        item = to_item(
            record, "workflow", self._keys(order_keys.order_pk(record.order_id), WORKFLOW_SK), version
        )
        if expected_version is None:
            return self._put(item, _NEW)
        return self._put(item, "version = :v", {":v": expected_version})

    # ------------------------------------------------------------------ invoices
    def get_invoice(self, order_id: str) -> Invoice | None:
        item = self._get(order_keys.order_pk(order_id), INVOICE_SK, consistent=True)
        return from_item(item, Invoice) if item else None

    def issue_invoice(
        self, order_id: str, year: int, build: Callable[[int], Invoice]
    ) -> tuple[Invoice, bool]:
        """Number and store the order's invoice in one transaction; (invoice, newly issued).

        The year's counter moves from n-1 to n only together with the invoice numbered n and the
        order's invoice item, so numbers have no gaps and an order gets one invoice: a retried
        step finds the invoice it issued. Two orders racing for the same number: one wins, the
        other re-reads the counter and takes the next one.
        """
        for _ in range(COUNTER_ATTEMPTS):
            existing = self.get_invoice(order_id)
            if existing is not None:
                return existing, False
            counter = self._get(invoice_counter_pk(year), COUNTER_SK, consistent=True)
            last = int(counter["last"]) if counter else 0
            invoice = build(last + 1)
            guard = "attribute_not_exists(#last)" if last == 0 else "#last = :prev"
            values: dict[str, Any] = {":n": last + 1, ":entity": "counter"}
            if last:
                values[":prev"] = last
            operations = [
                self._update(
                    self._keys(invoice_counter_pk(year), COUNTER_SK),
                    "SET #last = :n, #entity = :entity",
                    guard,
                    {"#last": "last", "#entity": ENTITY},
                    values,
                ),
                self._put(
                    {
                        **self._keys(invoice_pk(invoice.number), INVOICE_SK),
                        ENTITY: "invoice_number",
                        "order_id": order_id,
                        "number": invoice.number,
                    },
                    _NEW,
                ),
                self._put(
                    to_item(invoice, "invoice", self._keys(order_keys.order_pk(order_id), INVOICE_SK)), _NEW
                ),
            ]
            try:
                self._client.transact_write_items(TransactItems=operations)
            except ClientError as error:
                reasons = _reasons(error)
                if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in reasons):
                    continue  # a concurrent invoice took the number, or this order was just invoiced
                raise
            return invoice, True
        raise Conflict(f"could not number the invoice of order {order_id}: too much contention")

    def order_for_invoice(self, number: str) -> str | None:
        item = self._get(invoice_pk(number), INVOICE_SK)
        return str(item["order_id"]) if item else None

    # ------------------------------------------------------------------ alerts (exactly once)
    def claim_alert(self, order_id: str, key: str, at: datetime, lease_until: datetime) -> bool:
        """Take the right to send alert ``key`` of the order. False if it was sent, skipped, or is
        being sent by a live attempt; a failed attempt, or one whose lease ran out, is retaken."""
        try:
            self._table.put_item(
                Item={
                    **self._keys(order_keys.order_pk(order_id), ALERT_PREFIX + key),
                    ENTITY: "alert",
                    "order_id": order_id,
                    "key": key,
                    "status": "sending",
                    "claimed_at": iso(at),
                    "lease_until": iso(lease_until),
                },
                ConditionExpression=(
                    f"{_NEW} OR #status = :failed OR (#status = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":failed": "failed", ":sending": "sending", ":now": iso(at)},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def complete_alert(
        self,
        order_id: str,
        key: str,
        *,
        status: str,
        channel: str | None,
        provider_id: str | None,
        customer_id: str | None,
        timeline: TimelineEntry | None,
    ) -> None:
        """Mark the claimed alert sent (or skipped) and put it on the customer's timeline, together."""
        sets = "#status = :status, done_at = :at"
        values: dict[str, Any] = {
            ":status": status,
            ":at": iso(timeline.at) if timeline else "",
            ":sending": "sending",
        }
        if channel:
            sets += ", channel = :channel"
            values[":channel"] = channel
        if provider_id:
            sets += ", provider_id = :provider"
            values[":provider"] = provider_id
        operations = [
            self._update(
                self._keys(order_keys.order_pk(order_id), ALERT_PREFIX + key),
                "SET " + sets + " REMOVE lease_until",
                "#status = :sending",
                {"#status": "status"},
                values,
            )
        ]
        if timeline is not None and customer_id:
            operations.append(self._put(self._timeline_item(customer_id, timeline)))
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            _raise_conflict(error)

    def release_alert(self, order_id: str, key: str, reason: str) -> None:
        """The send failed: let the next attempt take it again."""
        self._table.update_item(
            Key=self._keys(order_keys.order_pk(order_id), ALERT_PREFIX + key),
            UpdateExpression="SET #status = :failed, failure = :reason REMOVE lease_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":failed": "failed", ":reason": reason[:200]},
        )

    def alerts(self, order_id: str) -> list[AlertRecord]:
        items = self._query_all(order_keys.order_pk(order_id), ALERT_PREFIX)
        return [
            AlertRecord(
                order_id=order_id,
                key=str(item["key"]),
                status=str(item["status"]),
                channel=item.get("channel"),
                provider_id=item.get("provider_id"),
                at=item.get("done_at"),
            )
            for item in items
        ]

    # ------------------------------------------------------------------ back-office tickets
    def open_ticket(self, order_id: str, reason: str, ticket: Ticket, note: Message) -> tuple[str, bool]:
        """Create the ticket for (order, reason) once: (ticket id, newly created).

        A guard item ``ORDER#<id>`` / ``TICKETFOR#<reason>`` is put in the same transaction as the
        ticket (same item shape and list keys as an inbound ticket, so it shows in the agents'
        list) and its first note; a retried step finds the guard and the ticket it opened.
        """
        guard_keys = self._keys(order_keys.order_pk(order_id), TICKET_GUARD_PREFIX + reason)
        ticket_keys = {
            **self._keys(keys.ticket_pk(ticket.id), keys.TICKET_SK),
            **keys.ticket_list_keys(ticket.id, iso(ticket.created_at)),
        }
        message_keys = self._keys(keys.ticket_pk(ticket.id), keys.message_sk(iso(note.sent_at), note.id))
        operations = [
            self._put({**guard_keys, ENTITY: "ticket_guard", "ticket_id": ticket.id, "reason": reason}, _NEW),
            self._put(to_item(ticket, "ticket", ticket_keys, version=1), _NEW),
            self._put(to_item(note, "message", message_keys), _NEW),
        ]
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                existing = self._get(guard_keys[PARTITION_KEY], guard_keys[SORT_KEY], consistent=True)
                if existing is None:
                    raise Conflict("ticket guard vanished") from error
                return str(existing["ticket_id"]), False
            _raise_conflict(error)  # a reference collision (40 bits): the step is retried
        return ticket.id, True

    def open_tickets(self, order_id: str, reason_prefix: str) -> list[tuple[str, str]]:
        """(reason, ticket id) of the order's ticket guards under ``reason_prefix`` that the
        workflow has not marked resolved (one Query on the order's partition)."""
        items = self._query_all(order_keys.order_pk(order_id), TICKET_GUARD_PREFIX + reason_prefix)
        return [(str(i["reason"]), str(i["ticket_id"])) for i in items if "resolved_at" not in i]

    def mark_ticket_resolved(self, order_id: str, reason: str, at: datetime) -> None:
        self._table.update_item(
            Key=self._keys(order_keys.order_pk(order_id), TICKET_GUARD_PREFIX + reason),
            UpdateExpression="SET resolved_at = :at",
            ConditionExpression=_EXISTS,
            ExpressionAttributeValues={":at": iso(at)},
        )

    # ------------------------------------------------------------------ surveys and CSAT
    def create_survey(self, survey: Survey) -> tuple[Survey, bool]:
        """One survey per order: (the survey, newly created)."""
        pointer = self._keys(order_keys.order_pk(survey.order_id), SURVEY_SK)
        survey_keys = {
            **self._keys(survey_pk(survey.token), SURVEY_SK),
            **survey_due_keys(survey.id, iso(survey.last_sent_at)),
        }
        operations = [
            self._put({**pointer, ENTITY: "survey_pointer", "token": survey.token}, _NEW),
            self._put(to_item(survey, "survey", survey_keys, version=1), _NEW),
        ]
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                existing = self.survey_for_order(survey.order_id)
                if existing is None:
                    raise Conflict("survey pointer without survey") from error
                return existing.value, False
            _raise_conflict(error)
        return survey, True

    def get_survey(self, token: str) -> Versioned[Survey] | None:
        item = self._get(survey_pk(token), SURVEY_SK, consistent=True)
        return Versioned(from_item(item, Survey), version_of(item)) if item else None

    def survey_for_order(self, order_id: str) -> Versioned[Survey] | None:
        pointer = self._get(order_keys.order_pk(order_id), SURVEY_SK, consistent=True)
        return self.get_survey(str(pointer["token"])) if pointer else None

    def due_surveys(self, sent_before: datetime, limit: int = 500) -> list[Versioned[Survey]]:
        """Unanswered surveys last sent before ``sent_before``, oldest first: Query each GSI3
        shard, following its pages, up to ``limit`` per shard (what is left waits for the next
        run, still due)."""
        found: list[Versioned[Survey]] = []
        for shard in range(DUE_SHARDS):
            params: dict[str, Any] = {
                "IndexName": "GSI3",
                "KeyConditionExpression": "gsi3pk = :pk AND gsi3sk < :before",
                "ExpressionAttributeValues": {":pk": survey_due_pk(shard), ":before": iso(sent_before)},
            }
            taken = 0
            while taken < limit:
                response = self._table.query(**params, Limit=min(100, limit - taken))
                items = response.get("Items", [])
                found += [Versioned(from_item(i, Survey), version_of(i)) for i in items]
                taken += len(items)
                if "LastEvaluatedKey" not in response:
                    break
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found

    def mark_reminded(self, survey: Survey, version: int, at: datetime, *, last: bool) -> bool:
        """One more reminder sent; the survey leaves the due index after the last one. False if the
        survey changed meanwhile (answered, or reminded by a concurrent run)."""
        updated = survey.model_copy(update={"reminders_sent": survey.reminders_sent + 1, "last_sent_at": at})
        item_keys = self._keys(survey_pk(survey.token), SURVEY_SK)
        if not last:
            item_keys.update(survey_due_keys(survey.id, iso(at)))
        try:
            self._table.put_item(
                Item=to_item(updated, "survey", item_keys, version=version + 1),
                ConditionExpression="version = :v AND attribute_not_exists(answered_at)",
                ExpressionAttributeValues={":v": version},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_answer(self, survey: Survey, version: int, csat: Csat, timeline: TimelineEntry | None) -> None:
        """The answer, everywhere it counts, in one transaction: the survey (off the due index),
        the order's workflow record, the customer (an entry and running totals), the technician
        (the same), and the customer's timeline. ``Conflict`` if it was answered already. Then
        the day's CSAT KPIs (kpi.on_csat), once the answer has committed."""
        answered = survey.model_copy(
            update={"answered_at": csat.answered_at, "score": csat.score, "comment": csat.comment}
        )
        csat_json = csat.model_dump(mode="json", exclude_none=True)
        at = iso_json(csat.answered_at)
        entry = {
            ENTITY: "csat",
            "order_id": survey.order_id,
            "score": csat.score,
            "answered_at": at,
        }
        operations = [
            self._put(
                to_item(
                    answered, "survey", self._keys(survey_pk(survey.token), SURVEY_SK), version=version + 1
                ),
                "version = :v AND attribute_not_exists(answered_at)",
                {":v": version},
            ),
            self._update(
                self._keys(order_keys.order_pk(survey.order_id), WORKFLOW_SK),
                "SET csat = :csat, updated_at = :at ADD version :one",
                _EXISTS,
                {},
                {":csat": csat_json, ":at": at, ":one": 1},
            ),
            self._put(
                {**self._keys(keys.customer_pk(survey.customer_id), csat_sk(survey.order_id)), **entry}
            ),
            self._totals(self._keys(keys.customer_pk(survey.customer_id), CSAT_SK), csat.score, at),
        ]
        if survey.technician_id:
            technician = technician_pk(survey.technician_id)
            operations.append(self._put({**self._keys(technician, csat_sk(survey.order_id)), **entry}))
            operations.append(self._totals(self._keys(technician, CSAT_SK), csat.score, at))
        if timeline is not None:
            operations.append(self._put(self._timeline_item(survey.customer_id, timeline)))
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            _raise_conflict(error)
        self.add_kpis(on_csat(csat.score, survey.technician_id, csat.answered_at))

    def csat_totals(self, pk: str) -> tuple[int, int]:
        """(answers, sum of scores) of a customer (``CUSTOMER#<id>``) or technician (``TECH#<id>``)."""
        item = self._get(pk, CSAT_SK)
        return (int(item["answers"]), int(item["score_sum"])) if item else (0, 0)

    def _totals(self, item_keys: dict[str, str], score: int, at: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._name,
                "Key": item_keys,
                "UpdateExpression": (
                    "SET #entity = :entity, last_answer_at = :at ADD answers :one, score_sum :score"
                ),
                "ExpressionAttributeNames": {"#entity": ENTITY},
                "ExpressionAttributeValues": {
                    ":entity": "csat_totals",
                    ":at": at,
                    ":one": 1,
                    ":score": score,
                },
            }
        }

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _keys(pk: str, sk: str) -> dict[str, str]:
        return {PARTITION_KEY: pk, SORT_KEY: sk}

    def _get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(
            Key=self._keys(pk, sk), ConsistentRead=consistent
        ).get("Item")
        return item

    def _paginate(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**params)
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            params = {**params, "ExclusiveStartKey": last}

    def _query_all(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        return self._paginate(
            {
                "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                "ExpressionAttributeValues": {":pk": pk, ":prefix": prefix},
            }
        )

    def _batch_get(self, item_keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(item_keys), BATCH_GET_MAX):
            pending: dict[str, Any] = {self._name: {"Keys": item_keys[start : start + BATCH_GET_MAX]}}
            for _ in range(8):
                response = self._client.batch_get_item(RequestItems=pending)
                found += response.get("Responses", {}).get(self._name, [])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise Conflict("DynamoDB kept keys unprocessed; retry later")
        return found


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _reasons(error: ClientError) -> list[str]:
    if _code(error) != "TransactionCanceledException":
        raise error
    return [str(r.get("Code") or "None") for r in error.response.get("CancellationReasons") or []]


def _raise_conflict(error: ClientError) -> NoReturn:
    """Transactions whose guard failed or that raced another one -> ``Conflict`` (re-read, retry)."""
    reasons = _reasons(error)
    if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in reasons):
        raise Conflict("a concurrent write changed the records; re-read and retry") from error
    raise error


def _conditional(error: ClientError, message: str) -> NoReturn:
    if _code(error) == "ConditionalCheckFailedException":
        raise Conflict(message) from error
    raise error
