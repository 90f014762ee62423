"""Key builders: the only place that knows how items are addressed (see docs/data-model.md)."""

from __future__ import annotations

import hashlib

from shared.adapters.dynamodb.schema import DUE_SHARDS, LIST_SHARDS, QUEUE_SHARDS

TICKET_SK = "#TICKET"
PROFILE_SK = "#PROFILE"
IDENT_SK = "#IDENT"
DEDUP_SK = "#DEDUP"
EMAIL_SK = "#EMAIL"
PROVIDER_SK = "#PROVIDER"


def shard_of(identifier: str, shards: int) -> int:
    """Stable shard number of an id (sha1, not hash(): the same across processes)."""
    return int.from_bytes(hashlib.sha1(identifier.encode()).digest()[:4], "big") % shards  # noqa: S324


def ticket_pk(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def message_sk(sent_iso: str, message_id: str) -> str:
    return f"MSG#{sent_iso}#{message_id}"


def ticket_list_pk(shard: int) -> str:
    return f"TICKETS#{shard}"


def ticket_list_keys(ticket_id: str, created_iso: str) -> dict[str, str]:
    """GSI4: the agents' ticket list (see schema.TICKET_LIST_ATTRIBUTES for what it projects)."""
    return {
        "gsi4pk": ticket_list_pk(shard_of(ticket_id, LIST_SHARDS)),
        "gsi4sk": f"{created_iso}#{ticket_id}",
    }


def customer_pk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def timeline_sk(at_iso: str, event_id: str) -> str:
    return f"TL#{at_iso}#{event_id}"


def identity_pk(kind: str, value: str) -> str:
    return f"IDENT#{kind}#{value}"


PARTY_LINK_PREFIX = "PARTY#"  # beside IDENT_SK ("#IDENT" sorts first): one Query reads both


_LATEST = 10**10  # seconds; inverted so that an ascending Query reads the newest link first


def party_link_sk(added_epoch: int, ticket_id: str) -> str:
    """A third party's address or number on a ticket, in the partition of its identity record,
    newest first after the identity record itself."""
    return f"{PARTY_LINK_PREFIX}{_LATEST - added_epoch:010d}#{ticket_id}"


def dedup_pk(dedup_key: str) -> str:
    return f"DEDUP#{dedup_key}"


def email_message_pk(message_id: str) -> str:
    """RFC Message-IDs are compared without their angle brackets, case-sensitively (RFC 5322)."""
    return f"MSGID#{message_id.strip().strip('<>')}"


def provider_message_pk(channel_and_id: str) -> str:
    return f"PROVIDERMSG#{channel_and_id}"


def queue_pk(topic: str, shard: int) -> str:
    return f"QUEUE#{topic}#{shard}"


def queue_keys(topic: str, sort_key: str, ticket_id: str) -> dict[str, str]:
    """GSI2: a waiting ticket in its topic queue, on one of QUEUE_SHARDS partitions."""
    return {"gsi2pk": queue_pk(topic, shard_of(ticket_id, QUEUE_SHARDS)), "gsi2sk": sort_key}


def agent_pk(agent_id: str) -> str:
    return f"AGENT#{agent_id}"


def queue_stats_pk(topic: str) -> str:
    return f"QUEUESTATS#{topic}"


AGENT_SK = "#AGENT"
STATS_SK = "#STATS"
AUDIT_PREFIX = "AUDIT#"


def audit_sk(at_iso: str, event_id: str) -> str:
    return f"{AUDIT_PREFIX}{at_iso}#{event_id}"


def sla_due_pk(shard: int) -> str:
    return f"DUE#SLA#{shard}"


def sla_due_keys(ticket_id: str, due_iso: str) -> dict[str, str]:
    """GSI5: a ticket's next running SLA deadline, on one of DUE_SHARDS partitions."""
    return {"gsi5pk": sla_due_pk(shard_of(ticket_id, DUE_SHARDS)), "gsi5sk": f"{due_iso}#{ticket_id}"}


def kpi_pk(day: str) -> str:
    return f"KPI#{day}"


def assignee_pk(agent_id: str) -> str:
    return f"ASSIGNEE#{agent_id}"


def assignee_keys(agent_id: str, created_iso: str, ticket_id: str) -> dict[str, str]:
    """GSI1: an agent's active tickets ("mine"), newest first."""
    return {"gsi1pk": assignee_pk(agent_id), "gsi1sk": f"{created_iso}#{ticket_id}"}


def customer_tickets_pk(customer_id: str) -> str:
    return f"CUSTOMERTICKETS#{customer_id}"


def customer_ticket_keys(customer_id: str, created_iso: str, ticket_id: str) -> dict[str, str]:
    """GSI6: a customer's tickets, newest first."""
    return {"gsi6pk": customer_tickets_pk(customer_id), "gsi6sk": f"{created_iso}#{ticket_id}"}


COLLABORATION_PREFIX = "COLLAB#"


def collaborator_pk(agent_id: str) -> str:
    return f"COLLABORATOR#{agent_id}"


def collaboration_keys(ticket_id: str, agent_id: str, created_iso: str) -> dict[str, str]:
    """A collaborator of an active ticket: an item in the ticket's partition, on GSI1 under the
    agent's ``COLLABORATOR#`` partition (their "mine" list reads it beside ``ASSIGNEE#``)."""
    return {
        "pk": ticket_pk(ticket_id),
        "sk": f"{COLLABORATION_PREFIX}{agent_id}",
        "gsi1pk": collaborator_pk(agent_id),
        "gsi1sk": f"{created_iso}#{ticket_id}",
    }
