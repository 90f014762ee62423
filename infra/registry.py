"""Every AWS resource and Lambda function of Guichet, declared once.

The CDK app (infra/stack.py and infra/constructs/) and the local stack (infra/local/)
both read this module; neither repeats what is here. Pure data: no aws_cdk, no boto3.

A function's environment is a mapping of variable name -> resource attribute
(``Ref``) or literal string. Its ``grants`` are the only permissions it gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Access = Literal["read", "write", "read_write", "send", "consume", "publish", "start", "task_response"]
Auth = Literal["none", "staff", "customer"]


@dataclass(frozen=True)
class Ref:
    """An attribute of a declared resource, resolved by CDK (a token) or locally (a value)."""

    # "table", "queue:<name>", "bucket:<name>", "secret:<name>", "topic:<name>", "userpool:<name>", "api"
    resource: str
    attribute: str  # "name", "url", "arn", "id", "client_id"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax, path parameters as {name}
    auth: Auth = "none"


@dataclass(frozen=True)
class Grant:
    resource: str
    access: Access


@dataclass(frozen=True)
class Schedule:
    name: str
    expression: str  # EventBridge syntax: "rate(5 minutes)" or "cron(0 7 * * ? *)"
    description: str


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str  # dotted path "functions.<name>.handler.handler"
    description: str
    settings: str  # dotted path of the pydantic settings model the environment must satisfy
    routes: tuple[Route, ...] = ()
    consumes: str | None = None  # queue name: SQS event source with partial batch failures
    schedules: tuple[Schedule, ...] = ()
    env: dict[str, Ref | str] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()
    memory_mb: int = 256
    timeout_s: int = 10
    batch_size: int = 10

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class QueueSpec:
    name: str
    description: str
    max_receive_count: int = 5  # then the message moves to "<name>-dlq"
    visibility_timeout_s: int = 60  # at least 6x the consumer's timeout (AWS guidance)
    retention_days: int = 4
    dlq_retention_days: int = 14


@dataclass(frozen=True)
class BucketSpec:
    name: str
    description: str


@dataclass(frozen=True)
class SecretSpec:
    name: str
    description: str
    # JSON key in the secret -> environment variable that seeds it locally, and its local default
    keys: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    subscribe_queue: str | None = None  # SNS -> SQS subscription (raw delivery off: SNS envelope)


@dataclass(frozen=True)
class EventRuleSpec:
    """An EventBridge rule on the default bus whose matching events go to a queue."""

    name: str
    description: str
    source: str
    detail_type: str
    target_queue: str


@dataclass(frozen=True)
class EmailReceiptSpec:
    """SES inbound: the receipt rule stores each raw mail in S3 (any size, unlike the SNS action's
    150 KB limit) and notifies the topic, whose subscription feeds the inbound queue."""

    rule_name: str
    bucket: str
    prefix: str
    topic: str


@dataclass(frozen=True)
class UserPoolSpec:
    name: str
    description: str
    groups: tuple[str, ...] = ()
    authorizes: Auth = "none"  # the Route.auth value whose JWT authorizer trusts this pool


# ---------------------------------------------------------------- resources
QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        name="inbound",
        description="Every verified inbound delivery (all channels), consumed by inbound_processor",
    ),
)

BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec(name="attachments", description="Email MIME parts, raw mail over 150 KB, documents"),
)

SECRETS: tuple[SecretSpec, ...] = (
    SecretSpec(
        name="webhooks",
        description="Signing secrets of the channel and commerce webhooks",
        keys={
            "meta_app_secret": ("META_APP_SECRET", "TEST_APP_SECRET"),
            "meta_verify_token": ("META_VERIFY_TOKEN", "TEST_VERIFY_TOKEN"),
            "twilio_auth_token": ("TWILIO_AUTH_TOKEN", "12345"),
            "shopify_webhook_secret": ("SHOPIFY_WEBHOOK_SECRET", "test_secret_key"),
            "woocommerce_webhook_secret": ("WOOCOMMERCE_WEBHOOK_SECRET", "wc_test_secret"),
        },
    ),
)

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(name="ops-alarms", description="Operational alarms (dead-letter queues not empty)"),
    TopicSpec(
        name="inbound-email",
        description="SES receipt notifications for inbound email",
        subscribe_queue="inbound",
    ),
)

EVENT_RULES: tuple[EventRuleSpec, ...] = (
    EventRuleSpec(
        name="connect-contact-events",
        description="Amazon Connect contact events (calls) into the inbound queue",
        source="aws.connect",
        detail_type="Amazon Connect Contact Event",
        target_queue="inbound",
    ),
)

EMAIL_RECEIPT = EmailReceiptSpec(
    rule_name="guichet-inbound", bucket="attachments", prefix="inbound-mail/", topic="inbound-email"
)

USER_POOLS: tuple[UserPoolSpec, ...] = (
    UserPoolSpec(
        name="staff",
        description="Agents, supervisors and admins of the support team",
        groups=("agent", "supervisor", "admin"),
        authorizes="staff",
    ),
    UserPoolSpec(name="customers", description="Customers of the customer space", authorizes="customer"),
)

# Environment common to every function (literal values only).
COMMON_ENV: dict[str, str] = {
    "POWERTOOLS_SERVICE_NAME": "guichet",
    "POWERTOOLS_METRICS_NAMESPACE": "Guichet",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

TABLE_ENV: dict[str, Ref | str] = {"TABLE_NAME": Ref("table", "name")}

# What a provider webhook needs: the queue it feeds, its signing secrets, the public URL
# the providers sign (Twilio signs the full URL as configured in its console).
PROVIDER_WEBHOOK_ENV: dict[str, Ref | str] = {
    "INBOUND_QUEUE_URL": Ref("queue:inbound", "url"),
    "WEBHOOK_SECRETS_ARN": Ref("secret:webhooks", "arn"),
    "PUBLIC_BASE_URL": Ref("api", "url"),
}
PROVIDER_WEBHOOK_GRANTS: tuple[Grant, ...] = (
    Grant("queue:inbound", "send"),
    Grant("secret:webhooks", "read"),
)

# ---------------------------------------------------------------- functions
FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="health",
        handler="functions.health.handler.handler",
        description="Liveness: the versions of what is running",
        settings="shared.settings.BaseSettings",
        routes=(Route("GET", "/health"),),
        memory_mb=128,
        timeout_s=3,
    ),
    FunctionSpec(
        name="form_webhook",
        handler="functions.form_webhook.handler.handler",
        description="Web contact form: validate and enqueue (202)",
        settings="shared.settings.FormWebhookSettings",
        routes=(Route("POST", "/webhooks/form"),),
        env={"INBOUND_QUEUE_URL": Ref("queue:inbound", "url")},
        grants=(Grant("queue:inbound", "send"),),
        timeout_s=5,
    ),
    FunctionSpec(
        name="meta_webhook",
        handler="functions.meta_webhook.handler.handler",
        description="WhatsApp, Messenger and Instagram: handshake, signature check, enqueue",
        settings="shared.settings.ChannelWebhookSettings",
        routes=tuple(
            Route(method, f"/webhooks/{channel}")
            for channel in ("whatsapp", "messenger", "instagram")
            for method in ("GET", "POST")
        ),
        env={**PROVIDER_WEBHOOK_ENV},
        grants=PROVIDER_WEBHOOK_GRANTS,
        timeout_s=5,
    ),
    FunctionSpec(
        name="twilio_webhook",
        handler="functions.twilio_webhook.handler.handler",
        description="Twilio SMS/WhatsApp messages, message statuses and voice call statuses",
        settings="shared.settings.ChannelWebhookSettings",
        routes=tuple(Route("POST", f"/webhooks/twilio/{kind}") for kind in ("sms", "status", "voice")),
        env={**PROVIDER_WEBHOOK_ENV},
        grants=PROVIDER_WEBHOOK_GRANTS,
        timeout_s=5,
    ),
    FunctionSpec(
        name="inbound_processor",
        handler="functions.inbound_processor.handler.handler",
        description="Consumes the inbound queue: customer, ticket, message, timeline",
        settings="shared.settings.ProcessorSettings",
        consumes="inbound",
        env={
            **TABLE_ENV,
            "ATTACHMENTS_BUCKET": Ref("bucket:attachments", "name"),
            "INBOUND_EMAIL_TOPIC_ARN": Ref("topic:inbound-email", "arn"),
            "INBOUND_EMAIL_PREFIX": EMAIL_RECEIPT.prefix,
        },
        grants=(
            Grant("table", "read_write"),
            Grant("queue:inbound", "consume"),
            Grant("bucket:attachments", "read_write"),
        ),
        memory_mb=512,  # MIME parsing of large mail
        timeout_s=10,
    ),
    FunctionSpec(
        name="agent_api",
        handler="functions.agent_api.handler.handler",
        description="Agent workspace API (tickets), behind the staff JWT authorizer",
        settings="shared.settings.ApiSettings",
        routes=(
            Route("GET", "/api/tickets", auth="staff"),
            Route("GET", "/api/tickets/{ticket_id}", auth="staff"),
            Route("GET", "/api/customers/{customer_id}", auth="staff"),
            Route("POST", "/api/customers/{customer_id}/merges/{merged_id}/undo", auth="staff"),
        ),
        env={**TABLE_ENV},
        grants=(Grant("table", "read_write"),),  # agents change tickets and profiles (undo a merge)
    ),
    FunctionSpec(
        name="portal_api",
        handler="functions.portal_api.handler.handler",
        description="Customer space: a signed-in customer's messages, behind the customer JWT authorizer",
        settings="shared.settings.PortalSettings",
        routes=(Route("POST", "/api/portal/messages", auth="customer"),),
        env={"INBOUND_QUEUE_URL": Ref("queue:inbound", "url")},
        grants=(Grant("queue:inbound", "send"),),
    ),
    # --- orders and commerce (issue 6, items 1-3) ------------------------------------------
    FunctionSpec(
        name="commerce_webhook",
        handler="functions.commerce_webhook.handler.handler",
        description="Shopify and WooCommerce webhooks: signature check, WooCommerce ping, enqueue",
        settings="shared.settings.CommerceWebhookSettings",
        routes=(Route("POST", "/webhooks/shopify"), Route("POST", "/webhooks/woocommerce")),
        env={
            "INBOUND_QUEUE_URL": Ref("queue:inbound", "url"),
            "WEBHOOK_SECRETS_ARN": Ref("secret:webhooks", "arn"),
        },
        grants=PROVIDER_WEBHOOK_GRANTS,
        timeout_s=5,
    ),
    FunctionSpec(
        name="abandoned_carts",
        handler="functions.abandoned_carts.handler.handler",
        description="Checkouts without an order after ABANDONED_CART_MINUTES become abandoned carts",
        settings="shared.settings.CartSweepSettings",
        schedules=(
            Schedule("abandoned-carts", "rate(15 minutes)", "Report checkouts left without an order"),
        ),
        env={**TABLE_ENV, "ABANDONED_CART_MINUTES": "60"},
        grants=(Grant("table", "read_write"),),
        timeout_s=60,
    ),
    FunctionSpec(
        name="orders_api",
        handler="functions.orders_api.handler.handler",
        description="The 360 order view, order search and ticket links, behind the staff JWT authorizer",
        settings="shared.settings.ApiSettings",
        routes=(
            Route("GET", "/api/orders", auth="staff"),
            Route("GET", "/api/orders/{order_id}", auth="staff"),
            Route("PUT", "/api/orders/{order_id}/tickets/{ticket_id}", auth="staff"),
            Route("GET", "/api/customers/{customer_id}/orders", auth="staff"),
        ),
        env={**TABLE_ENV},
        grants=(Grant("table", "read_write"),),
    ),
)


def function(name: str) -> FunctionSpec:
    for spec in FUNCTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def all_routes() -> list[tuple[Route, FunctionSpec]]:
    return [(route, spec) for spec in FUNCTIONS for route in spec.routes]


def all_schedules() -> list[tuple[Schedule, FunctionSpec]]:
    return [(schedule, spec) for spec in FUNCTIONS for schedule in spec.schedules]
