"""Ports between the e-commerce sync and the order workflow (issue 6), as small Protocols.

E-commerce orders are synced, not fulfilled by Guichet: the platform ships them. Once one is
delivered, the sync asks the workflow to run the satisfaction stage for it, through this port.
The sync calls ``start_satisfaction`` at least once per delivered order (again after a crash
between the call and the record), then records ``satisfaction_requested_at`` on the order with
a conditional write, so implementations must be idempotent per order id (e.g. a Step Functions
execution named after the order, or a conditional survey put).
"""

from __future__ import annotations

from typing import Protocol


class SatisfactionStarter(Protocol):
    def start_satisfaction(self, order_id: str) -> object:
        """Run the satisfaction stage (survey and reminders) for a delivered order. Idempotent.
        What it returns is ignored (an implementation may say whether it sent a survey)."""
        ...


class RecordOnly:
    """Until the workflow plugs its starter in: nothing runs, the request stays recorded on the
    order (``satisfaction_requested_at``), where the workflow can find it."""

    def start_satisfaction(self, order_id: str) -> None:
        return None


_starter: SatisfactionStarter | None = None


def satisfaction_starter() -> SatisfactionStarter:
    """The starter the processor uses: the one installed with ``use_satisfaction_starter``
    (the workflow's wiring), else ``RecordOnly``."""
    return _starter if _starter is not None else RecordOnly()


def use_satisfaction_starter(starter: SatisfactionStarter | None) -> None:
    """Install the workflow's starter (once per cold start), or None to go back to the default."""
    global _starter  # noqa: PLW0603 (one wiring per cold start, like the handlers' _wire)
    _starter = starter
