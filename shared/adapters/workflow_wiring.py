"""Wiring of the order workflow's adapters, and the error translation at the step boundary.

Handlers call ``step_ports(settings)`` once per cold start (never at import time). Every step
runs inside ``step_errors()``, which turns what is worth retrying (a lost optimistic-concurrency
race, DynamoDB throttling, a network error) into ``TransientError`` - the one name the state
machine retries with backoff. Everything else keeps its class name, and the state machine
catches it into a back-office ticket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.documents import S3Documents
from shared.adapters.aws.notify import AwsNotifier
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.adapters.outbound import OutboundChannel, build_channels
from shared.adapters.outbound.whatsapp_alerts import WhatsAppTemplateAlerts
from shared.adapters.provisioning import provisioning_for
from shared.domain.common import Channel
from shared.domain.errors import Conflict
from shared.domain.order_policy import ORDER_POLICY, OrderPolicy
from shared.domain.team_config import SlaSettings
from shared.domain.workflow import TransientError, WorkflowError
from shared.services import team_config
from shared.services.order_alerts import AlertService
from shared.services.order_workflow import StepPorts
from shared.services.satisfaction import SatisfactionService
from shared.settings import BillingSettings, PreparationSettings, WorkflowStepSettings

_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


class StepEvent(BaseModel):
    """What a Task state passes to its function (see order_workflow.asl.json's Payloads)."""

    model_config = ConfigDict(extra="ignore")

    order_id: str
    action: str | None = None
    task_token: str | None = None
    execution: str | None = None
    failure: dict[str, Any] | None = None


@contextmanager
def step_errors() -> Iterator[None]:
    try:
        yield
    except WorkflowError:
        raise
    except Conflict as exc:
        raise TransientError(f"lost a concurrent update: {exc}") from exc
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _RETRYABLE_CODES:
            raise TransientError(f"AWS {code}") from exc
        raise
    except (ConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise TransientError(f"network: {type(exc).__name__}") from exc


def step_ports(settings: WorkflowStepSettings) -> StepPorts:
    """The adapters a step needs; the preparation and billing settings add theirs."""
    table = boto3.resource("dynamodb").Table(settings.table_name)
    store = WorkflowStore(table)
    customers = DynamoRepository(table)
    clock = SystemClock()
    notifier = AwsNotifier(
        boto3.client("ses"), boto3.client("sns"), settings.alert_sender, settings.sms_sender_id or None
    )
    whatsapp = (
        WhatsAppTemplateAlerts(lambda: _whatsapp_client(settings)) if settings.whatsapp_alerts() else None
    )
    ports = StepPorts(
        orders=OrderRepository(table),
        customers=customers,
        store=store,
        alerts=AlertService(store, customers, notifier, clock, whatsapp),
        clock=clock,
        public_base_url=settings.public_base_url,
        sla=_stored_sla(table),
        tickets=customers,
        policy=stored_order_policy(table),
    )
    if isinstance(settings, PreparationSettings):
        ports.provisioning = provisioning_for(settings.provisioning_url, settings.provisioning_timeout_s)
    if isinstance(settings, BillingSettings):
        ports.documents = S3Documents(boto3.client("s3"), settings.documents_bucket)
    return ports


def _stored_sla(table: Any) -> Callable[[], SlaSettings]:
    """The team's SLA settings for back-office tickets, re-read at most once a minute."""
    config = team_config.CachedConfig(lambda: team_config.load(DynamoConfigStore(table)))
    return lambda: config.current().sla


def stored_order_policy(table: Any) -> Callable[[], OrderPolicy]:
    """The admins' order policy (team language, invoice validation, payment terms), re-read at
    most once a minute (one GetItem)."""
    store = DynamoConfigStore(table)
    cached: dict[str, tuple[float, OrderPolicy]] = {}

    def current() -> OrderPolicy:
        now = time.monotonic()
        hit = cached.get("policy")
        if hit is None or now - hit[0] > team_config.CONFIG_TTL_S:
            hit = (now, team_config.read(store, ORDER_POLICY).value)
            cached["policy"] = hit
        return hit[1]

    return current


def _whatsapp_client(settings: WorkflowStepSettings) -> OutboundChannel | None:
    """The WhatsApp client from the providers secret (read once, on the first WhatsApp alert)."""
    assert settings.provider_secrets_id is not None
    raw = boto3.client("secretsmanager").get_secret_value(SecretId=settings.provider_secrets_id)
    values = {k: str(v) for k, v in json.loads(raw["SecretString"]).items() if v}
    return build_channels(settings, values.get).get(Channel.whatsapp)


def satisfaction_service(ports: StepPorts) -> SatisfactionService:
    return SatisfactionService(
        ports.orders,
        ports.store,
        ports.alerts,
        ports.clock,
        ports.public_base_url,
        sla=ports.sla,
        team_locale=lambda: ports.order_policy().team_locale,
    )
