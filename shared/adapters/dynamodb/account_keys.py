"""Key builders of the company accounts (see docs/data-model.md, "Company accounts").

An account's partition holds the account, its contacts (one item each) and its audit trail.
The account and contact sort keys both start with ``#`` so one Query (``begins_with(sk, #)``)
reads the account with its first contacts, and the audit entries never take page space.
"""

from __future__ import annotations

ACCOUNT_SK = "#ACCOUNT"
CONTACT_PREFIX = "#CONTACT#"
VIEW_PREFIX = "#"  # the account and its contacts, in that order ("#A" < "#C")
AUDIT_PREFIX = "AUDIT#"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def contact_sk(customer_id: str) -> str:
    return f"{CONTACT_PREFIX}{customer_id}"


def audit_sk(at_iso: str, entry_id: str) -> str:
    return f"{AUDIT_PREFIX}{at_iso}#{entry_id}"
