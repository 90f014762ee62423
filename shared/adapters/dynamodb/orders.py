"""Orders and commerce on the single table: the order data layer of the back office.

The workflow (Step Functions handlers) and the e-commerce sync both go through this class.
What the workflow needs is small and stable:

* ``get_order(order_id)`` -> ``Versioned[Order] | None``
* ``save_order(order, expected_version)`` -> the new version (``Conflict`` if someone wrote first)
* ``record_stage(order_id, stage, at, note, expected_stage=...)`` -> moved or already there
* ``link_ticket`` / ``link_message`` -> the 360 order view gathers what is linked
* ``mark_satisfaction_requested(order_id, at)`` -> the first caller wins (idempotent hook)

Reads are GetItem, BatchGetItem and Query (no Scan). Writes that guard an invariant are
conditional or transactional, and cancellation reasons become domain errors as in
repository.py: ``Duplicate`` (idempotency record exists), ``IdentityTaken`` (an identifier has
an owner), ``Conflict`` (a version or state guard failed: re-read and retry), ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import cursor as cursors
from shared.adapters.dynamodb import keys, order_keys
from shared.adapters.dynamodb.items import ENTITY, from_item, iso_json, to_item, version_of
from shared.adapters.dynamodb.operations import TableOperations
from shared.adapters.dynamodb.schema import DEDUP_TTL_DAYS, DUE_SHARDS, PARTITION_KEY, SORT_KEY
from shared.domain.common import iso
from shared.domain.customer import STORED_ORDERS_VALUE, Customer, Identity
from shared.domain.errors import Conflict, NotFound
from shared.domain.message import Message
from shared.domain.order import (
    Checkout,
    CheckoutStatus,
    Order,
    OrderLink,
    OrderLinkKind,
    OrderStage,
    StageEvent,
)
from shared.domain.timeline import TimelineEntry
from shared.ports import Page, Versioned

_NEW = f"attribute_not_exists({PARTITION_KEY})"
_EXISTS = f"attribute_exists({PARTITION_KEY})"
_GSI1_KEYS = frozenset({PARTITION_KEY, SORT_KEY, "gsi1pk", "gsi1sk"})
_GSI3_KEYS = ("gsi3pk", "gsi3sk")
BATCH_GET_MAX = 100  # DynamoDB's BatchGetItem limit
TRANSACTION_MAX = 100  # DynamoDB's TransactWriteItems limit


@dataclass(frozen=True)
class CustomerChange:
    """What a commerce event changes on a profile (found or created by identity resolution).

    ``new_customer`` is put only if absent (its identities included); otherwise the claimed
    identities are appended and names filled where empty, commutatively, like inbound contacts.
    """

    customer_id: str
    new_customer: Customer | None = None
    claimed_identities: list[Identity] = field(default_factory=list)
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    orders_added: int = 0  # value traits, ADDed (domain/customer_value.py)
    value_added: Decimal = Decimal("0")
    traits_only: bool = False  # only the value traits change: the profile need only exist


@dataclass(frozen=True)
class OrderWrite:
    """Everything one commerce event (or imported order) changes, written atomically.

    ``order_version``/``checkout_version`` None means a new record (conditional create, plus the
    order's external-id and number lookup items); otherwise the write is guarded by that version.
    """

    dedup_key: str | None = None
    customer: CustomerChange | None = None
    order: Order | None = None
    order_version: int | None = None
    checkout: Checkout | None = None
    checkout_version: int | None = None
    timeline: list[tuple[str, TimelineEntry]] = field(default_factory=list)  # (customer id, entry)
    at: datetime | None = None  # when it is written (idempotency record expiry)


class OrderRepository(TableOperations):
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource (the same table as DynamoRepository)."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    @classmethod
    def beside(cls, repo: Any) -> OrderRepository:
        """The order repository on the table a ``DynamoRepository`` was wired with (the processor
        wires one repository; commerce events reach us through it)."""
        return cls(repo._table)  # a sibling adapter on the same table

    # ------------------------------------------------------------------ orders: reads
    def get_order(self, order_id: str) -> Versioned[Order] | None:
        item = self._get(order_keys.order_pk(order_id), order_keys.ORDER_SK)
        return Versioned(from_item(item, Order), version_of(item)) if item else None

    def order_id_for_external(self, platform: str, external_id: str) -> str | None:
        item = self._get(order_keys.order_external_pk(platform, external_id), order_keys.ORDER_EXTERNAL_SK)
        return str(item["order_id"]) if item else None

    def get_order_by_external(self, platform: str, external_id: str) -> Versioned[Order] | None:
        """GetItem the ``ORDEREXT`` lookup, then the order (two reads)."""
        order_id = self.order_id_for_external(platform, external_id)
        return self.get_order(order_id) if order_id else None

    def order_ids_for_external(self, platform: str, external_ids: Sequence[str]) -> dict[str, str]:
        """external id -> order id for those already synced (BatchGetItem, 100 keys per call)."""
        found = self._batch_get(
            [
                {
                    PARTITION_KEY: order_keys.order_external_pk(platform, e),
                    SORT_KEY: order_keys.ORDER_EXTERNAL_SK,
                }
                for e in dict.fromkeys(external_ids)
            ],
            projection="external_id, order_id",
        )
        return {str(item["external_id"]): str(item["order_id"]) for item in found}

    def get_orders(self, order_ids: Sequence[str]) -> dict[str, Versioned[Order]]:
        found = self._batch_get(
            [
                {PARTITION_KEY: order_keys.order_pk(o), SORT_KEY: order_keys.ORDER_SK}
                for o in dict.fromkeys(order_ids)
            ]
        )
        return {str(item["id"]): Versioned(from_item(item, Order), version_of(item)) for item in found}

    def orders_by_number(self, number: str) -> list[Order]:
        """Every order with this number, whatever its source (one Query, then a BatchGetItem)."""
        if not order_keys.fold_order_number(number):
            return []
        response = self._table.query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": order_keys.order_number_pk(number)},
            Limit=50,
        )
        ids = [str(item["order_id"]) for item in response.get("Items", [])]
        orders = self.get_orders(ids)
        return [orders[i].value for i in ids if i in orders]

    def customer_orders(self, customer_id: str, limit: int, cursor: str | None) -> Page[Order]:
        """A customer's orders, newest first (GSI1 ``ORDERS#CUSTOMER#<id>``, cursor-paginated)."""
        params: dict[str, Any] = {
            "IndexName": "GSI1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": order_keys.customer_orders_pk(customer_id)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            params["ExclusiveStartKey"] = cursors.decode(cursor, _GSI1_KEYS)["after"]
        response = self._table.query(**params)
        orders = [from_item(item, Order) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(orders, cursors.encode({"after": last}) if last else None)

    def order_links(self, order_id: str, limit: int = 200) -> list[OrderLink]:
        """Tickets and messages linked to the order (one Query on its partition)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :link)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": order_keys.order_pk(order_id), ":link": order_keys.LINK_PREFIX},
            Limit=limit,
        )
        return [from_item(item, OrderLink) for item in response.get("Items", [])]

    def get_message(self, ticket_id: str, sent_at: datetime, message_id: str) -> Message | None:
        """One message of a ticket, addressed by its ``sent_at`` and id (a linked message)."""
        item = self._get(keys.ticket_pk(ticket_id), keys.message_sk(iso(sent_at), message_id))
        return from_item(item, Message) if item and item.get(ENTITY) == "message" else None

    # ----------------------------------------------------------------- orders: writes
    def save_order(self, order: Order, expected_version: int) -> int:
        """Replace the order if it is still at ``expected_version``; returns the new version.

        ``Conflict`` when another writer got there first (re-read with ``get_order`` and retry).
        The customer-orders index keys follow the order's customer and placement date.
        """
        self._transact([self._order_put(order, expected_version)])
        return expected_version + 1

    def create_order(self, order: Order, timeline: Iterable[tuple[str, TimelineEntry]] = ()) -> int:
        """A new order with its lookup items (external id, number); ``Conflict`` if it exists."""
        self.commit(OrderWrite(order=order, timeline=list(timeline)))
        return 1

    def record_stage(
        self,
        order_id: str,
        stage: OrderStage,
        at: datetime,
        note: str | None = None,
        *,
        expected_stage: OrderStage | None = None,
    ) -> bool:
        """Move the order to ``stage`` and append it to the history, in one conditional update.

        Returns False when the order is already in ``stage`` (a retried step: nothing written).
        With ``expected_stage``, the move happens only from that stage; from any other stage it
        raises ``Conflict``. ``NotFound`` if there is no such order.
        """
        event = StageEvent(stage=stage, at=at, note=note)
        values: dict[str, Any] = {
            ":stage": stage.value,
            ":event": [event.model_dump(mode="json", exclude_none=True)],
            ":empty": [],
            ":now": iso_json(at),
            ":one": 1,
        }
        condition = f"{_EXISTS} AND #stage <> :stage"
        if expected_stage is not None:
            condition += " AND #stage = :expected"
            values[":expected"] = expected_stage.value
        try:
            self._table.update_item(
                Key=self._order_key(order_id),
                UpdateExpression=(
                    "SET #stage = :stage, updated_at = :now,"
                    " stage_history = list_append(if_not_exists(stage_history, :empty), :event)"
                    " ADD version :one"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#stage": "stage"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            current = self.get_order(order_id)
            if current is None:
                raise NotFound("order", order_id) from error
            if current.value.stage is stage:
                return False
            raise Conflict(
                f"order {order_id} is at stage {current.value.stage.value}, not {expected_stage}"
            ) from error
        return True

    def mark_satisfaction_requested(self, order_id: str, at: datetime) -> bool:
        """Note that the satisfaction stage was requested; True only for the first caller."""
        try:
            self._table.update_item(
                Key=self._order_key(order_id),
                UpdateExpression="SET satisfaction_requested_at = :at, updated_at = :at ADD version :one",
                ConditionExpression=f"{_EXISTS} AND attribute_not_exists(satisfaction_requested_at)",
                ExpressionAttributeValues={":at": iso_json(at), ":one": 1},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            if self.get_order(order_id) is None:
                raise NotFound("order", order_id) from error
            return False
        return True

    def link_ticket(
        self, order_id: str, ticket_id: str, at: datetime, by: str = "system", order_number: str | None = None
    ) -> bool:
        """Link a ticket to the order (link item + the ticket's ``order_id`` if it has none).

        Returns False if it was already linked. ``NotFound`` for an unknown order or ticket.
        """
        link = OrderLink(
            kind=OrderLinkKind.ticket, order_id=order_id, ticket_id=ticket_id, linked_at=at, linked_by=by
        )
        sets = "order_id = if_not_exists(order_id, :order)"
        values: dict[str, Any] = {":order": order_id}
        if order_number:
            sets += ", order_number = if_not_exists(order_number, :number)"
            values[":number"] = order_number
        operations = [
            self._put(
                to_item(link, "order_link", self._link_keys(order_id, order_keys.ticket_link_sk(ticket_id))),
                condition=_NEW,
            ),
            {
                "ConditionCheck": {
                    "TableName": self._name,
                    "Key": self._order_key(order_id),
                    "ConditionExpression": _EXISTS,
                }
            },
            self._update(
                {PARTITION_KEY: keys.ticket_pk(ticket_id), SORT_KEY: keys.TICKET_SK},
                "SET " + sets,
                _EXISTS,
                {},
                values,
            ),
        ]
        return self._link(operations, order_id, ticket_id)

    def link_message(
        self,
        order_id: str,
        ticket_id: str,
        message_id: str,
        message_sent_at: datetime,
        *,
        at: datetime,
        by: str = "system",
    ) -> bool:
        """Link one message (of a ticket not otherwise about this order) to the order.

        ``message_sent_at`` is the message's ``sent_at``: with its id it addresses the message
        item, so the order view reads it with one GetItem. False if it was already linked.
        """
        link = OrderLink(
            kind=OrderLinkKind.message,
            order_id=order_id,
            ticket_id=ticket_id,
            message_id=message_id,
            message_sent_at=message_sent_at,
            linked_at=at,
            linked_by=by,
        )
        sk = order_keys.message_link_sk(ticket_id, message_id)
        operations = [
            self._put(to_item(link, "order_link", self._link_keys(order_id, sk)), condition=_NEW),
            {
                "ConditionCheck": {
                    "TableName": self._name,
                    "Key": self._order_key(order_id),
                    "ConditionExpression": _EXISTS,
                }
            },
        ]
        return self._link(operations, order_id, ticket_id)

    def _link(self, operations: list[dict[str, Any]], order_id: str, ticket_id: str) -> bool:
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            failed = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
            if failed and failed[0] == "ConditionalCheckFailed":
                return False
            if len(failed) > 1 and failed[1] == "ConditionalCheckFailed":
                raise NotFound("order", order_id) from error
            if len(failed) > 2 and failed[2] == "ConditionalCheckFailed":
                raise NotFound("ticket", ticket_id) from error
            raise Conflict("a concurrent write changed the records; retry") from error
        return True

    # ------------------------------------------------------------------ checkouts
    def get_checkout(self, platform: str, token: str) -> Versioned[Checkout] | None:
        item = self._get(order_keys.checkout_pk(platform, token), order_keys.CHECKOUT_SK)
        return Versioned(from_item(item, Checkout), version_of(item)) if item else None

    def due_checkouts(self, updated_before: datetime, limit: int = 100) -> list[Versioned[Checkout]]:
        """Open checkouts not updated since ``updated_before``: one Query per GSI3 shard
        (``DUE#CART#<s>``, ``gsi3sk < <iso>``), at most ``limit`` each, oldest first."""
        found: list[Versioned[Checkout]] = []
        for shard in range(DUE_SHARDS):
            response = self._table.query(
                IndexName="GSI3",
                KeyConditionExpression="gsi3pk = :pk AND gsi3sk < :before",
                ExpressionAttributeValues={
                    ":pk": order_keys.cart_due_pk(shard),
                    ":before": iso(updated_before),
                },
                Limit=limit,
            )
            found += [Versioned(from_item(i, Checkout), version_of(i)) for i in response.get("Items", [])]
        return found

    def mark_checkout_abandoned(
        self, checkout: Checkout, version: int, at: datetime, timeline: TimelineEntry | None
    ) -> bool:
        """Open -> abandoned (off the due index) and its timeline entry; False if it changed meanwhile."""
        abandoned = checkout.model_copy(
            update={"status": CheckoutStatus.abandoned, "abandoned_at": at, "updated_at": at}
        )
        write = OrderWrite(checkout=abandoned, checkout_version=version, at=at)
        if timeline is not None and checkout.customer_id:
            write = OrderWrite(
                checkout=abandoned,
                checkout_version=version,
                timeline=[(checkout.customer_id, timeline)],
                at=at,
            )
        try:
            self.commit(write)
        except Conflict:
            return False
        return True

    # ---------------------------------------------------------------- one commerce write
    def commit(self, write: OrderWrite) -> None:
        """One TransactWriteItems: idempotency record, identities, profile, order (+ lookups),
        checkout, timeline. Raises Duplicate / IdentityTaken / Conflict as documented above."""
        now = write.at or (write.order.updated_at if write.order else None) or _now_of(write)
        operations: list[dict[str, Any]] = []
        if write.dedup_key:
            operations.append(self._dedup_put(write.dedup_key, now))
        change = write.customer
        claimed: list[tuple[str, str]] = []
        if change is not None:
            for identity in change.claimed_identities:
                claimed.append((identity.kind.value, identity.value))
                operations.append(
                    self._put(
                        {
                            PARTITION_KEY: keys.identity_pk(identity.kind.value, identity.value),
                            SORT_KEY: keys.IDENT_SK,
                            ENTITY: "identity",
                            "customer_id": change.customer_id,
                            "kind": identity.kind.value,
                            "claimed_at": iso(now),
                        },
                        condition=_NEW,
                    )
                )
            operations.append(self._customer_operation(change, now))
        if write.order is not None:
            operations += self._order_operations(write.order, write.order_version)
        if write.checkout is not None:
            operations.append(self._checkout_put(write.checkout, write.checkout_version))
        for customer_id, entry in write.timeline:
            operations.append(self._put(self._timeline_item(customer_id, entry)))
        if not operations:
            return
        if len(operations) > TRANSACTION_MAX:
            raise ValueError(f"{len(operations)} operations do not fit one transaction")
        self._transact(operations, dedup_key=write.dedup_key, identities=claimed)

    def _customer_operation(self, change: CustomerChange, now: datetime) -> dict[str, Any]:
        if change.new_customer is not None:
            customer = change.new_customer
            item = to_item(customer, "customer", self._customer_key(change.customer_id), version=1)
            traits = item.setdefault("traits", {})
            traits["orders_count"] = customer.traits.orders_count + change.orders_added
            # A number, so later writes can ADD to it (the JSON dump stores lifetime_value as text).
            traits[STORED_ORDERS_VALUE] = customer.traits.lifetime_value + change.value_added
            traits.pop("average_basket", None)  # derived on read
            return self._put(item, condition=_NEW)
        sets = ["updated_at = :now"]
        values: dict[str, Any] = {":now": iso_json(now), ":one": 1}
        adds = ["version :one"]
        if change.claimed_identities:
            sets.append("identities = list_append(identities, :identities)")
            values[":identities"] = [
                i.model_dump(mode="json", exclude_none=True) for i in change.claimed_identities
            ]
        for name in ("display_name", "first_name", "last_name"):
            value = getattr(change, name)
            if value:
                sets.append(f"{name} = if_not_exists({name}, :{name})")
                values[f":{name}"] = value
        if change.orders_added:
            adds.append("traits.orders_count :orders")
            values[":orders"] = change.orders_added
        if change.value_added:
            adds.append(f"traits.{STORED_ORDERS_VALUE} :value")
            values[":value"] = change.value_added
        return self._update(
            self._customer_key(change.customer_id),
            "SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
            # An order's own customer keeps its value even once merged into another profile.
            _EXISTS if change.traits_only else f"{_EXISTS} AND attribute_not_exists(merged_into)",
            {},
            values,
        )

    def _order_operations(self, order: Order, version: int | None) -> list[dict[str, Any]]:
        operations = [self._order_put(order, version)]
        if version is None:
            if order.external_id:
                operations.append(
                    self._put(
                        {
                            PARTITION_KEY: order_keys.order_external_pk(
                                order.source.value, order.external_id
                            ),
                            SORT_KEY: order_keys.ORDER_EXTERNAL_SK,
                            ENTITY: "order_external_id",
                            "order_id": order.id,
                            "external_id": order.external_id,
                            "platform": order.source.value,
                        },
                        condition=_NEW,
                    )
                )
            if order_keys.fold_order_number(order.number):
                operations.append(
                    self._put(
                        {
                            PARTITION_KEY: order_keys.order_number_pk(order.number),
                            SORT_KEY: order_keys.order_number_sk(order.id),
                            ENTITY: "order_number",
                            "order_id": order.id,
                            "number": order.number,
                            "source": order.source.value,
                        }
                    )
                )
        return operations

    def _order_put(self, order: Order, version: int | None) -> dict[str, Any]:
        item_keys = self._order_key(order.id)
        if order.customer_id:
            placed = order.placed_at or order.created_at
            item_keys.update(order_keys.customer_orders_keys(order.customer_id, iso(placed), order.id))
        item = to_item(order, "order", item_keys, version=1 if version is None else version + 1)
        if version is None:
            return self._put(item, condition=_NEW)
        return self._put(item, condition="version = :version", values={":version": version})

    def _checkout_put(self, checkout: Checkout, version: int | None) -> dict[str, Any]:
        item_keys = {
            PARTITION_KEY: order_keys.checkout_pk(checkout.source.value, checkout.token),
            SORT_KEY: order_keys.CHECKOUT_SK,
        }
        if checkout.status is CheckoutStatus.open:
            updated = checkout.source_updated_at or checkout.updated_at
            item_keys.update(order_keys.cart_due_keys(checkout.id, iso(updated)))
        item = to_item(checkout, "checkout", item_keys, version=1 if version is None else version + 1)
        if version is None:
            return self._put(item, condition=_NEW)
        return self._put(item, condition="version = :version", values={":version": version})

    # ------------------------------------------------------------------ helpers
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={PARTITION_KEY: pk, SORT_KEY: sk}).get("Item")
        return item

    def _batch_get(
        self, item_keys: list[dict[str, str]], projection: str | None = None
    ) -> list[dict[str, Any]]:
        """BatchGetItem (the resource's client (de)serialises values), retrying unprocessed keys."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(item_keys), BATCH_GET_MAX):
            request: dict[str, Any] = {"Keys": item_keys[start : start + BATCH_GET_MAX]}
            if projection:
                request["ProjectionExpression"] = projection
            pending: dict[str, Any] = {self._name: request}
            for _ in range(8):
                response = self._client.batch_get_item(RequestItems=pending)
                found += response.get("Responses", {}).get(self._name, [])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise Conflict("DynamoDB kept keys unprocessed; retry later")
        return found

    def _dedup_put(self, dedup_key: str, now: datetime) -> dict[str, Any]:
        return self._put(
            {
                PARTITION_KEY: keys.dedup_pk(dedup_key),
                SORT_KEY: keys.DEDUP_SK,
                ENTITY: "dedup",
                "expires_at": int((now + timedelta(days=DEDUP_TTL_DAYS)).timestamp()),
            },
            condition=_NEW,
        )

    @staticmethod
    def _order_key(order_id: str) -> dict[str, str]:
        return {PARTITION_KEY: order_keys.order_pk(order_id), SORT_KEY: order_keys.ORDER_SK}

    @staticmethod
    def _link_keys(order_id: str, sk: str) -> dict[str, str]:
        return {PARTITION_KEY: order_keys.order_pk(order_id), SORT_KEY: sk}

    @staticmethod
    def _customer_key(customer_id: str) -> dict[str, str]:
        return {PARTITION_KEY: keys.customer_pk(customer_id), SORT_KEY: keys.PROFILE_SK}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _now_of(write: OrderWrite) -> datetime:
    if write.checkout is not None:
        return write.checkout.updated_at
    for _, entry in write.timeline:
        return entry.at
    raise ValueError("an OrderWrite needs a time: set `at`")
