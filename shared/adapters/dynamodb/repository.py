"""The single-table repository: GetItem, Query, conditional Put/Update and TransactWriteItems.

No Scan anywhere (tests/integration/test_no_scan.py fails if one is issued). Conditional
check failures become domain errors: ``Duplicate`` when an idempotency record exists,
``Conflict`` when another writer won a race (callers re-read and retry).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import cursor as cursors
from shared.adapters.dynamodb import keys, order_keys
from shared.adapters.dynamodb.items import ENTITY, from_item, iso_json, to_item, version_of
from shared.adapters.dynamodb.kpi_counters import KpiCounters
from shared.adapters.dynamodb.schema import (
    DEDUP_TTL_DAYS,
    DUE_SHARDS,
    LIST_SHARDS,
    PARTITION_KEY,
    QUEUE_SHARDS,
    SORT_KEY,
    TTL_ATTRIBUTE,
)
from shared.adapters.dynamodb.ticket_side_writes import TicketSideWrites
from shared.domain.agent import Agent
from shared.domain.audit import AuditEntry
from shared.domain.common import iso, utcnow
from shared.domain.customer import Customer
from shared.domain.errors import AtCapacity, Conflict
from shared.domain.identity import IdentityKind
from shared.domain.intake import ContactUpdate, TicketUpdate
from shared.domain.kpi import on_inbound, on_solved, solves
from shared.domain.merge import MergePlan, UndoPlan, contact_totals
from shared.domain.message import DeliveryStatus, Message, PartyRole
from shared.domain.parties import MAX_PARTY_LINKS, PARTY_LINK_DAYS, PartyLink
from shared.domain.routing import waiting_position
from shared.domain.search import SearchEntry, SearchKind
from shared.domain.ticket import Ticket, TicketSummary
from shared.domain.ticket_list import TicketFilters
from shared.domain.ticket_work import counts_for_assignee, listed_collaborators, sla_watch
from shared.domain.timeline import TimelineEntry
from shared.domain.trust import Release
from shared.ports import InboundWrite, Page, ProviderMessageRef, QueueHead, Versioned

_TABLE_KEYS = frozenset({PARTITION_KEY, SORT_KEY})
_NEW = f"attribute_not_exists({PARTITION_KEY})"
_OWNED_BY = "customer_id = :owner"


class DynamoRepository(KpiCounters, TicketSideWrites):  # TableOperations, plus add_kpis
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource (its client serialises types)."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    # ------------------------------------------------------------------ reads
    def identity_owner(self, kind: str, value: str) -> str | None:
        response = self._table.get_item(
            Key={PARTITION_KEY: keys.identity_pk(kind, value), SORT_KEY: keys.IDENT_SK},
            ProjectionExpression="customer_id",
        )
        item = response.get("Item")
        return str(item["customer_id"]) if item else None

    def identity_lookup(self, kind: str, value: str) -> tuple[str | None, list[PartyLink]]:
        """One Query on the identifier's partition: its owner (``#IDENT``, sorted first) and the
        tickets it is a third party of (``PARTY#<ticket>``), at most MAX_PARTY_LINKS of them."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": keys.identity_pk(kind, value)},
            Limit=MAX_PARTY_LINKS + 1,
        )
        owner: str | None = None
        links: list[PartyLink] = []
        for item in response.get("Items", []):
            if item[SORT_KEY] == keys.IDENT_SK:
                owner = str(item["customer_id"])
            elif str(item[SORT_KEY]).startswith(keys.PARTY_LINK_PREFIX):
                links.append(
                    PartyLink(
                        kind=IdentityKind(kind),
                        value=value,
                        ticket_id=str(item["ticket_id"]),
                        party_id=str(item["party_id"]),
                        role=PartyRole(str(item["role"])),
                        added_at=datetime.fromisoformat(str(item["added_at"])),
                    )
                )
        return owner, links

    def get_customer(self, customer_id: str) -> Versioned[Customer] | None:
        item = self._get(keys.customer_pk(customer_id), keys.PROFILE_SK)
        return Versioned(from_item(item, Customer), version_of(item)) if item else None

    def get_ticket(self, ticket_id: str) -> Versioned[Ticket] | None:
        item = self._get(keys.ticket_pk(ticket_id), keys.TICKET_SK)
        return Versioned(from_item(item, Ticket), version_of(item)) if item else None

    def ticket_messages(
        self, ticket_id: str, limit: int, cursor: str | None
    ) -> tuple[Ticket | None, Page[Message]]:
        """The ticket (GetItem) and its messages in order: its own and those of the tickets
        merged into it (one Query per partition, merged by time; bounded by MAX_MERGED)."""
        found = self.get_ticket(ticket_id)
        ticket = found.value if found else None
        partitions = [ticket_id, *(ticket.merged_from if ticket else [])]
        items, next_cursor = self._sharded_page(
            None,
            PARTITION_KEY,
            SORT_KEY,
            [keys.ticket_pk(t) for t in partitions],
            ascending=True,
            limit=limit,
            cursor=cursor,
            sk_prefix="MSG#",
        )
        return ticket, Page([from_item(item, Message) for item in items], next_cursor)

    def customer_timeline(
        self, customer_id: str, limit: int, cursor: str | None, *, merged: Sequence[str] = ()
    ) -> Page[TimelineEntry]:
        """The customer's journey across channels, newest first: one Query on their partition
        and one on each profile ``merged`` into theirs (whose entries stay where they were
        written), merged by time; the cursor holds each partition's position."""
        items, next_cursor = self._sharded_page(
            None,
            PARTITION_KEY,
            SORT_KEY,
            [keys.customer_pk(c) for c in dict.fromkeys([customer_id, *merged])],
            ascending=False,
            limit=limit,
            cursor=cursor,
            sk_prefix="TL#",
        )
        return Page([from_item(item, TimelineEntry) for item in items], next_cursor)

    def list_tickets(
        self,
        limit: int,
        cursor: str | None,
        *,
        view: str = "all",
        who: str | None = None,
        topic: str | None = None,
        filters: TicketFilters | None = None,
        merged: Sequence[str] = (),
    ) -> Page[TicketSummary]:
        """The agents' lists, cursor-paginated, never scanned:

        - ``all``: GSI4 list shards, newest first; with a customer filter, that customer's
          GSI6 partition instead;
        - ``mine``: GSI1 ``ASSIGNEE#<who>`` and ``COLLABORATOR#<who>``, the caller's active
          tickets and those they collaborate on, newest first (the collaborations are items
          naming the ticket: the page's tickets are then read with one BatchGetItem);
        - ``customer``: GSI6 ``CUSTOMERTICKETS#<who>``, a customer's tickets, newest first
          (and those of the profiles ``merged`` into theirs: one Query each, merged by time);
        - ``queue``: GSI2 shards of ``topic``'s queue, waiting tickets by priority then age.

        A creation-date range is a key condition on the ``<created>#<ref>`` sort keys (the
        queue's start with the priority: there it is tested on the rows read); the other filters
        are filter expressions (items read count, so a sparse filter reads more than it returns;
        the page stays bounded per partition).
        """
        wanted = filters or TicketFilters()
        equalities = wanted.equalities()
        if view == "mine":
            pks = [keys.assignee_pk(who or ""), keys.collaborator_pk(who or "")]
            spec = ("GSI1", "gsi1pk", "gsi1sk", pks, False)
        elif view == "customer" or (view == "all" and wanted.customer_id):
            customer = (who if view == "customer" else wanted.customer_id) or ""
            pks = [keys.customer_tickets_pk(c) for c in dict.fromkeys([customer, *merged])]
            spec = ("GSI6", "gsi6pk", "gsi6sk", pks, False)
            equalities.pop("customer_id", None)
        elif view == "queue":
            pks = [keys.queue_pk(topic or "", shard) for shard in range(QUEUE_SHARDS)]
            spec = ("GSI2", "gsi2pk", "gsi2sk", pks, True)
        else:
            spec = ("GSI4", "gsi4pk", "gsi4sk", [keys.ticket_list_pk(s) for s in range(LIST_SHARDS)], False)
        index, pk_name, sk_name, pks, ascending = spec
        page_filter = _filter_expression(equalities, wanted)
        if page_filter is not None and view == "mine":
            page_filter = page_filter.either_entity("collaboration")  # tested in code once read
        items, next_cursor = self._sharded_page(
            index,
            pk_name,
            sk_name,
            pks,
            ascending=ascending,
            limit=limit,
            cursor=cursor,
            page_filter=page_filter,
            sk_range=_created_range(wanted) if index != "GSI2" else None,
        )
        # Rows read by key (collaborations) and the queue's dates are tested here; for the
        # others this repeats what the key condition and filter expression already checked.
        return Page([row for row in self._rows(items) if wanted.matches(row)], next_cursor)

    def _rows(self, items: list[dict[str, Any]]) -> list[TicketSummary]:
        """List rows from index items; a collaboration names its ticket, read here by key (one
        BatchGetItem for the page), and is dropped if the ticket is gone or no longer active."""
        named = [str(i["ticket_id"]) for i in items if i.get(ENTITY) == "collaboration"]
        tickets: dict[str, dict[str, Any]] = {}
        if named:
            found = self._read_by_keys([self._ticket_keys(t) for t in dict.fromkeys(named)])
            tickets = {str(item["id"]): item for item in found}
        rows = []
        for item in items:
            row = tickets.get(str(item["ticket_id"])) if item.get(ENTITY) == "collaboration" else item
            if row is not None and (row is item or listed_collaborators(from_item(row, Ticket))):
                rows.append(_summary(row))
        return rows

    def _sharded_page(
        self,
        index: str | None,
        pk_name: str,
        sk_name: str,
        pks: list[str],
        *,
        ascending: bool,
        limit: int,
        cursor: str | None,
        page_filter: _Filter | None = None,
        sk_prefix: str | None = None,
        sk_range: tuple[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One Query per partition, merged by sort key. The cursor holds each partition's
        position: absent = not started, a key = after it, None = exhausted."""
        cursor_keys = frozenset({PARTITION_KEY, SORT_KEY, pk_name, sk_name})
        state = cursors.decode(cursor, cursor_keys) if cursor else {}
        fetched: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
        for number, pk in enumerate(pks):
            name = str(number)
            if name in state and state[name] is None:
                continue
            params: dict[str, Any] = {
                "KeyConditionExpression": "#ipk = :pk",
                "ExpressionAttributeNames": {"#ipk": pk_name},
                "ExpressionAttributeValues": {":pk": pk},
                "ScanIndexForward": ascending,
                "Limit": limit,
            }
            if index is not None:
                params["IndexName"] = index
            if sk_prefix is not None:
                params["KeyConditionExpression"] += " AND begins_with(#isk, :prefix)"
                params["ExpressionAttributeNames"]["#isk"] = sk_name
                params["ExpressionAttributeValues"][":prefix"] = sk_prefix
            elif sk_range is not None:
                params["KeyConditionExpression"] += " AND #isk BETWEEN :low AND :high"
                params["ExpressionAttributeNames"]["#isk"] = sk_name
                params["ExpressionAttributeValues"].update({":low": sk_range[0], ":high": sk_range[1]})
            if page_filter is not None:
                params["FilterExpression"] = page_filter.expression
                params["ExpressionAttributeNames"].update(page_filter.names)
                params["ExpressionAttributeValues"].update(page_filter.values)
            if state.get(name):
                params["ExclusiveStartKey"] = state[name]
            response = self._table.query(**params)
            fetched[name] = (response.get("Items", []), response.get("LastEvaluatedKey"))

        merged = [(str(item[sk_name]), name, item) for name, (items, _) in fetched.items() for item in items]
        pick = heapq.nsmallest if ascending else heapq.nlargest
        chosen = pick(limit, merged, key=lambda entry: entry[0])
        next_state: dict[str, Any] = {name: None for name, position in state.items() if position is None}
        for name, (items, last_key) in fetched.items():
            # Each partition is sorted, so what the page takes from it is a prefix of what it returned.
            taken = sum(1 for _, origin, _ in chosen if origin == name)
            if taken < len(items):
                next_state[name] = (
                    {k: str(items[taken - 1][k]) for k in cursor_keys} if taken else state.get(name)
                )
                if next_state[name] is None:
                    del next_state[name]  # not started yet
            elif last_key is not None:
                next_state[name] = last_key  # past what was read, filtered-out items included
            else:
                next_state[name] = None
        done = all(next_state.get(str(n), "open") is None for n in range(len(pks)))
        return [item for _, _, item in chosen], None if done else cursors.encode(next_state)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={PARTITION_KEY: pk, SORT_KEY: sk}).get("Item")
        return item

    # ----------------------------------------------------------------- writes
    def record_inbound(self, write: InboundWrite) -> None:
        """One transaction: idempotency record, identities, customer, ticket, message, timeline,
        and the lookup items that later events use (email Message-IDs, provider message ids)."""
        now = write.timeline.at
        operations: list[dict[str, Any]] = [self._dedup_put(write.dedup_key, write, now)]
        released = {(r.identity.kind.value, r.identity.value): r for r in write.released_identities}
        for identity in write.claimed_identities:
            taken_back = released.pop((identity.kind.value, identity.value), None)
            operations.append(
                self._put(
                    {
                        PARTITION_KEY: keys.identity_pk(identity.kind.value, identity.value),
                        SORT_KEY: keys.IDENT_SK,
                        ENTITY: "identity",
                        "customer_id": write.customer_id,
                        "kind": identity.kind.value,
                        "claimed_at": iso(now),
                    },
                    # A claim taken back moves from the profile that held it, if it still does.
                    condition=_NEW if taken_back is None else _OWNED_BY,
                    values=None if taken_back is None else {":owner": taken_back.customer_id},
                )
            )
        for taken_back in released.values():  # taken back, joining no profile: the record goes
            operations.append(self._release_record(taken_back))
        operations += self._releases(write.released_identities)
        if write.new_customer is not None:
            operations.append(
                self._create(write.new_customer, "customer", self._customer_keys(write.customer_id))
            )
        elif write.customer_update is not None:
            operations.append(self._contact_update(write.customer_update))
        if write.new_ticket is not None:
            operations += self._new_ticket(write.new_ticket)
        elif write.ticket_update is not None:
            operations.append(self._ticket_update(write.ticket_update))
        elif write.ticket_change is not None:
            operations += self._ticket_change(*write.ticket_change)
        message = write.message
        ticket_id = write.ticket_id
        if message is not None and ticket_id is not None:
            message_sk = keys.message_sk(iso(message.sent_at), message.id)
            item = to_item(
                message, "message", {PARTITION_KEY: keys.ticket_pk(ticket_id), SORT_KEY: message_sk}
            )
            item["delivery_rank"] = message.delivery_status.rank
            operations.append(self._put(item, condition=_NEW))
            for provider_id in write.outbound_provider_ids:
                operations.append(
                    self._put(
                        {
                            PARTITION_KEY: keys.provider_message_pk(provider_id),
                            SORT_KEY: keys.PROVIDER_SK,
                            ENTITY: "provider_message",
                            "ticket_id": ticket_id,
                            "message_sk": message_sk,
                            "customer_id": write.customer_id,
                            "delivery_rank": message.delivery_status.rank,
                        }
                    )
                )
        if ticket_id is not None:
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
        operations.append(self._put(self._timeline_item(write.customer_id, write.timeline)))
        operations += [self._put(self._audit_item(entry.ticket_id, entry)) for entry in write.audit]
        if write.order_link is not None:
            link = write.order_link
            link_keys = {
                PARTITION_KEY: order_keys.order_pk(link.order_id),
                SORT_KEY: order_keys.ticket_link_sk(link.ticket_id),
            }
            operations.append(self._put(to_item(link, "order_link", link_keys)))
        operations += [self._put(self._search_item(entry)) for entry in write.search_entries]
        claimed = [(i.kind.value, i.value) for i in write.claimed_identities]
        self._transact(operations, dedup_key=write.dedup_key, identities=claimed)
        if message is not None and message.direction.value == "inbound":
            topic = write.new_ticket.topic.value if write.new_ticket is not None else None
            self.add_kpis(on_inbound(message.channel.value, topic, write.new_ticket is not None, now))

    def _releases(self, releases: list[Release]) -> list[dict[str, Any]]:
        """Each profile loses the claim (guarded by the version its decision was read at) and
        keeps the evidence on its timeline."""
        operations: list[dict[str, Any]] = []
        for release in releases:
            values = {
                ":identities": [i.model_dump(mode="json", exclude_none=True) for i in release.remaining],
                ":version": release.version,
                ":now": iso_json(release.timeline.at),
                ":one": 1,
            }
            operations.append(
                self._update(
                    self._customer_keys(release.customer_id),
                    "SET identities = :identities, updated_at = :now ADD version :one",
                    "version = :version",
                    {},
                    values,
                )
            )
            operations.append(self._put(self._timeline_item(release.customer_id, release.timeline)))
        return operations

    def _release_record(self, release: Release) -> dict[str, Any]:
        identity = release.identity
        return {
            "Delete": {
                "TableName": self._name,
                "Key": {
                    PARTITION_KEY: keys.identity_pk(identity.kind.value, identity.value),
                    SORT_KEY: keys.IDENT_SK,
                },
                "ConditionExpression": _OWNED_BY,
                "ExpressionAttributeValues": {":owner": release.customer_id},
            }
        }

    def _new_ticket(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The ticket, in the agents' list and, while it waits, in its topic queue (whose backlog
        counter moves with it: kept on write, never counted by scanning)."""
        item_keys = self._indexed_keys(ticket)
        position = waiting_position(ticket)
        if position is None:
            return [self._create(ticket, "ticket", item_keys)]
        return [self._create(ticket, "ticket", item_keys), self._backlog_change(position.topic.value, +1)]

    def _indexed_keys(self, ticket: Ticket) -> dict[str, str]:
        """The ticket's keys: table, list index, its queue while it waits, its next SLA deadline."""
        created = iso(ticket.created_at)
        item_keys = {
            **self._ticket_keys(ticket.id),
            **keys.ticket_list_keys(ticket.id, created),
            **keys.customer_ticket_keys(ticket.customer_id, created, ticket.id),
        }
        position = waiting_position(ticket)
        if position is not None:
            item_keys.update(keys.queue_keys(position.topic.value, position.sort_key, ticket.id))
        due = sla_watch(ticket)
        if due is not None:
            item_keys.update(keys.sla_due_keys(ticket.id, iso(due)))
        if counts_for_assignee(ticket):
            item_keys.update(keys.assignee_keys(ticket.assignee_id or "", iso(ticket.created_at), ticket.id))
        return item_keys

    def sla_due(self, until: datetime, per_shard: int) -> list[str]:
        """Tickets whose watched SLA deadline is at or before ``until``, earliest first, at most
        ``per_shard`` per shard (the check runs every few minutes and catches up)."""
        found: list[tuple[str, str]] = []
        for shard in range(DUE_SHARDS):
            response = self._table.query(
                IndexName="GSI5",
                KeyConditionExpression="gsi5pk = :pk AND gsi5sk <= :until",
                ExpressionAttributeValues={":pk": keys.sla_due_pk(shard), ":until": f"{iso(until)}#~"},
                ProjectionExpression="gsi5sk, #id",
                ExpressionAttributeNames={"#id": "id"},
                Limit=per_shard,
            )
            found += [(str(i["gsi5sk"]), str(i["id"])) for i in response.get("Items", [])]
        return [ticket_id for _, ticket_id in sorted(found)]

    def _backlog_change(self, topic: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._name,
                "Key": {PARTITION_KEY: keys.queue_stats_pk(topic), SORT_KEY: keys.STATS_SK},
                "UpdateExpression": "SET #entity = :entity ADD backlog :delta",
                "ExpressionAttributeNames": {"#entity": ENTITY},
                "ExpressionAttributeValues": {":entity": "queue_stats", ":delta": delta},
            }
        }

    # ------------------------------------------------------------- agents and queues
    def get_agent(self, agent_id: str) -> Versioned[Agent] | None:
        item = self._get(keys.agent_pk(agent_id), keys.AGENT_SK)
        return Versioned(from_item(item, Agent), version_of(item)) if item else None

    def save_agent(self, agent: Agent) -> Agent:
        """Create or update an agent's skills, queues and capacity; the live ticket count is kept."""
        fields = agent.model_dump(mode="json", exclude={"active_ticket_count"})
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": v for k, v in fields.items()}
        sets = [f"#{k} = :{k}" for k in fields]
        sets += ["active_ticket_count = if_not_exists(active_ticket_count, :zero)", "#entity = :entity"]
        names["#entity"] = ENTITY
        values.update({":zero": 0, ":entity": "agent", ":one": 1})
        response = self._table.update_item(
            Key={PARTITION_KEY: keys.agent_pk(agent.id), SORT_KEY: keys.AGENT_SK},
            UpdateExpression="SET " + ", ".join(sets) + " ADD version :one",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return from_item(response["Attributes"], Agent)

    def queue_backlog(self, topics: list[str]) -> dict[str, int]:
        """One GetItem per queue (an agent serves a handful): the counters kept on write."""
        backlog = {}
        for topic in topics:
            item = self._get(keys.queue_stats_pk(topic), keys.STATS_SK)
            backlog[topic] = int(item.get("backlog", 0)) if item else 0
        return backlog

    def queue_heads(self, topic: str, per_shard: int) -> list[QueueHead]:
        """The first ``per_shard`` waiting tickets of each shard of a topic queue, best first.

        Reads at most QUEUE_SHARDS * per_shard items (keys only are needed), whatever the backlog.
        """
        heads: list[QueueHead] = []
        for shard in range(QUEUE_SHARDS):
            response = self._table.query(
                IndexName="GSI2",
                KeyConditionExpression="gsi2pk = :pk",
                ExpressionAttributeValues={":pk": keys.queue_pk(topic, shard)},
                ProjectionExpression="#id, gsi2pk, gsi2sk",
                ExpressionAttributeNames={"#id": "id"},
                Limit=per_shard,
            )
            heads += [
                QueueHead(ticket_id=str(i["id"]), queue_pk=str(i["gsi2pk"]), sort_key=str(i["gsi2sk"]))
                for i in response.get("Items", [])
            ]
        return sorted(heads, key=lambda head: head.sort_key)

    def claim(self, head: QueueHead, topic: str, agent: Agent, audit: AuditEntry) -> None:
        """Atomically: the ticket leaves its queue for the agent (only if still waiting there), the
        agent's load grows (only while under capacity), the backlog shrinks, the audit records it.

        Raises ``Conflict`` when another agent got the ticket first, ``AtCapacity`` when full.
        """
        now = iso_json(audit.at)
        # The queue position is "<rank>#<created ISO>#<id>": the same creation time orders the
        # agent's own list ("mine").
        mine = keys.assignee_keys(agent.id, head.sort_key.split("#")[1], head.ticket_id)
        operations = [
            self._update(
                self._ticket_keys(head.ticket_id),
                "SET assignee_id = :agent, #status = :open, updated_at = :now,"
                " gsi1pk = :mine, gsi1sk = :mine_position REMOVE gsi2pk, gsi2sk ADD version :one",
                "gsi2pk = :queue AND gsi2sk = :position AND attribute_not_exists(assignee_id)",
                {"#status": "status"},
                {
                    ":agent": agent.id,
                    ":open": "open",
                    ":now": now,
                    ":one": 1,
                    ":queue": head.queue_pk,
                    ":position": head.sort_key,
                    ":mine": mine["gsi1pk"],
                    ":mine_position": mine["gsi1sk"],
                },
            ),
            self._update(
                {PARTITION_KEY: keys.agent_pk(agent.id), SORT_KEY: keys.AGENT_SK},
                "ADD active_ticket_count :one",
                "attribute_exists(pk) AND active_ticket_count < #capacity",
                {"#capacity": "capacity"},
                {":one": 1},
            ),
            self._backlog_change(topic, -1),
            self._put(self._audit_item(head.ticket_id, audit)),
        ]
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AtCapacity(f"agent {agent.id} already has {agent.capacity} tickets") from error
            if reasons and reasons[0] in ("ConditionalCheckFailed", "TransactionConflict"):
                raise Conflict(f"ticket {head.ticket_id} was taken by someone else") from error
            raise

    def save_ticket(
        self, before: Versioned[Ticket], after: Ticket, audit: list[AuditEntry], note: Message | None = None
    ) -> None:
        """An agent's change, atomically: the ticket (guarded by the version it was read at), its
        place in the queue index and the backlog counters, the agents' loads, the audit, the note."""
        operations = self._ticket_change(before, after)
        operations += [self._put(self._audit_item(after.id, entry)) for entry in audit]
        if note is not None:
            sk = keys.message_sk(iso(note.sent_at), note.id)
            operations.append(
                self._put(
                    to_item(note, "message", {PARTITION_KEY: keys.ticket_pk(after.id), SORT_KEY: sk}), _NEW
                )
            )
        self._transact(operations)
        if solves(before.value, after):
            self.add_kpis(on_solved(after, after.updated_at))

    def save_parties(
        self,
        before: Versioned[Ticket],
        after: Ticket,
        audit: AuditEntry,
        added: list[PartyLink],
        removed: list[PartyLink],
    ) -> None:
        """The ticket's parties (guarded by its version), the audit entry, and the party links
        that let the processor thread what a party writes, in one transaction."""
        operations = self._ticket_change(before, after)
        operations.append(self._put(self._audit_item(after.id, audit)))
        for link in added:
            operations.append(
                self._put(
                    {
                        **_party_link_keys(link),
                        ENTITY: "party_link",
                        "ticket_id": link.ticket_id,
                        "party_id": link.party_id,
                        "role": link.role.value,
                        "added_at": iso(link.added_at),
                        TTL_ATTRIBUTE: int((link.added_at + timedelta(days=PARTY_LINK_DAYS)).timestamp()),
                    }
                )
            )
        for link in removed:
            operations.append({"Delete": {"TableName": self._name, "Key": _party_link_keys(link)}})
        self._transact(operations)

    def merge_tickets(
        self,
        merged: tuple[Versioned[Ticket], Ticket],
        survivor: tuple[Versioned[Ticket], Ticket],
        audit: list[AuditEntry],
    ) -> None:
        """Both tickets in one transaction (each guarded by its version); the customers whose
        open ticket was the merged one now point to the survivor."""
        (merged_before, merged_after), (survivor_before, survivor_after) = merged, survivor
        operations = self._ticket_change(merged_before, merged_after)
        operations += self._ticket_change(survivor_before, survivor_after)
        operations += [self._put(self._audit_item(entry.ticket_id, entry)) for entry in audit]
        self._transact(operations)
        try:
            self._table.update_item(
                Key=self._customer_keys(merged_after.customer_id),
                UpdateExpression="SET open_ticket_id = :survivor",
                ConditionExpression="open_ticket_id = :merged",
                ExpressionAttributeValues={":survivor": survivor_after.id, ":merged": merged_after.id},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise  # otherwise the customer's open ticket was another one: nothing to move

    def _ticket_change(self, before: Versioned[Ticket], after: Ticket) -> list[dict[str, Any]]:
        """The ticket put (guarded by its version) and what follows it: the backlog counters of
        the queues it leaves or joins, the loads of the agents it moves between, its
        collaborators' items."""
        old, new = before.value, after
        position = waiting_position(new)
        put = self._put(
            to_item(new, "ticket", self._indexed_keys(new), version=before.version + 1),
            "version = :read_version",
        )
        put["Put"]["ExpressionAttributeValues"] = {":read_version": before.version}
        operations: list[dict[str, Any]] = [put]
        was = waiting_position(old)
        if (was and was.topic) != (position and position.topic):
            if was is not None:
                operations.append(self._backlog_change(was.topic.value, -1))
            if position is not None:
                operations.append(self._backlog_change(position.topic.value, +1))
        operations += self._agent_loads(old, new)
        operations += self._collaborations(old, new)
        return operations

    def kpis(self, day: str) -> dict[str, dict[str, int]]:
        """Every scope's counters for one day (one Query on the day's partition)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": keys.kpi_pk(day)},
        )
        skip = (PARTITION_KEY, SORT_KEY, ENTITY)
        return {
            str(item[SORT_KEY]): {k: int(v) for k, v in item.items() if k not in skip}
            for item in response.get("Items", [])
        }

    def ticket_audit(self, ticket_id: str, limit: int) -> list[AuditEntry]:
        """The ticket's audit trail, newest first (one Query on its partition)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :audit)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": keys.ticket_pk(ticket_id), ":audit": keys.AUDIT_PREFIX},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item, AuditEntry) for item in response.get("Items", [])]

    def _audit_item(self, ticket_id: str, audit: AuditEntry) -> dict[str, Any]:
        return to_item(
            audit,
            "audit",
            {PARTITION_KEY: keys.ticket_pk(ticket_id), SORT_KEY: keys.audit_sk(iso(audit.at), audit.id)},
        )

    def _dedup_put(self, dedup_key: str, write: InboundWrite | None, now: datetime) -> dict[str, Any]:
        expires = int((now + timedelta(days=DEDUP_TTL_DAYS)).timestamp())
        item: dict[str, Any] = {
            PARTITION_KEY: keys.dedup_pk(dedup_key),
            SORT_KEY: keys.DEDUP_SK,
            ENTITY: "dedup",
            "expires_at": expires,
        }
        if write is not None and write.message is not None:
            item["message_id"] = write.message.id
        if write is not None and write.ticket_id is not None:
            item["ticket_id"] = write.ticket_id
        return self._put(item, condition=_NEW)

    @staticmethod
    def _search_item(entry: SearchEntry) -> dict[str, Any]:
        return {
            PARTITION_KEY: entry.pk,
            SORT_KEY: entry.sk,
            ENTITY: "search",
            "kind": entry.kind.value,
            "target": entry.entity,
            "target_id": entry.entity_id,
            "label": entry.label,
        }

    def search(self, pk: str, sk_prefix: str, limit: int) -> list[SearchEntry]:
        """One index partition, terms starting with ``sk_prefix`` (exact when it ends with #)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": pk, ":prefix": sk_prefix},
            Limit=limit,
        )
        return [
            SearchEntry(
                str(i[PARTITION_KEY]),
                str(i[SORT_KEY]),
                SearchKind(str(i["kind"])),
                str(i["target"]),
                str(i["target_id"]),
                str(i.get("label", "")),
            )
            for i in response.get("Items", [])
        ]

    # ------------------------------------------------------------------ merges
    def merge_customers(self, plan: MergePlan) -> None:
        """One transaction: the merged profile points to the survivor, its identity records
        move (each guarded by its old owner), the survivor gains identities, contacts and the
        evidence. Versions guard both profiles against concurrent changes."""
        survivor, merged, evidence = plan.survivor, plan.merged, plan.evidence
        now = iso_json(evidence.merged_at)
        operations: list[dict[str, Any]] = [
            self._update(
                self._customer_keys(merged.id),
                "SET merged_into = :survivor, updated_at = :now ADD version :one",
                "version = :version AND attribute_not_exists(merged_into)",
                {},
                {":survivor": survivor.id, ":now": now, ":one": 1, ":version": plan.merged_version},
            )
        ]
        for identity in merged.identities:
            operations.append(
                self._move_identity(identity.kind.value, identity.value, merged.id, survivor.id)
            )
        sets = [
            "identities = list_append(identities, :identities)",
            "merges = list_append(merges, :evidence)",
        ]
        values: dict[str, Any] = {
            ":identities": [i.model_dump(mode="json", exclude_none=True) for i in evidence.moved_identities],
            ":evidence": [evidence.model_dump(mode="json", exclude_none=True)],
            ":version": plan.survivor_version,
            ":now": now,
            ":one": 1,
            ":zero": 0,
        }
        names: dict[str, str] = {}
        self._add_contacts(sets, names, values, contact_totals(evidence.moved_contacts, +1))
        sets.append("updated_at = :now")
        guard = "version = :version AND attribute_not_exists(merged_into)"
        if evidence.moved_account_id:  # the survivor joins the merged profile's company
            sets.append("account_id = :account")
            values[":account"] = evidence.moved_account_id
            guard += " AND attribute_not_exists(account_id)"  # unless it joined one meanwhile
        operations.append(
            self._update(
                self._customer_keys(survivor.id),
                "SET " + ", ".join(sets) + " ADD version :one",
                guard,
                names,
                values,
            )
        )
        operations.append(self._put(self._timeline_item(survivor.id, plan.timeline)))
        self._transact(operations)

    def undo_merge(self, plan: UndoPlan) -> None:
        survivor, merged, evidence = plan.survivor, plan.merged, plan.evidence
        now = iso_json(evidence.undone_at or utcnow())
        operations: list[dict[str, Any]] = [
            self._update(
                self._customer_keys(merged.id),
                "SET updated_at = :now REMOVE merged_into ADD version :one",
                "merged_into = :survivor",
                {},
                {":survivor": survivor.id, ":now": now, ":one": 1},
            )
        ]
        for identity in evidence.moved_identities:
            operations.append(
                self._move_identity(identity.kind.value, identity.value, survivor.id, merged.id)
            )
        sets = [f"merges[{plan.evidence_index}] = :evidence", "identities = :identities", "updated_at = :now"]
        values: dict[str, Any] = {
            ":evidence": evidence.model_dump(mode="json", exclude_none=True),
            ":identities": [i.model_dump(mode="json", exclude_none=True) for i in plan.remaining_identities],
            ":version": plan.survivor_version,
            ":now": now,
            ":one": 1,
            ":zero": 0,
        }
        names: dict[str, str] = {}
        self._add_contacts(sets, names, values, contact_totals(evidence.moved_contacts, -1))
        leave = " REMOVE account_id" if plan.leaves_account else ""
        operations.append(
            self._update(
                self._customer_keys(survivor.id),
                "SET " + ", ".join(sets) + leave + " ADD version :one",
                "version = :version",
                names,
                values,
            )
        )
        operations.append(self._put(self._timeline_item(survivor.id, plan.timeline)))
        operations.append(self._put(self._timeline_item(merged.id, plan.timeline)))
        self._transact(operations)

    def _move_identity(self, kind: str, value: str, from_id: str, to_id: str) -> dict[str, Any]:
        return self._update(
            {PARTITION_KEY: keys.identity_pk(kind, value), SORT_KEY: keys.IDENT_SK},
            "SET customer_id = :to",
            "customer_id = :from",
            {},
            {":to": to_id, ":from": from_id},
        )

    @staticmethod
    def _add_contacts(
        sets: list[str], names: dict[str, str], values: dict[str, Any], totals: dict[str, int]
    ) -> None:
        for number, (channel, count) in enumerate(sorted(totals.items())):
            path = f"traits.contacts_per_channel.#c{number}"
            names[f"#c{number}"] = channel
            values[f":c{number}"] = count
            sets.append(f"{path} = if_not_exists({path}, :zero) + :c{number}")

    # ------------------------------------------------------- lookups and statuses
    def ticket_for_email(self, message_id: str) -> str | None:
        item = self._get(keys.email_message_pk(message_id), keys.EMAIL_SK)
        return str(item["ticket_id"]) if item else None

    def provider_message(self, channel: str, provider_id: str) -> ProviderMessageRef | None:
        item = self._get(keys.provider_message_pk(f"{channel}:{provider_id}"), keys.PROVIDER_SK)
        if not item:
            return None
        return ProviderMessageRef(
            ticket_id=item.get("ticket_id"),
            message_sk=item.get("message_sk"),
            customer_id=item.get("customer_id"),
            status_rank=int(item.get("delivery_rank", 0)),
        )

    def apply_delivery_status(
        self,
        dedup_key: str,
        *,
        channel: str,
        provider_id: str,
        ref: ProviderMessageRef | None,
        status: DeliveryStatus,
        error: str | None,
        timeline: TimelineEntry | None,
    ) -> bool:
        """Move an outbound message's status forward (never back; failed is final).

        Returns False when the status is not newer than what is stored (a late or repeated
        callback): nothing is written. A status for a message not recorded yet is kept on
        the lookup item, and the message adopts it when it is recorded.
        """
        now = timeline.at if timeline is not None else utcnow()
        rank_guard = (
            "(attribute_not_exists(delivery_rank) OR (delivery_rank < :rank AND delivery_rank < :failed))"
        )
        values: dict[str, Any] = {
            ":rank": status.rank,
            ":failed": DeliveryStatus.failed.rank,
            ":status": status.value,
        }
        sets = "delivery_rank = :rank, delivery_status = :status"
        if error:
            sets += ", #error = :error"
            values[":error"] = error
        names = {"#error": "error"} if error else {}
        operations = [self._dedup_put(dedup_key, None, now)]
        operations.append(
            self._update(
                {
                    PARTITION_KEY: keys.provider_message_pk(f"{channel}:{provider_id}"),
                    SORT_KEY: keys.PROVIDER_SK,
                },
                "SET " + sets,
                rank_guard,
                names,
                values,
            )
        )
        if ref is not None and ref.ticket_id and ref.message_sk:
            operations.append(
                self._update(
                    {PARTITION_KEY: keys.ticket_pk(ref.ticket_id), SORT_KEY: ref.message_sk},
                    "SET " + sets,
                    f"attribute_exists({PARTITION_KEY}) AND {rank_guard}",
                    names,
                    values,
                )
            )
            if timeline is not None and ref.customer_id:
                operations.append(self._put(self._timeline_item(ref.customer_id, timeline)))
        try:
            self._transact(operations, dedup_key=dedup_key)
        except Conflict:
            return False
        return True

    def outbound_messages_before(self, ticket_id: str, until: datetime, limit: int) -> list[Message]:
        """The ticket's newest messages up to ``until`` that went out (for read watermarks)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={
                ":pk": keys.ticket_pk(ticket_id),
                ":low": "MSG#",
                ":high": f"MSG#{iso(until)}~",
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        found = [from_item(item, Message) for item in response.get("Items", [])]
        return [m for m in found if m.direction.value == "outbound"]

    @staticmethod
    def _customer_keys(customer_id: str) -> dict[str, str]:
        return {PARTITION_KEY: keys.customer_pk(customer_id), SORT_KEY: keys.PROFILE_SK}

    @staticmethod
    def _ticket_keys(ticket_id: str) -> dict[str, str]:
        return {PARTITION_KEY: keys.ticket_pk(ticket_id), SORT_KEY: keys.TICKET_SK}

    def _create(self, model: Customer | Ticket, kind: str, item_keys: dict[str, str]) -> dict[str, Any]:
        return self._put(to_item(model, kind, item_keys, version=1), condition=_NEW)

    def _contact_update(self, change: ContactUpdate) -> dict[str, Any]:
        """Commutative: concurrent messages of one customer all apply. Only the threading
        decision is guarded (the open ticket must still be the one the message joined)."""
        count = "traits.contacts_per_channel.#channel"
        sets = [
            f"{count} = if_not_exists({count}, :zero) + :one",
            "traits.last_contact_at = :contact_at",
            "traits.last_inbound_channel = :channel",
            "updated_at = :now",
        ]
        values: dict[str, Any] = {
            ":zero": 0,
            ":one": 1,
            ":contact_at": iso_json(change.contact_at),
            ":channel": change.channel.value,
            ":now": iso_json(change.now),
        }
        if change.write_contact_map:
            sets.append("traits.last_contact_per_channel = :contact_map")
            values[":contact_map"] = {change.channel.value: iso_json(change.contact_at)}
        else:
            sets.append("traits.last_contact_per_channel.#channel = :contact_at")
        if change.open_ticket_id is not None:
            sets.append("open_ticket_id = :ticket")
            values[":ticket"] = change.open_ticket_id
        if change.new_identities:
            sets.append("identities = list_append(identities, :identities)")
            values[":identities"] = [
                i.model_dump(mode="json", exclude_none=True) for i in change.new_identities
            ]
        for field in ("display_name", "first_name", "last_name"):
            value = getattr(change, field)
            if value:
                sets.append(f"{field} = if_not_exists({field}, :{field})")
                values[f":{field}"] = value
        if change.open_ticket_id is None:
            guard = f"attribute_exists({SORT_KEY})"  # the threading decision is not involved
        elif change.expected_open_ticket_id is None:
            guard = "attribute_not_exists(open_ticket_id)"
        else:
            guard = "open_ticket_id = :expected_ticket"
            values[":expected_ticket"] = change.expected_open_ticket_id
        return self._update(
            self._customer_keys(change.customer_id),
            "SET " + ", ".join(sets) + " ADD version :one",
            f"attribute_exists({PARTITION_KEY}) AND attribute_not_exists(merged_into) AND {guard}",
            {"#channel": change.channel.value},
            values,
        )

    def _ticket_update(self, change: TicketUpdate) -> dict[str, Any]:
        """Commutative message count; guarded by the status the decision was based on (it writes
        no status, which the list index projects: a status change is a whole-ticket change)."""
        values: dict[str, Any] = {
            ":one": 1,
            ":at": iso_json(change.message_at),
            ":now": iso_json(change.now),
            ":expected_status": change.expected_status.value,
        }
        sets = ["last_message_at = :at", "updated_at = :now"]
        if change.from_customer:  # replies default to the customer's last channel, not a party's
            sets += ["last_inbound_channel = :channel", "last_inbound_at = :at"]
            values[":channel"] = change.channel.value
        if change.order_number:
            sets.append("order_number = if_not_exists(order_number, :order_number)")
            values[":order_number"] = change.order_number
        if change.order_id:
            sets.append("order_id = if_not_exists(order_id, :order_id)")
            values[":order_id"] = change.order_id
        return self._update(
            self._ticket_keys(change.ticket_id),
            "SET " + ", ".join(sets) + " ADD message_count :one, version :one",
            "#status = :expected_status AND attribute_not_exists(merged_into)",
            {"#status": "status"},
            values,
        )


@dataclass(frozen=True)
class _Filter:
    """A FilterExpression with its names and values."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def either_entity(self, entity: str) -> _Filter:
        """Items of ``entity`` pass too (they carry none of the filtered attributes)."""
        return _Filter(
            f"#f_entity = :f_entity OR ({self.expression})",
            {**self.names, "#f_entity": ENTITY},
            {**self.values, ":f_entity": entity},
        )


def _filter_expression(equalities: dict[str, str], wanted: TicketFilters) -> _Filter | None:
    terms = [f"#f_{name} = :f_{name}" for name in equalities]
    names = {f"#f_{name}": name for name in equalities}
    values: dict[str, Any] = {f":f_{name}": value for name, value in equalities.items()}
    if wanted.tag is not None:
        terms.append("contains(#f_tags, :f_tag)")
        names["#f_tags"] = "tags"
        values[":f_tag"] = wanted.tag
    return _Filter(" AND ".join(terms), names, values) if terms else None


def _created_range(wanted: TicketFilters) -> tuple[str, str] | None:
    """Creation times as stored (ISO, UTC, milliseconds), inclusive; "~" sorts after "#<ref>"."""
    if wanted.created_from is None and wanted.created_to is None:
        return None
    low = iso(wanted.created_from) if wanted.created_from else "0"
    high = iso(wanted.created_to) + "~" if wanted.created_to else "9"
    return low, high


def _party_link_keys(link: PartyLink) -> dict[str, str]:
    return {
        PARTITION_KEY: keys.identity_pk(link.kind.value, link.value),
        SORT_KEY: keys.party_link_sk(int(link.added_at.timestamp()), link.ticket_id),
    }


_SUMMARY_FIELDS = frozenset(TicketSummary.model_fields)


def _summary(item: dict[str, Any]) -> TicketSummary:
    """A list entry from any index: the list index projects only these fields; the others
    project the whole ticket, of which the list shows the same fields."""
    return from_item({k: v for k, v in item.items() if k in _SUMMARY_FIELDS}, TicketSummary)
