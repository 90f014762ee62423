"""What agents' replies and canned responses read and write in the single table.

Beside repository.py (the inbound pipeline's) rather than in it: the two evolve separately.
Keys come from keys.py where they already exist (ticket, message, timeline, audit, provider
and email lookups) so that status webhooks and inbound email find what a reply wrote:

* the reply ``TICKET#<t> / MSG#<iso>#<m>`` carries ``delivery_rank`` as record_inbound writes it;
* the ticket's queue and SLA due-date index keys follow what the reply decided (status, clock),
  built as repository.py builds them, so the queue and the SLA check follow it;
* ``PROVIDERMSG#<channel>:<provider id>`` points status callbacks at it;
* ``MSGID#<bare Message-ID>`` threads the customer's email answer onto the ticket;
* canned responses live in one partition, ``CANNED / CANNED#<id>``, listed with one bounded
  Query (a team has hundreds of them, read by agents: far below a partition's limits).

Every reply is one TransactWriteItems. No Scan.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import cursor as cursors
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import ENTITY, from_item, iso_json, to_item
from shared.adapters.dynamodb.kpi_counters import KpiCounters
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.adapters.dynamodb.ticket_side_writes import TicketSideWrites
from shared.domain.canned import CannedResponse
from shared.domain.common import iso, utcnow
from shared.domain.errors import Conflict, InvalidCursor
from shared.domain.kpi import on_reply, on_solved, solves
from shared.domain.message import DeliveryStatus, Message
from shared.domain.routing import QueuePosition, waiting_position
from shared.domain.ticket_work import counts_for_assignee, sla_watch
from shared.ports import Page
from shared.reply_ports import ReplyWrite

CANNED_PK = "CANNED"
CANNED_PREFIX = "CANNED#"
_TABLE_KEYS = frozenset({PARTITION_KEY, SORT_KEY})
_NEW = f"attribute_not_exists({PARTITION_KEY})"


def canned_sk(canned_id: str) -> str:
    return f"{CANNED_PREFIX}{canned_id}"


class OutboundStore(KpiCounters, TicketSideWrites):  # TableOperations, plus add_kpis and side writes
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource (its client serialises types)."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    # ------------------------------------------------------------------ reads
    def recent_messages(self, ticket_id: str, limit: int) -> list[Message]:
        """The ticket's newest ``limit`` messages, newest first: one Query on its partition,
        on the ``MSG#`` range only (the ticket record and its audit entries are skipped)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": keys.ticket_pk(ticket_id), ":low": "MSG#", ":high": "MSG#~"},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item, Message) for item in response.get("Items", [])]

    # ----------------------------------------------------------------- replies
    def record_reply(self, write: ReplyWrite) -> Message:
        """One transaction: message, provider lookup, email ids, ticket, queue, timeline, audit.

        A status webhook can beat this write (Twilio calls back within a second): it leaves the
        lookup item holding the status. Then the put of the lookup fails, the lookup is read,
        and the message is written with the status reached so far (statuses only move forward).
        If an echo of the message (Messenger, Instagram) was recorded first, the lookup points at
        it already and is left alone.
        """
        message = write.message
        adopted: dict[str, Any] | None = None
        for _ in range(2):
            operations, lookup_index = self._reply_operations(write, message, adopted)
            try:
                self._client.transact_write_items(TransactItems=operations)
                self._count(write, message)
                return message
            except ClientError as error:
                reasons = _cancellation_reasons(error)
                lookup_failed = (
                    lookup_index is not None
                    and adopted is None
                    and len(reasons) > lookup_index
                    and reasons[lookup_index] == "ConditionalCheckFailed"
                )
                others = [code for i, code in enumerate(reasons) if i != lookup_index and code != "None"]
                if lookup_failed and not others and write.provider_key:
                    adopted = self._lookup(write.provider_key) or {}
                    message = _adopt(message, adopted)
                    continue
                if reasons and any(c in ("ConditionalCheckFailed", "TransactionConflict") for c in reasons):
                    raise Conflict(
                        f"ticket {message.ticket_id} changed while the reply was recorded"
                    ) from error
                raise
        raise Conflict(f"the delivery status of {write.provider_key} kept changing")  # pragma: no cover

    def _count(self, write: ReplyWrite, message: Message) -> None:
        """The supervisors' counters, once the reply is recorded: a reply that went out (not a
        failed one) is outbound volume; the first response if this write set it (kpi.on_reply)."""
        if message.delivery_status is DeliveryStatus.failed:
            return
        before = write.before.value if write.before is not None else None
        increments = on_reply(message.channel.value, message.author_id, before, write.ticket, message.sent_at)
        if solves(before, write.ticket):
            assert write.ticket is not None
            increments += on_solved(write.ticket, message.sent_at)
        self.add_kpis(increments)

    def _reply_operations(
        self, write: ReplyWrite, message: Message, adopted: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        ticket_id = message.ticket_id
        message_sk = keys.message_sk(iso(message.sent_at), message.id)
        item = to_item(message, "message", {PARTITION_KEY: keys.ticket_pk(ticket_id), SORT_KEY: message_sk})
        item["delivery_rank"] = message.delivery_status.rank
        operations: list[dict[str, Any]] = [self._put(item, _NEW)]
        lookup_index: int | None = None
        # A Messenger/Instagram echo processed first already recorded the message under this id:
        # the lookup stays its own, and the reply is still recorded (never lose what was sent).
        echoed = adopted is not None and bool(adopted.get("message_sk"))
        if write.provider_key and not echoed:
            lookup_keys = {
                PARTITION_KEY: keys.provider_message_pk(write.provider_key),
                SORT_KEY: keys.PROVIDER_SK,
            }
            lookup_index = len(operations)
            if adopted is None:
                lookup = {
                    **lookup_keys,
                    ENTITY: "provider_message",
                    "ticket_id": ticket_id,
                    "message_sk": message_sk,
                    "delivery_rank": message.delivery_status.rank,
                }
                if message.customer_id:
                    lookup["customer_id"] = message.customer_id
                operations.append(self._put(lookup, _NEW))
            else:
                # Only the pointers: the status on the lookup is the one the message adopted.
                values: dict[str, Any] = {
                    ":entity": "provider_message",
                    ":ticket": ticket_id,
                    ":sk": message_sk,
                    ":customer": message.customer_id or "",
                }
                operations.append(
                    self._update(
                        lookup_keys,
                        "SET #entity = :entity, ticket_id = :ticket, message_sk = :sk,"
                        " customer_id = :customer",
                        "attribute_not_exists(message_sk)",
                        {"#entity": ENTITY},
                        values,
                    )
                )
        for message_id in write.email_message_ids:
            operations.append(
                self._put(
                    {
                        PARTITION_KEY: keys.email_message_pk(message_id),
                        SORT_KEY: keys.EMAIL_SK,
                        ENTITY: "email_message_id",
                        "ticket_id": ticket_id,
                    }
                )
            )
        operations += self._ticket_write(write)
        if message.customer_id:
            operations.append(self._put(self._timeline_item(message.customer_id, write.timeline)))
        operations.append(
            self._put(
                to_item(
                    write.audit,
                    "audit",
                    {
                        PARTITION_KEY: keys.ticket_pk(ticket_id),
                        SORT_KEY: keys.audit_sk(iso(write.audit.at), write.audit.id),
                    },
                ),
                _NEW,
            )
        )
        return operations, lookup_index

    def _ticket_write(self, write: ReplyWrite) -> list[dict[str, Any]]:
        """A sent reply: what it decided (clock, status, counters) guarded by the version read,
        with the index keys that follow from it: the topic queue's while the ticket waits, the
        SLA due date's while a deadline runs (the key builders and rules repository.py uses), and
        the queue's backlog moving with it; solved by the reply, the agent's "mine" keys, load
        and collaborators' items follow too. Only what a reply changes is written: index keys it
        does not decide (list, customer) stay as they are. A failed reply: the message counted,
        nothing decided (commutative, no guard)."""
        message = write.message
        ticket_keys = {PARTITION_KEY: keys.ticket_pk(message.ticket_id), SORT_KEY: keys.TICKET_SK}
        if write.ticket is None or write.before is None:
            return [
                self._update(
                    ticket_keys,
                    "SET updated_at = :now ADD message_count :one, version :one",
                    f"attribute_exists({PARTITION_KEY})",
                    {},
                    {":now": iso_json(message.received_at), ":one": 1},
                )
            ]
        old, new = write.before.value, write.ticket
        names: dict[str, str] = {}
        values: dict[str, Any] = {
            ":one": 1,
            ":at": iso_json(new.last_message_at or message.sent_at),
            ":now": iso_json(new.updated_at),
            ":version": write.before.version,
        }
        sets = ["last_message_at = :at", "updated_at = :now"]
        removes: list[str] = []
        if new.sla != old.sla:
            sets.append("sla = :sla")
            values[":sla"] = new.sla.model_dump(mode="json", exclude_none=True) if new.sla else None
        if new.status is not old.status:
            sets.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = new.status.value
        operations: list[dict[str, Any]] = []
        was, now = waiting_position(old), waiting_position(new)
        if was != now:
            if now is None:
                removes += list(keys.queue_keys("-", "-", new.id))
            else:
                _set_keys(sets, values, keys.queue_keys(now.topic.value, now.sort_key, new.id))
            if (was and was.topic) != (now and now.topic):
                operations += [self._backlog_change(p, d) for p, d in ((was, -1), (now, +1)) if p is not None]
        due_before, due_after = sla_watch(old), sla_watch(new)
        if due_after is None and due_before is not None:
            removes += list(keys.sla_due_keys(new.id, "-"))
        elif due_after is not None and due_after != due_before:
            _set_keys(sets, values, keys.sla_due_keys(new.id, iso(due_after)))
        # Solved with the answer (or reopened by it): off (back on) its agent's "mine" list.
        agent_before, agent_after = counts_for_assignee(old), counts_for_assignee(new)
        if agent_before and not agent_after:
            removes += list(keys.assignee_keys("-", "-", new.id))
        elif agent_after and not agent_before:
            _set_keys(sets, values, keys.assignee_keys(agent_after, iso(new.created_at), new.id))
        operations += self._agent_loads(old, new) + self._collaborations(old, new)
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        expression += " ADD message_count :one, version :one"
        update = self._update(
            ticket_keys,
            expression,
            "version = :version AND attribute_not_exists(merged_into)",
            names,
            values,
        )
        return [update, *operations]

    def _backlog_change(self, position: QueuePosition, delta: int) -> dict[str, Any]:
        """The queue's backlog counter moves with the ticket (kept on write, never counted)."""
        return self._update(
            {PARTITION_KEY: keys.queue_stats_pk(position.topic.value), SORT_KEY: keys.STATS_SK},
            "SET #entity = :entity ADD backlog :delta",
            None,
            {"#entity": ENTITY},
            {":entity": "queue_stats", ":delta": delta},
        )

    def _lookup(self, provider_key: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(
            Key={PARTITION_KEY: keys.provider_message_pk(provider_key), SORT_KEY: keys.PROVIDER_SK}
        ).get("Item")
        return item

    # --------------------------------------------------------------- canned responses
    def get_canned(self, canned_id: str) -> CannedResponse | None:
        item = self._table.get_item(Key={PARTITION_KEY: CANNED_PK, SORT_KEY: canned_sk(canned_id)}).get(
            "Item"
        )
        return _canned(item) if item else None

    def put_canned(self, canned: CannedResponse, by: str) -> None:
        """Create or replace; who and when are kept beside the response (not part of it)."""
        item = to_item(canned, "canned", {PARTITION_KEY: CANNED_PK, SORT_KEY: canned_sk(canned.id)})
        item["updated_by"] = by
        item["updated_at"] = iso_json(utcnow())
        self._table.put_item(Item=item)

    def delete_canned(self, canned_id: str) -> bool:
        """False when there was nothing to delete."""
        response = self._table.delete_item(
            Key={PARTITION_KEY: CANNED_PK, SORT_KEY: canned_sk(canned_id)}, ReturnValues="ALL_OLD"
        )
        return bool(response.get("Attributes"))

    def list_canned(self, limit: int, cursor: str | None) -> Page[CannedResponse]:
        """By id, ``limit`` at a time: one Query on the canned partition."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {":pk": CANNED_PK, ":prefix": CANNED_PREFIX},
            "Limit": limit,
        }
        if cursor:
            after = cursors.decode(cursor, _TABLE_KEYS).get("after")
            if not isinstance(after, dict) or after.get(PARTITION_KEY) != CANNED_PK:
                raise InvalidCursor("the cursor is not one this API issued")
            params["ExclusiveStartKey"] = after
        response = self._table.query(**params)
        last = response.get("LastEvaluatedKey")
        return Page(
            [_canned(item) for item in response.get("Items", [])],
            cursors.encode({"after": last}) if last else None,
        )

    # ---------------------------------------------------------------- helpers


def _set_keys(sets: list[str], values: dict[str, Any], index_keys: dict[str, str]) -> None:
    for name, value in index_keys.items():
        sets.append(f"{name} = :{name}")
        values[f":{name}"] = value


def _canned(item: dict[str, Any]) -> CannedResponse:
    fields = {k: v for k, v in item.items() if k not in ("updated_by", "updated_at")}
    return from_item(fields, CannedResponse)


def _cancellation_reasons(error: ClientError) -> list[str]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [str(r.get("Code") or "None") for r in error.response.get("CancellationReasons") or []]


def _adopt(message: Message, lookup: dict[str, Any]) -> Message:
    """The message with the status a webhook already recorded on its lookup, if further on."""
    rank = int(lookup.get("delivery_rank", 0))
    if rank <= message.delivery_status.rank:
        return message
    update: dict[str, Any] = {"delivery_status": DeliveryStatus.by_rank(rank)}
    if lookup.get("error"):
        update["error"] = str(lookup["error"])
    return message.model_copy(update=update)
