"""Tell the customer where their order stands: one alert per order and stage, exactly once.

A step may run twice (a Lambda retry, a restarted workflow); the customer must not hear twice.
Before sending, the alert is *claimed* with a conditional put of ``ORDER#<id>`` / ``ALERT#<key>``;
only the claimant sends, then marks it sent and writes the customer's timeline entry in one
transaction. A failed send releases the claim for the retry. If the process dies between the
provider accepting the message and our write, the claim's lease (longer than any retry
interval of the step) keeps a retry from sending again: at most once wins over twice. For the
same reason a WhatsApp send whose answer was lost (``DeliveryUncertain``) keeps its claim and is
recorded as ``uncertain``, never sent again.

Channels (shared.domain.alerts.choose_recipient): email, else WhatsApp (an approved template,
for a customer known by a WhatsApp number, when the deployment has WhatsApp), else SMS.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from shared.domain.alerts import (
    AlertChannel,
    Recipient,
    RenderedAlert,
    WhatsAppAlert,
    choose_recipient,
    render,
    whatsapp_template,
)
from shared.domain.common import Channel
from shared.domain.customer import Customer
from shared.domain.order import Order
from shared.domain.timeline import TimelineEntry
from shared.domain.workflow import AlertKind, TransientError, alert_key
from shared.workflow_ports import Clock, Customers, Notifier, WhatsAppNotifier, WorkflowData

CLAIM_LEASE = timedelta(minutes=15)  # > a step's timeout plus its retry intervals


class DeliveryRejected(Exception):
    """The provider refused the message for good (bad address, opted out): do not retry."""


class DeliveryUncertain(Exception):
    """The request reached the provider and its answer was lost: the message may have gone out.
    Not retried (the customer must not hear twice)."""


class AlertOutcome(StrEnum):
    sent = "sent"
    already = "already"  # sent (or being sent) by an earlier attempt
    skipped = "skipped"  # no channel to reach the customer on
    rejected = "rejected"  # the provider refused it for good
    uncertain = "uncertain"  # the provider's answer was lost: maybe sent, never resent


_CHANNELS = {
    AlertChannel.email: Channel.email,
    AlertChannel.whatsapp: Channel.whatsapp,
    AlertChannel.sms: Channel.sms,
}


class AlertService:
    def __init__(
        self,
        store: WorkflowData,
        customers: Customers,
        notifier: Notifier,
        clock: Clock,
        whatsapp: WhatsAppNotifier | None = None,
    ) -> None:
        """``whatsapp``: the WhatsApp template sender, if this deployment has one."""
        self._store = store
        self._customers = customers
        self._notifier = notifier
        self._clock = clock
        self._whatsapp = whatsapp

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
        try:
            if customer is None:
                customer = self.customer(order.customer_id)
            whatsapp = self._whatsapp
            recipient = choose_recipient(
                customer,
                fallback_email=order.email,
                fallback_phone=order.phone,
                whatsapp=whatsapp.available if whatsapp is not None else None,
            )
        except Exception as exc:
            self._store.release_alert(order.id, key, type(exc).__name__)
            raise TransientError(f"{kind.value} alert: {type(exc).__name__}") from exc
        customer_id = customer.id if customer else order.customer_id
        details = {"order_id": order.id, "order_number": order.number, "alert": key}
        if recipient is None:
            entry = TimelineEntry(
                event_id=f"alert:{order.id}:{key}",
                kind="alert",
                direction="outbound",
                summary=f"Order {order.number}: {kind.value} alert not sent (no email, WhatsApp or phone)",
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
        fields = {"order_number": order.number, **(fields or {})}
        rendered = render(kind, recipient.locale, fields)
        template = (
            whatsapp_template(kind, recipient.locale, fields)
            if recipient.channel is AlertChannel.whatsapp
            else None
        )
        status, provider_id = AlertOutcome.sent, None
        try:
            provider_id = self._deliver(recipient, rendered, template)
        except DeliveryRejected:
            status = AlertOutcome.rejected
        except DeliveryUncertain:
            status = AlertOutcome.uncertain
        except Exception as exc:
            self._store.release_alert(order.id, key, type(exc).__name__)
            raise TransientError(f"{kind.value} alert: {type(exc).__name__}") from exc
        channel = _CHANNELS[recipient.channel]
        verb = {
            AlertOutcome.sent: "sent",
            AlertOutcome.rejected: "refused by the provider",
            AlertOutcome.uncertain: "maybe sent: the provider's answer was lost",
        }[status]
        entry = TimelineEntry(
            event_id=f"alert:{order.id}:{key}",
            kind="alert",
            channel=channel,
            direction="outbound",
            summary=f"{rendered.subject} ({channel.value} {verb})",
            details={
                **details,
                **({"template": template.name, "language": template.language} if template else {}),
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

    def _deliver(self, recipient: Recipient, rendered: RenderedAlert, template: WhatsAppAlert | None) -> str:
        """Send on the recipient's channel; the provider's message id."""
        if template is not None:
            assert self._whatsapp is not None  # choose_recipient only picks WhatsApp when it is there
            return self._whatsapp.send_template(recipient.address, template)
        if recipient.channel is AlertChannel.email:
            to = recipient.address
            return self._notifier.send_email(to, rendered.subject, rendered.text, rendered.html)
        return self._notifier.send_sms(recipient.address, rendered.sms)
