"""The single table's keys and indexes, declared once.

CDK (infra/constructs/data.py), the local stack (infra/local) and the tests build the
table from this module; the repository builds its keys with the helpers below.
docs/data-model.md maps each access pattern to a key or an index defined here.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str
    # None projects ALL attributes. A list projects only those (INCLUDE): an update that touches
    # none of them (nor the index keys) costs no index write.
    projection: tuple[str, ...] | None = None


# Overloaded global secondary indexes (all string keys, projection ALL).
# GSI1: lists newest first (all tickets by month bucket, a customer's tickets, an order's tickets).
# GSI2: work queues (topic queue shards ordered by priority then age).
# GSI3: time-due lookups (surveys pending, abandoned carts), sharded by bucket.
# GSI4: the agents' ticket list, newest first, sharded; it projects only what the list shows, so
#       the counters and timestamps every new message updates never rewrite it.
TICKET_LIST_ATTRIBUTES: tuple[str, ...] = (
    "entity",
    "id",
    "subject",
    "type",
    "topic",
    "priority",
    "status",
    "channel",
    "customer_id",
    "customer_name",
    "account_id",
    "order_number",
    "assignee_id",
    "tags",
    "sla",
    "created_at",
)
# GSI5: tickets' next SLA deadline (the scheduled check reads ids only; the deadline is the key).
# GSI2 (ticket queues) and GSI5 project only what their readers use, so the counters and
# timestamps each message updates on a waiting ticket never rewrite an index entry.
INDEXES: tuple[Index, ...] = (
    Index("GSI1", "gsi1pk", "gsi1sk"),
    Index("GSI2", "gsi2pk", "gsi2sk", projection=TICKET_LIST_ATTRIBUTES),
    Index("GSI3", "gsi3pk", "gsi3sk"),
    Index("GSI4", "gsi4pk", "gsi4sk", projection=TICKET_LIST_ATTRIBUTES),
    Index("GSI5", "gsi5pk", "gsi5sk", projection=("id",)),
    # GSI6: a customer's tickets, newest first (360 view, the customer space).
    Index("GSI6", "gsi6pk", "gsi6sk", projection=TICKET_LIST_ATTRIBUTES),
)

# Number of shards for write-hot index partitions (queue index, due-date index).
# Each shard is its own partition (1,000 WCU each); readers query every shard.
QUEUE_SHARDS = 4
DUE_SHARDS = 4


def index(name: str) -> Index:
    for candidate in INDEXES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def key_attributes() -> list[str]:
    """Every attribute used as a key by the table or an index (all of type S)."""
    names = [PARTITION_KEY, SORT_KEY]
    for idx in INDEXES:
        names += [idx.partition_key, idx.sort_key]
    return names


# Shards of the "all tickets, newest first" list on GSI4 (one partition per shard).
LIST_SHARDS = 4

# Idempotency records outlive the longest sender retry window (Meta: 7 days).
DEDUP_TTL_DAYS = 8


def create_table_kwargs(table_name: str) -> dict[str, object]:
    """boto3 ``create_table`` arguments for this schema (local stack and tests; CDK builds its own
    construct from the same constants)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_attributes()],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": idx.name,
                "KeySchema": [
                    {"AttributeName": idx.partition_key, "KeyType": "HASH"},
                    {"AttributeName": idx.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": (
                    {"ProjectionType": "ALL"}
                    if idx.projection is None
                    else {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(idx.projection)}
                ),
            }
            for idx in INDEXES
        ],
    }
