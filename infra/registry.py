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
# Besides the declared resources, grants may name "email" (SES SendEmail from ALERT_SENDER only),
# "ses" (SES SendEmail/SendRawEmail from SUPPORT_EMAIL_FROM only, on its identities' ARNs),
# "sms" (SNS Publish to phone numbers, never to a topic) and "statemachine:<name>" ("start",
# "task_response").
Auth = Literal["none", "staff", "customer"]
# Who calls a route, for its throttle: an auth="none" route is "anonymous" (the web form, survey
# links, /health) unless a provider signs it ("provider": Meta, Twilio, Shopify, WooCommerce).
Caller = Literal["anonymous", "provider", "staff", "customer"]


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
    caller: Caller | None = None  # None: "staff"/"customer" by auth, "anonymous" for auth="none"

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def who(self) -> Caller:
        if self.caller is not None:
            return self.caller
        return "anonymous" if self.auth == "none" else self.auth


@dataclass(frozen=True)
class Throttle:
    """API Gateway route throttle: steady requests per second and burst, all callers together."""

    rate: int
    burst: int


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
    # A queue consumer's maximum concurrency (the SQS event source's): a flood of messages
    # cannot take the account's Lambda concurrency from the API functions.
    max_concurrency: int | None = None

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
    # Alarm when the oldest message has waited this long: the consumer is failing or too slow.
    max_age_s: int = 300


@dataclass(frozen=True)
class BucketSpec:
    name: str
    description: str
    expire_days: int | None = None  # objects are deleted this long after their creation


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
class StateMachineSpec:
    """A Step Functions state machine defined by an ASL file with ``${Placeholders}``.

    ``name`` is also the file's stem (infra/statemachine/<name>.asl.json), the local stack's name
    for it and the key of ``Ref("statemachine:<name>", "arn")``. Its role may invoke the ``tasks``
    functions and nothing else; the placeholder ``${<Task>FunctionArn}`` of each task (CamelCase
    of the function name) is its only substitution, resolved by CDK and by the local stack alike.
    Who may start it or answer its callbacks is said by the functions' grants.
    """

    name: str
    definition: str  # path from the repository root
    description: str
    tasks: tuple[str, ...]

    @property
    def substitutions(self) -> dict[str, Ref]:
        return {f"{camel(task)}FunctionArn": Ref(f"function:{task}", "arn") for task in self.tasks}


def camel(name: str) -> str:
    """``order_reception`` -> ``OrderReception`` (the placeholder convention of the ASL files)."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


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
    BucketSpec(name="documents", description="Documents customers open: invoices of the order workflow"),
    # Claim checks (shared/adapters/aws/claim_check.py): kept longer than a message can live in
    # the inbound queue and then its DLQ (4 + 14 days), so a redriven message finds its body.
    BucketSpec(
        name="payloads",
        description="Inbound deliveries over the queue's 256 KiB message limit (claim checks)",
        expire_days=21,
    ),
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
    # The keys of shared.adapters.outbound.SECRET_KEYS; read by replies_api and by the order
    # workflow's alerting steps (WhatsApp template alerts). Locally, fake credentials: the local
    # stack points the clients at its fake providers (/local/outbox).
    SecretSpec(
        name="providers",
        description="Credentials of the messaging providers replies and alerts are sent through",
        keys={
            "twilio_account_sid": ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
            "twilio_auth_token": ("TWILIO_AUTH_TOKEN", "12345"),  # the same token signs its webhooks
            "twilio_api_key_sid": ("TWILIO_API_KEY_SID", ""),
            "whatsapp_access_token": ("WHATSAPP_ACCESS_TOKEN", "local-whatsapp-access-token"),
            "messenger_page_access_token": ("MESSENGER_PAGE_ACCESS_TOKEN", "local-messenger-page-token"),
            "instagram_access_token": ("INSTAGRAM_ACCESS_TOKEN", "local-instagram-access-token"),
        },
    ),
)

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(name="ops-alarms", description="Operational alarms (dead-letter queues not empty)"),
    TopicSpec(name="supervisors", description="SLA warnings and escalations for supervisors"),
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
        # coordinator, billing, technician: the order back office (shared.adapters.auth)
        groups=("agent", "supervisor", "admin", "coordinator", "billing", "technician"),
        authorizes="staff",
    ),
    UserPoolSpec(name="customers", description="Customers of the customer space", authorizes="customer"),
)
# What each pool's app client puts in its ID tokens (the customer space reads email_verified and
# phone_number_verified: only a verified address proves anything) and what a signed-in user may
# change about themselves (never the verified flags: Cognito sets those when a code is confirmed).
TOKEN_ATTRIBUTES: tuple[str, ...] = (
    "email",
    "email_verified",
    "name",
    "phone_number",
    "phone_number_verified",
)
SELF_WRITABLE_ATTRIBUTES: tuple[str, ...] = ("email", "name", "phone_number")

# ---------------------------------------------------------------- protection (issue 15 #6)
# Per-route API throttles by caller (HTTP API route settings, every route has its own bucket):
# an anonymous flood of one public route cannot use up what agents, customers and the
# providers' webhooks need. The local gateway does not throttle; AWS does.
THROTTLES: dict[Caller, Throttle] = {
    "anonymous": Throttle(rate=10, burst=20),  # a shop's contact form sees a few a minute
    "provider": Throttle(rate=100, burst=200),  # delivery bursts (campaign answers, order syncs)
    "staff": Throttle(rate=50, burst=100),
    "customer": Throttle(rate=20, burst=40),
}
# AWS WAF rate rules on the CloudFront distribution in front of the API (infra/constructs/
# edge.py): requests per client IP per 5 minutes, before a 429-like block.
WAF_RATE_LIMITS: dict[str, int] = {
    "anonymous": 100,  # the anonymous routes (form, survey, /health) from one address
    "api": 6000,  # everything but the providers' signed webhooks (an office of agents behind one NAT)
}
# Lambda errors alarm when a function's unhandled errors reach this many in 5 minutes.
ERRORS_ALARM_THRESHOLD = 1


def route_throttle(route: Route) -> Throttle:
    return THROTTLES[route.who]


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
    "PAYLOADS_BUCKET": Ref("bucket:payloads", "name"),
    "WEBHOOK_SECRETS_ARN": Ref("secret:webhooks", "arn"),
    "PUBLIC_BASE_URL": Ref("api", "url"),
}
PROVIDER_WEBHOOK_GRANTS: tuple[Grant, ...] = (
    Grant("queue:inbound", "send"),
    Grant("bucket:payloads", "write"),  # claim checks of large deliveries
    Grant("secret:webhooks", "read"),
)

# The order workflow's steps: the table, alerts by email (from this address, a verified SES
# identity: use the inbound email domain when deploying), WhatsApp template or SMS, links under
# the public URL.
ALERT_SENDER = "orders@support.example.com"
WORKFLOW_STEP_ENV: dict[str, Ref | str] = {
    **TABLE_ENV,
    "ALERT_SENDER": ALERT_SENDER,
    "PUBLIC_BASE_URL": Ref("api", "url"),
}
# The steps that alert customers: WhatsApp templates go through the Cloud API with the
# providers secret's token (read on the first WhatsApp alert of a container only). The values
# are replies_api's (CDK context outboundEnv replaces them for both); the local stack rewrites
# the Graph base URL to its fake provider.
ALERT_STEP_ENV: dict[str, Ref | str] = {
    **WORKFLOW_STEP_ENV,
    "PROVIDER_SECRETS_ARN": Ref("secret:providers", "arn"),
    "META_GRAPH_BASE_URL": "https://graph.facebook.com",
    "META_GRAPH_VERSION": "v23.0",
    "WHATSAPP_PROVIDER": "cloud",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
}
WORKFLOW_STEP_GRANTS: tuple[Grant, ...] = (
    Grant("table", "read_write"),
    Grant("email", "send"),
    Grant("sms", "send"),
    Grant("secret:providers", "read"),
)

# Replies to customers (replies_api). Email goes from SUPPORT_EMAIL_FROM, the sender the local
# stack verifies; in AWS the CDK context supportEmailFrom (default: support@<inboundEmailDomain>
# when that is given) replaces it, in the environment and in the SES grant alike. The other
# values are the local demo's (the WhatsApp sample's phone number id, the number the SMS samples
# write to); CDK context outboundEnv sets the real ones. Provider base URLs are the real hosts:
# the local stack rewrites them to its fake providers (infra/local/outbox.py).
SUPPORT_EMAIL_FROM = "support@guichet.local"
REPLIES_ENV: dict[str, Ref | str] = {
    **TABLE_ENV,
    "PROVIDER_SECRETS_ARN": Ref("secret:providers", "arn"),
    "PUBLIC_BASE_URL": Ref("api", "url"),
    "SUPPORT_EMAIL_FROM": SUPPORT_EMAIL_FROM,
    "SUPPORT_EMAIL_NAME": "Service client",
    "TWILIO_API_BASE_URL": "https://api.twilio.com",
    "TWILIO_SMS_FROM": "+33757000000",
    "META_GRAPH_BASE_URL": "https://graph.facebook.com",
    "INSTAGRAM_GRAPH_BASE_URL": "https://graph.facebook.com",
    "META_GRAPH_VERSION": "v23.0",
    "WHATSAPP_PROVIDER": "cloud",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
}

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
            Route(method, f"/webhooks/{channel}", caller="provider")
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
        routes=tuple(
            Route("POST", f"/webhooks/twilio/{kind}", caller="provider")
            for kind in ("sms", "status", "voice")
        ),
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
            # Claim checks: large deliveries are read back; a split delivery's pieces (and what
            # an invocation short of time leaves) go back on the queue, large ones via S3.
            "PAYLOADS_BUCKET": Ref("bucket:payloads", "name"),
            "INBOUND_QUEUE_URL": Ref("queue:inbound", "url"),
            "INBOUND_EMAIL_TOPIC_ARN": Ref("topic:inbound-email", "arn"),
            "INBOUND_EMAIL_PREFIX": EMAIL_RECEIPT.prefix,
            # A delivered e-commerce order enters the order workflow at its Satisfaction stage.
            "ORDER_WORKFLOW_ARN": Ref("statemachine:order_workflow", "arn"),
        },
        grants=(
            Grant("table", "read_write"),
            Grant("queue:inbound", "consume"),
            Grant("queue:inbound", "send"),
            Grant("bucket:attachments", "read_write"),
            Grant("bucket:payloads", "read_write"),
            Grant("statemachine:order_workflow", "start"),
        ),
        max_concurrency=20,  # of the 1,000 per account by default: the API keeps the rest
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
            Route("PUT", "/api/accounts/{account_id}", auth="staff"),
            Route("GET", "/api/accounts/{account_id}", auth="staff"),
            Route("GET", "/api/accounts/{account_id}/audit", auth="staff"),
            Route("PUT", "/api/accounts/{account_id}/contacts/{customer_id}", auth="staff"),
            Route("DELETE", "/api/accounts/{account_id}/contacts/{customer_id}", auth="staff"),
            Route("PATCH", "/api/tickets/{ticket_id}", auth="staff"),
            Route("POST", "/api/tickets/{ticket_id}/notes", auth="staff"),
            Route("POST", "/api/tickets/{ticket_id}/merge", auth="staff"),
            Route("POST", "/api/tickets/{ticket_id}/parties", auth="staff"),
            Route("DELETE", "/api/tickets/{ticket_id}/parties/{party_id}", auth="staff"),
            Route("GET", "/api/tickets/{ticket_id}/audit", auth="staff"),
            Route("POST", "/api/agents/me/next", auth="staff"),
            Route("GET", "/api/agents/me", auth="staff"),
            Route("GET", "/api/queues", auth="staff"),
            Route("GET", "/api/admin/agents/{agent_id}", auth="staff"),
            Route("PUT", "/api/admin/agents/{agent_id}", auth="staff"),
            Route("GET", "/api/search", auth="staff"),
            Route("GET", "/api/kpis", auth="staff"),
            Route("GET", "/api/openapi.json", auth="staff"),
            Route("GET", "/api/docs", auth="staff"),
        ),
        env={**TABLE_ENV},
        grants=(Grant("table", "read_write"),),  # agents change tickets and profiles (undo a merge)
    ),
    # --- team configuration (issue 5, items 1-3 and 8): qualification, SLA, priority, routing
    FunctionSpec(
        name="admin_api",
        handler="functions.admin_api.handler.handler",
        description="Admins' and supervisors' configuration: qualification rules, SLAs, priority, routing",
        settings="shared.settings.ApiSettings",
        routes=(
            *(
                Route(method, f"/api/admin/{resource}", auth="staff")
                for resource in ("qualification-rules", "sla-policies", "priority-policy", "routing")
                for method in ("GET", "PUT", "DELETE")
            ),
            Route("GET", "/api/admin/history", auth="staff"),
        ),
        env={**TABLE_ENV},
        grants=(Grant("table", "read_write"),),  # the CONFIG partition only, by its code
    ),
    FunctionSpec(
        name="sla_check",
        handler="functions.sla_check.handler.handler",
        description="Warns on SLAs due soon and escalates breaches (due-date index, no Scan)",
        settings="shared.settings.SlaCheckSettings",
        schedules=(Schedule("sla-check", "rate(5 minutes)", "SLA warnings and escalations"),),
        env={**TABLE_ENV, "SUPERVISORS_TOPIC_ARN": Ref("topic:supervisors", "arn")},
        grants=(Grant("table", "read_write"), Grant("topic:supervisors", "publish")),
        timeout_s=60,
    ),
    FunctionSpec(
        name="portal_api",
        handler="functions.portal_api.handler.handler",
        description="Customer space: a signed-in customer's messages, behind the customer JWT authorizer",
        settings="shared.settings.PortalSettings",
        routes=(
            Route("POST", "/api/portal/messages", auth="customer"),
            Route("GET", "/api/portal/tickets", auth="customer"),
            Route("GET", "/api/portal/tickets/{ticket_id}", auth="customer"),
            Route("POST", "/api/portal/tickets/{ticket_id}/rating", auth="customer"),
        ),
        env={**TABLE_ENV, "INBOUND_QUEUE_URL": Ref("queue:inbound", "url")},
        # Writes: a customer's rating of a solved ticket (its transaction and the KPI counters).
        grants=(Grant("queue:inbound", "send"), Grant("table", "read_write")),
    ),
    # --- orders and commerce (issue 6, items 1-3) ------------------------------------------
    FunctionSpec(
        name="commerce_webhook",
        handler="functions.commerce_webhook.handler.handler",
        description="Shopify and WooCommerce webhooks: signature check, WooCommerce ping, enqueue",
        settings="shared.settings.CommerceWebhookSettings",
        routes=(
            Route("POST", "/webhooks/shopify", caller="provider"),
            Route("POST", "/webhooks/woocommerce", caller="provider"),
        ),
        env={
            "INBOUND_QUEUE_URL": Ref("queue:inbound", "url"),
            "PAYLOADS_BUCKET": Ref("bucket:payloads", "name"),
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
    # --- the order workflow (issue 6, items 4-8) -------------------------------------------
    *(
        FunctionSpec(
            name=f"order_{stage}",
            handler=f"functions.order_{stage}.handler.handler",
            description=description,
            settings=settings,
            env={**ALERT_STEP_ENV, **extra_env},
            grants=(*WORKFLOW_STEP_GRANTS, *extra_grants),
            timeout_s=30,
        )
        for stage, description, settings, extra_env, extra_grants in (
            (
                "reception",
                "Order workflow, Reception: validate, book the installation slot, alert",
                "shared.settings.WorkflowStepSettings",
                {},
                (),
            ),
            (
                "preparation",
                "Order workflow, Preparation: stock reservation, provisioning, serial numbers, alert",
                "shared.settings.PreparationSettings",
                # "fake:" = the in-process fake; set the provisioning system's https URL to deploy.
                {"PROVISIONING_URL": "fake:", "PROVISIONING_TIMEOUT_S": "5", "BACK_ORDER_MAX_WAITS": "14"},
                (),
            ),
            (
                "installation",
                "Order workflow, Installation: wait for the commissioning report, reschedule, escalate",
                "shared.settings.InstallationSettings",
                {"COMMISSIONING_MAX_ESCALATIONS": "3"},
                (),
            ),
            (
                "billing",
                "Order workflow, Billing: billable gate, gapless invoice in S3, alert",
                "shared.settings.BillingSettings",
                {"DOCUMENTS_BUCKET": Ref("bucket:documents", "name")},
                (Grant("bucket:documents", "write"),),
            ),
            (
                "satisfaction",
                "Order workflow, Satisfaction: tokenised survey link, alert",
                "shared.settings.WorkflowStepSettings",
                {},
                (),
            ),
        )
    ),
    FunctionSpec(
        name="order_incident",
        handler="functions.order_incident.handler.handler",
        description="Order workflow: a failed step becomes a back-office ticket that says what failed",
        settings="shared.settings.WorkflowStepSettings",
        env={**WORKFLOW_STEP_ENV},
        grants=(Grant("table", "read_write"),),  # tickets only: never tells the customer
        timeout_s=30,
    ),
    FunctionSpec(
        name="survey_reminders",
        handler="functions.survey_reminders.handler.handler",
        description="Daily: remind unanswered satisfaction surveys (GSI3 due index), up to R times",
        settings="shared.settings.SurveyReminderSettings",
        schedules=(
            Schedule("survey-reminders", "cron(0 8 * * ? *)", "Remind surveys unanswered for N days"),
        ),
        env={**ALERT_STEP_ENV, "SURVEY_REMINDER_DAYS": "3", "SURVEY_MAX_REMINDERS": "2"},
        grants=WORKFLOW_STEP_GRANTS,
        timeout_s=300,
    ),
    FunctionSpec(
        name="order_workflow_api",
        handler="functions.order_workflow_api.handler.handler",
        description="Quotes, commissioning reports, billable lines, restarts, catalog and technicians",
        settings="shared.settings.OrderApiSettings",
        routes=(
            Route("POST", "/api/quotes", auth="staff"),
            Route("GET", "/api/quotes/{quote_id}", auth="staff"),
            Route("POST", "/api/quotes/{quote_id}/accept", auth="staff"),
            Route("GET", "/api/portal/quotes/{quote_id}", auth="customer"),
            Route("POST", "/api/portal/quotes/{quote_id}/accept", auth="customer"),
            Route("POST", "/api/orders/{order_id}/commissioning", auth="staff"),
            Route("POST", "/api/orders/{order_id}/commissioning/uploads", auth="staff"),
            Route("POST", "/api/orders/{order_id}/billable", auth="staff"),
            Route("POST", "/api/orders/{order_id}/workflow/restart", auth="staff"),
            Route("GET", "/api/orders/{order_id}/workflow", auth="staff"),
            Route("GET", "/api/orders/{order_id}/invoice", auth="staff"),
            Route("GET", "/api/portal/orders/{order_id}/invoice", auth="customer"),
            Route("PUT", "/api/catalog/products/{sku}", auth="staff"),
            Route("PUT", "/api/technicians/{technician_id}", auth="staff"),
            Route("GET", "/api/admin/order-policy", auth="staff"),
            Route("PUT", "/api/admin/order-policy", auth="staff"),
        ),
        env={
            **TABLE_ENV,
            "ORDER_WORKFLOW_ARN": Ref("statemachine:order_workflow", "arn"),
            "DOCUMENTS_BUCKET": Ref("bucket:documents", "name"),
            "COMMISSIONING_TIMEOUT_S": str(7 * 86_400),
            "BILLING_HOLD_TIMEOUT_S": str(14 * 86_400),
            "BACK_ORDER_WAIT_S": str(86_400),
        },
        grants=(
            Grant("table", "read_write"),
            Grant("statemachine:order_workflow", "start"),
            # The callbacks are answered here, never by a task function (no circular dependency).
            Grant("statemachine:order_workflow", "task_response"),
            # presigned links to documents, presigned uploads of commissioning photos
            Grant("bucket:documents", "read_write"),
        ),
    ),
    FunctionSpec(
        name="survey_api",
        handler="functions.survey_api.handler.handler",
        description="Public satisfaction survey page and answer (tokenised link, no login)",
        settings="shared.settings.ApiSettings",
        routes=(Route("GET", "/survey/{token}"), Route("POST", "/survey/{token}")),
        env={**TABLE_ENV},
        grants=(Grant("table", "read_write"),),
        memory_mb=256,
        timeout_s=10,
    ),
    # --- replies and canned responses (issue 5, items 6-7) ---------------------------------
    # Its own function: the only one holding the providers' credentials and SES sending.
    FunctionSpec(
        name="replies_api",
        handler="functions.replies_api.handler.handler",
        description="Agents' replies on the customer's channel, canned responses and their preview",
        settings="shared.settings.RepliesSettings",
        routes=(
            Route("POST", "/api/tickets/{ticket_id}/replies", auth="staff"),
            Route("GET", "/api/canned", auth="staff"),
            Route("POST", "/api/tickets/{ticket_id}/canned/{canned_id}/preview", auth="staff"),
            Route("GET", "/api/admin/canned/{canned_id}", auth="staff"),
            Route("PUT", "/api/admin/canned/{canned_id}", auth="staff"),
            Route("DELETE", "/api/admin/canned/{canned_id}", auth="staff"),
        ),
        env=REPLIES_ENV,
        grants=(
            Grant("table", "read_write"),
            Grant("secret:providers", "read"),
            Grant("ses", "send"),
        ),
        memory_mb=512,  # pydantic models, MIME building, TLS to the providers
        # Provider clients give up within 20 s (all attempts), under API Gateway's 30 s.
        timeout_s=29,
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


# ---------------------------------------------------------------- state machines
STATE_MACHINES: tuple[StateMachineSpec, ...] = (
    StateMachineSpec(
        name="order_workflow",
        definition="infra/statemachine/order_workflow.asl.json",
        description="The five-stage order workflow (Standard: the installation waits days for a person)",
        tasks=(
            "order_reception",
            "order_preparation",
            "order_installation",
            "order_billing",
            "order_satisfaction",
            "order_incident",
        ),
    ),
)


def state_machine(name: str) -> StateMachineSpec:
    for spec in STATE_MACHINES:
        if spec.name == name:
            return spec
    raise KeyError(name)
