"""Tell the customer where their order stands: one alert per order and stage, exactly once.

A step may run twice (a Lambda retry, a restarted workflow); the customer must not hear twice.
Before sending, the alert is *claimed* with a conditional put of ``ORDER#<id>`` / ``ALERT#<key>``;
only the claimant sends, then marks it sent and writes the customer's timeline entry in one
transaction. A failed send releases the claim for the retry. If the process dies between the
provider accepting the message and our write, the claim's lease (longer than any retry
interval of the step) keeps a retry from sending again: at most once wins over twice.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from shared.domain.alerts import AlertChannel, choose_recipient, render
from shared.domain.common import Channel
from shared.domain.customer import Customer
from shared.domain.order import Order
from shared.domain.timeline import TimelineEntry
from shared.domain.workflow import AlertKind, TransientError, alert_key
from shared.workflow_ports import Clock, Customers, Notifier, WorkflowData

CLAIM_LEASE = timedelta(minutes=15)  # > a step's timeout plus its retry intervals


class DeliveryRejected(Exception):
    """The provider refused the message for good (bad address, opted out): do not retry."""


class AlertOutcome(StrEnum):
    sent = "sent"
    already = "already"  # sent (or being sent) by an earlier attempt
    skipped = "skipped"  # no channel to reach the customer on
    rejected = "rejected"  # the provider refused it for good


class AlertService:
    def __init__(self, store: WorkflowData, customers: Customers, notifier: Notifier, clock: Clock) -> None:
        self._store = store
        self._customers = customers
        self._notifier = notifier
        self._clock = clock

    def customer(self, customer_id: str | None) -> Customer | None:
        """The profile, following a merge to the surviving profile."""
        seen = 0
        while customer_id and seen < 3:
            found = self._customers.get_customer(customer_id)
            if found is None:
                return None
            if found.value.merged_into is None:
                return found.value
            customer_id, seen = found.value.merged_into, seen + 1
        return None

    def send(
        self,
        order: Order,
        kind: AlertKind,
        fields: dict[str, str] | None = None,
        attempt: int | None = None,
        *,
        customer: Customer | None = None,
    ) -> AlertOutcome:
        """``customer``: the profile if the step already read it (else it is read here)."""
        key = alert_key(kind, attempt)
        now = self._clock.now()
        if not self._store.claim_alert(order.id, key, now, now + CLAIM_LEASE):
            return AlertOutcome.already
        if customer is None:
            customer = self.customer(order.customer_id)
        recipient = choose_recipient(customer, fallback_email=order.email, fallback_phone=order.phone)
        customer_id = customer.id if customer else order.customer_id
        details = {"order_id": order.id, "order_number": order.number, "alert": key}
        if recipient is None:
            entry = TimelineEntry(
                event_id=f"alert:{order.id}:{key}",
                kind="alert",
                direction="outbound",
                summary=f"Order {order.number}: {kind.value} alert not sent (no email or phone)",
                details={**details, "status": "skipped"},
                at=now,
            )
            self._store.complete_alert(
                order.id,
                key,
                status="skipped",
                channel=None,
                provider_id=None,
                customer_id=customer_id,
                timeline=entry,
            )
            return AlertOutcome.skipped
        rendered = render(kind, recipient.locale, {"order_number": order.number, **(fields or {})})
        status, provider_id = AlertOutcome.sent, None
        try:
            if recipient.channel is AlertChannel.email:
                provider_id = self._notifier.send_email(
                    recipient.address, rendered.subject, rendered.text, rendered.html
                )
            else:
                provider_id = self._notifier.send_sms(recipient.address, rendered.sms)
        except DeliveryRejected:
            status = AlertOutcome.rejected
        except Exception as exc:
            self._store.release_alert(order.id, key, type(exc).__name__)
            raise TransientError(f"{kind.value} alert: {type(exc).__name__}") from exc
        channel = Channel.email if recipient.channel is AlertChannel.email else Channel.sms
        verb = "sent" if status is AlertOutcome.sent else "refused by the provider"
        entry = TimelineEntry(
            event_id=f"alert:{order.id}:{key}",
            kind="alert",
            channel=channel,
            direction="outbound",
            summary=f"{rendered.subject} ({channel.value} {verb})",
            details={
                **details,
                "status": status.value,
                **({"provider_id": provider_id} if provider_id else {}),
            },
            at=self._clock.now(),
        )
        self._store.complete_alert(
            order.id,
            key,
            status=status.value,
            channel=channel.value,
            provider_id=provider_id,
            customer_id=customer_id,
            timeline=entry,
        )
        return status
