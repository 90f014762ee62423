"""Company accounts and their contacts on the single table (docs/data-model.md, "Company accounts").

Items (keys in account_keys.py): the account ``ACCOUNT#<id>`` / ``#ACCOUNT`` (name, VAT number,
``contact_count``, versioned), one item per contact ``ACCOUNT#<id>`` / ``#CONTACT#<customer id>``
(name, roles, email, phone) and the audit trail ``ACCOUNT#<id>`` / ``AUDIT#<ISO>#<id>``.
The customer's profile carries ``account_id``: the 360 view goes from the profile to its account
without any index, and "a customer is a contact of at most one account" is a condition on that
attribute, checked in the same transaction as the contact item and the account's counter.

Reads are GetItem and Query (no Scan); every write is one TransactWriteItems whose cancellation
becomes ``Conflict`` (the service re-reads and decides again).
"""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import account_keys, keys
from shared.adapters.dynamodb import cursor as cursors
from shared.adapters.dynamodb.items import from_item, iso_json, to_item, version_of
from shared.adapters.dynamodb.operations import TableOperations
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.domain.accounts import MAX_CONTACTS, AccountAuditEntry
from shared.domain.common import iso
from shared.domain.customer import Account, Contact
from shared.domain.errors import InvalidCursor
from shared.domain.timeline import TimelineEntry
from shared.ports import Page, Versioned

_NEW = f"attribute_not_exists({PARTITION_KEY})"
_EXISTS = f"attribute_exists({PARTITION_KEY})"
_TABLE_KEYS = frozenset({PARTITION_KEY, SORT_KEY})


class AccountStore(TableOperations):
    def __init__(self, table: Any) -> None:
        """``table`` is a boto3 ``dynamodb.Table`` resource (the same table as DynamoRepository)."""
        self._table = table
        self._client = table.meta.client
        self._name: str = table.name

    @classmethod
    def beside(cls, repo: Any) -> AccountStore:
        """The account store on the table a ``DynamoRepository`` was wired with."""
        return cls(repo._table)  # a sibling adapter on the same table

    # ------------------------------------------------------------------ reads
    def get_account(self, account_id: str) -> Versioned[Account] | None:
        item = self._get(account_keys.account_pk(account_id), account_keys.ACCOUNT_SK)
        return Versioned(_account(item), version_of(item)) if item else None

    def get_contact(self, account_id: str, customer_id: str) -> Contact | None:
        item = self._get(account_keys.account_pk(account_id), account_keys.contact_sk(customer_id))
        return from_item(item, Contact) if item else None

    def account_with_contacts(
        self, account_id: str, limit: int, cursor: str | None = None
    ) -> tuple[Versioned[Account] | None, Page[Contact]]:
        """The account and a page of its contacts (by customer id). First page: one Query
        (``begins_with(sk, #)``: the account sorts first, then its contacts); later pages:
        GetItem the account and Query the contacts after the cursor."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": account_keys.account_pk(account_id),
                ":prefix": account_keys.VIEW_PREFIX,
            },
        }
        if cursor is None:
            response = self._table.query(Limit=limit + 1, **params)
            items = response.get("Items", [])
            if not items or items[0][SORT_KEY] != account_keys.ACCOUNT_SK:
                return None, Page([], None)
            found: Versioned[Account] | None = Versioned(_account(items[0]), version_of(items[0]))
            items = items[1:]
        else:
            start = cursors.decode(cursor, _TABLE_KEYS).get("after")
            if (
                not start
                or set(start) != _TABLE_KEYS
                or start[PARTITION_KEY] != account_keys.account_pk(account_id)
                or not start[SORT_KEY].startswith(account_keys.CONTACT_PREFIX)
            ):
                raise InvalidCursor("the cursor is not one this API issued for this account")
            found = self.get_account(account_id)
            if found is None:
                return None, Page([], None)
            response = self._table.query(Limit=limit, ExclusiveStartKey=start, **params)
            items = response.get("Items", [])
        contacts = [from_item(item, Contact) for item in items]
        last = response.get("LastEvaluatedKey")
        return found, Page(contacts, cursors.encode({"after": last}) if last else None)

    def account_audit(self, account_id: str, limit: int) -> list[AccountAuditEntry]:
        """Newest first (one Query on the account's partition)."""
        response = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :audit)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={
                ":pk": account_keys.account_pk(account_id),
                ":audit": account_keys.AUDIT_PREFIX,
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item, AccountAuditEntry) for item in response.get("Items", [])]

    # ------------------------------------------------------------------ writes
    def create_account(self, account: Account, audit: AccountAuditEntry) -> None:
        """``Conflict`` if the account exists already (someone created it meanwhile)."""
        item = to_item(account.model_copy(update={"contacts": [], "contact_count": 0}), "account", {}, 1)
        item.pop("contacts", None)
        item.update(self._account_keys(account.id))
        self._transact([self._put(item, condition=_NEW), self._put(self._audit_item(audit))])

    def update_account(self, account: Account, expected_version: int, audit: AccountAuditEntry) -> None:
        """Name and VAT number, if the account is still at ``expected_version`` (else ``Conflict``);
        contacts and their counter are other items and attributes, left as they are."""
        values: dict[str, Any] = {
            ":name": account.name,
            ":now": iso_json(account.updated_at or audit.at),
            ":version": expected_version,
            ":one": 1,
        }
        expression = "SET #name = :name, updated_at = :now"
        if account.vat_number:
            expression += ", vat_number = :vat"
            values[":vat"] = account.vat_number
            tail = " ADD version :one"
        else:
            tail = " REMOVE vat_number ADD version :one"
        self._transact(
            [
                self._update(
                    self._account_keys(account.id),
                    expression + tail,
                    "version = :version",
                    {"#name": "name"},
                    values,
                ),
                self._put(self._audit_item(audit)),
            ]
        )

    def add_contact(
        self, account_id: str, contact: Contact, audit: AccountAuditEntry, timeline: TimelineEntry
    ) -> None:
        """A new contact, in one transaction: the account exists and has room (its counter
        grows), the contact item is new, and the customer's profile exists, is not merged and
        belongs to no account yet (it gets ``account_id``). Any guard failing -> ``Conflict``."""
        customer_id = contact.customer_id
        self._transact(
            [
                self._update(
                    self._account_keys(account_id),
                    "ADD contact_count :one",
                    f"{_EXISTS} AND contact_count < :max",
                    {},
                    {":one": 1, ":max": MAX_CONTACTS},
                ),
                self._put(self._contact_item(account_id, contact), condition=_NEW),
                self._update(
                    self._customer_keys(customer_id),
                    "SET account_id = :account, updated_at = :now ADD version :one",
                    f"{_EXISTS} AND attribute_not_exists(merged_into) AND attribute_not_exists(account_id)",
                    {},
                    {":account": account_id, ":now": iso_json(audit.at), ":one": 1},
                ),
                self._put(self._audit_item(audit)),
                self._put(self._timeline_item(customer_id, timeline)),
            ]
        )

    def update_contact(self, account_id: str, contact: Contact, audit: AccountAuditEntry) -> None:
        """Replace a contact's card if it is still a contact of this account (else ``Conflict``)."""
        self._transact(
            [
                self._put(self._contact_item(account_id, contact), condition=_EXISTS),
                self._put(self._audit_item(audit)),
            ]
        )

    def remove_contact(
        self, account_id: str, customer_id: str, audit: AccountAuditEntry, timeline: TimelineEntry
    ) -> None:
        """The contact item goes, the counter shrinks, the profile loses ``account_id`` (guarded:
        it must still be this account's), in one transaction."""
        self._transact(
            [
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": self._contact_keys(account_id, customer_id),
                        "ConditionExpression": _EXISTS,
                    }
                },
                self._update(
                    self._account_keys(account_id),
                    "ADD contact_count :minus",
                    _EXISTS,
                    {},
                    {":minus": -1},
                ),
                self._update(
                    self._customer_keys(customer_id),
                    "SET updated_at = :now REMOVE account_id ADD version :one",
                    "account_id = :account",
                    {},
                    {":account": account_id, ":now": iso_json(audit.at), ":one": 1},
                ),
                self._put(self._audit_item(audit)),
                self._put(self._timeline_item(customer_id, timeline)),
            ]
        )

    # ------------------------------------------------------------------ helpers
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={PARTITION_KEY: pk, SORT_KEY: sk}).get("Item")
        return item

    def _contact_item(self, account_id: str, contact: Contact) -> dict[str, Any]:
        return to_item(contact, "contact", self._contact_keys(account_id, contact.customer_id))

    @staticmethod
    def _audit_item(audit: AccountAuditEntry) -> dict[str, Any]:
        return to_item(
            audit,
            "account_audit",
            {
                PARTITION_KEY: account_keys.account_pk(audit.account_id),
                SORT_KEY: account_keys.audit_sk(iso(audit.at), audit.id),
            },
        )

    @staticmethod
    def _account_keys(account_id: str) -> dict[str, str]:
        return {PARTITION_KEY: account_keys.account_pk(account_id), SORT_KEY: account_keys.ACCOUNT_SK}

    @staticmethod
    def _contact_keys(account_id: str, customer_id: str) -> dict[str, str]:
        return {
            PARTITION_KEY: account_keys.account_pk(account_id),
            SORT_KEY: account_keys.contact_sk(customer_id),
        }

    @staticmethod
    def _customer_keys(customer_id: str) -> dict[str, str]:
        return {PARTITION_KEY: keys.customer_pk(customer_id), SORT_KEY: keys.PROFILE_SK}


def _account(item: dict[str, Any]) -> Account:
    return from_item({k: v for k, v in item.items() if k != "contacts"}, Account)
