"""Typed per-function settings, read lazily from the environment and cached by the caller.

Nothing here runs at import time. Each handler module calls ``load(SettingsClass)`` once,
on its first invocation. tests/infra checks that every function's CDK environment
satisfies the model named in infra/registry.py.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.adapters.outbound import OutboundConfig


class BaseSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    service: str = Field(default="guichet", alias="POWERTOOLS_SERVICE_NAME")


class FormWebhookSettings(BaseSettings):
    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)


class PortalSettings(BaseSettings):
    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class ChannelWebhookSettings(BaseSettings):
    """Provider webhooks (Meta, Twilio): verify with the secrets, enqueue on the inbound queue."""

    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)
    payloads_bucket: str = Field(alias="PAYLOADS_BUCKET", min_length=1)  # claim checks
    webhook_secrets_id: str = Field(alias="WEBHOOK_SECRETS_ARN", min_length=1)
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1, pattern=r"^https?://")


class ProcessorSettings(BaseSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    attachments_bucket: str = Field(alias="ATTACHMENTS_BUCKET", min_length=1)
    # Only SES notifications of our receipt rule are accepted as email: published on this topic,
    # about mail its S3 action stored in the attachments bucket under this prefix. (SES does not
    # put the rule's name in the notification; its topic and action are what identify it.)
    inbound_email_topic_arn: str = Field(alias="INBOUND_EMAIL_TOPIC_ARN", min_length=1)
    inbound_email_prefix: str = Field(alias="INBOUND_EMAIL_PREFIX", min_length=1)
    support_email_domains: str = Field(default="", alias="SUPPORT_EMAIL_DOMAINS")
    # Delivered e-commerce orders start the order workflow at Satisfaction (survey and
    # reminders); unset, the request is only recorded on the order (satisfaction_requested_at).
    order_workflow_arn: str = Field(default="", alias="ORDER_WORKFLOW_ARN")
    # Claim checks read back; split deliveries and deferred records sent back to the queue.
    payloads_bucket: str = Field(alias="PAYLOADS_BUCKET", min_length=1)
    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)


class SlaCheckSettings(BaseSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    supervisors_topic_arn: str = Field(alias="SUPERVISORS_TOPIC_ARN", min_length=1)


class ApiSettings(BaseSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


# --- orders and commerce (issue 6, items 1-3) ---------------------------------------------
class CommerceWebhookSettings(BaseSettings):
    """Shopify and WooCommerce webhooks: verify with the ``webhooks`` secret, enqueue once."""

    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)
    payloads_bucket: str = Field(alias="PAYLOADS_BUCKET", min_length=1)  # claim checks
    webhook_secrets_id: str = Field(alias="WEBHOOK_SECRETS_ARN", min_length=1)


class CartSweepSettings(BaseSettings):
    """The abandoned-cart sweeper: a checkout with no order this long after its last update
    shows as an abandoned cart on the customer's profile."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    abandoned_cart_minutes: int = Field(default=60, alias="ABANDONED_CART_MINUTES", ge=1, le=30 * 24 * 60)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load(model: type[SettingsT], environ: dict[str, str] | None = None) -> SettingsT:
    """Validate the environment against ``model`` (raises pydantic.ValidationError)."""
    source = dict(os.environ) if environ is None else environ
    return model.model_validate(source)


# ---------------------------------------------------------------- order workflow (issue 6)
class WorkflowStepSettings(BaseSettings, OutboundConfig):
    """A step of the order workflow: the table, who alerts come from, the base of their links.

    WhatsApp alerts: the steps that alert customers also get PROVIDER_SECRETS_ARN (the
    ``providers`` secret) and OutboundConfig's WhatsApp variables (WHATSAPP_PROVIDER,
    WHATSAPP_PHONE_NUMBER_ID, META_GRAPH_BASE_URL, META_GRAPH_VERSION); without them (the
    incident step) there is no WhatsApp and alerts fall back to SMS.
    """

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    alert_sender: str = Field(alias="ALERT_SENDER", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1, pattern=r"^https?://")
    sms_sender_id: str = Field(default="", alias="SMS_SENDER_ID", max_length=11)
    provider_secrets_id: str | None = Field(default=None, alias="PROVIDER_SECRETS_ARN", min_length=1)

    def whatsapp_alerts(self) -> bool:
        """Whether WhatsApp alerts are configured: the secret and a Cloud API phone number id
        (templates are sent by name; Twilio would need a Content SID per template)."""
        return bool(
            self.provider_secrets_id and self.whatsapp_provider == "cloud" and self.whatsapp_phone_number_id
        )


class PreparationSettings(WorkflowStepSettings):
    # "fake:" runs the in-process fake (local stack, tests); an https:// URL the real system.
    provisioning_url: str = Field(alias="PROVISIONING_URL", pattern=r"^(fake:|https?://)")
    provisioning_timeout_s: float = Field(default=5.0, alias="PROVISIONING_TIMEOUT_S", gt=0, le=30)
    back_order_max_waits: int = Field(default=14, alias="BACK_ORDER_MAX_WAITS", ge=1)


class InstallationSettings(WorkflowStepSettings):
    max_escalations: int = Field(default=3, alias="COMMISSIONING_MAX_ESCALATIONS", ge=1)


class BillingSettings(WorkflowStepSettings):
    documents_bucket: str = Field(alias="DOCUMENTS_BUCKET", min_length=1)


class SurveyReminderSettings(WorkflowStepSettings):
    survey_reminder_days: int = Field(default=3, alias="SURVEY_REMINDER_DAYS", ge=1)
    survey_max_reminders: int = Field(default=2, alias="SURVEY_MAX_REMINDERS", ge=0)


class OrderApiSettings(BaseSettings):
    """Quotes, commissioning reports, billable statuses, restarts: starts executions and
    answers their callbacks. The waits' timeouts go into each execution's input."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    order_workflow_arn: str = Field(alias="ORDER_WORKFLOW_ARN", min_length=1)
    documents_bucket: str = Field(alias="DOCUMENTS_BUCKET", min_length=1)
    commissioning_timeout_s: int = Field(default=7 * 86_400, alias="COMMISSIONING_TIMEOUT_S", ge=1)
    billing_hold_timeout_s: int = Field(default=14 * 86_400, alias="BILLING_HOLD_TIMEOUT_S", ge=1)
    back_order_wait_s: int = Field(default=86_400, alias="BACK_ORDER_WAIT_S", ge=1)


# ------------------------------------------------ replies and canned responses (issue 5, 6-7)
class RepliesSettings(BaseSettings, OutboundConfig):
    """replies_api: the only function holding the providers' credentials and SES sending.

    The outbound clients' settings are OutboundConfig's own variables (shared.adapters.outbound:
    SUPPORT_EMAIL_FROM, TWILIO_API_BASE_URL, META_GRAPH_BASE_URL, WHATSAPP_PHONE_NUMBER_ID ...);
    their credentials are the keys of the ``providers`` secret (PROVIDER_SECRETS_ARN).
    Twilio's status callbacks go to PUBLIC_BASE_URL unless TWILIO_STATUS_CALLBACK_URL says otherwise.
    """

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    provider_secrets_id: str = Field(alias="PROVIDER_SECRETS_ARN", min_length=1)
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1, pattern=r"^https?://")
    email_from: str | None = Field(
        default=None, alias="SUPPORT_EMAIL_FROM", pattern=r"^[^@\s+]+@[^@\s]+\.[^@\s]+$"
    )

    def outbound(self) -> OutboundConfig:
        """The clients' configuration, with Twilio's status callback on our webhook by default."""
        callback = (
            self.twilio_status_callback_url or f"{self.public_base_url.rstrip('/')}/webhooks/twilio/status"
        )
        return OutboundConfig.model_validate(
            {
                **self.model_dump(include=set(OutboundConfig.model_fields)),
                "twilio_status_callback_url": callback,
            }
        )
