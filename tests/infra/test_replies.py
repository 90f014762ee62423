"""replies_api: the only function that can message customers (least privilege), its SES grant
scoped to the support sender, the providers secret, and the deployment values (CDK context)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from infra import registry
from infra.constructs.functions import environment
from infra.local.outbox import provider_base_url_overrides
from infra.stack import outbound_env, support_email_from
from shared.adapters.outbound import SECRET_KEYS, OutboundConfig
from shared.settings import RepliesSettings
from tests.infra.template import Synthesized, as_list

REPLIES = registry.function("replies_api")


def _ses_statements(synth: Synthesized, name: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in synth.statements(name)
        if any(str(action).startswith("ses:") for action in as_list(statement["Action"]))
    ]


def _arn_tail(resource: Any) -> str:
    """``identity/<name>`` of an ARN joined from pseudo parameters."""
    text = resource["Fn::Join"][1][-1] if isinstance(resource, dict) else resource
    return str(text).rpartition(":")[2]


def test_ses_grant_names_the_support_sender_and_its_domain_only(synth: Synthesized) -> None:
    (statement,) = _ses_statements(synth, "replies_api")
    assert statement["Effect"] == "Allow"
    assert sorted(as_list(statement["Action"])) == ["ses:SendEmail", "ses:SendRawEmail"]
    sender = registry.SUPPORT_EMAIL_FROM
    assert sorted(_arn_tail(r) for r in as_list(statement["Resource"])) == sorted(
        [f"identity/{sender}", f"identity/{sender.rpartition('@')[2]}"]
    )
    assert "*" not in json.dumps(statement["Resource"])
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}


# The order workflow's steps that alert customers (WhatsApp templates need the Cloud API token).
ALERTING_STEPS = {
    "order_reception",
    "order_preparation",
    "order_installation",
    "order_billing",
    "order_satisfaction",
    "survey_reminders",
}


def test_only_replies_api_reads_the_providers_secret_or_sends_as_support(synth: Synthesized) -> None:
    """replies_api sends replies; the alerting steps read the secret for WhatsApp alerts but
    send email as the alert sender only, never as support."""
    secret = synth.id_of("secret:providers")
    for spec in registry.FUNCTIONS:
        text = json.dumps(list(synth.statements(spec.name)))
        holds_secret = secret in text
        sends_as_support = registry.SUPPORT_EMAIL_FROM in text
        if spec.name == "replies_api":
            assert holds_secret and sends_as_support
        elif spec.name in ALERTING_STEPS:
            assert holds_secret and not sends_as_support, spec.name
        else:
            assert not holds_secret and not sends_as_support, spec.name


def test_alerting_steps_only_read_the_providers_secret(synth: Synthesized) -> None:
    secret = synth.id_of("secret:providers")
    for name in ALERTING_STEPS:
        on_secret = [s for s in synth.statements(name) if secret in json.dumps(s["Resource"])]
        actions = {str(a) for s in on_secret for a in as_list(s["Action"])}
        assert actions and all(a.startswith("secretsmanager:") for a in actions), name
        assert actions <= {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, name
        env = synth.function(name)["Environment"]["Variables"]
        assert "PROVIDER_SECRETS_ARN" in env and env["WHATSAPP_PROVIDER"] == "cloud", name
    assert "PROVIDER_SECRETS_ARN" not in synth.function("order_incident")["Environment"]["Variables"]


def test_replies_api_reaches_nothing_else(synth: Synthesized) -> None:
    actions = {str(a) for s in synth.statements("replies_api") for a in as_list(s["Action"])}
    assert not [a for a in actions if a.startswith(("sqs:", "s3:", "sns:", "states:"))]
    # Transactions are authorised per item action (PutItem, UpdateItem) by grant_read_write_data.
    assert {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    assert "secretsmanager:GetSecretValue" in actions


def test_replies_routes_are_behind_the_staff_authorizer() -> None:
    assert REPLIES.routes
    assert {route.auth for route in REPLIES.routes} == {"staff"}
    paths = {route.path for route in REPLIES.routes}
    assert "/api/tickets/{ticket_id}/replies" in paths
    assert "/api/admin/canned/{canned_id}" in paths


def test_providers_secret_declares_the_clients_keys_with_local_defaults() -> None:
    (spec,) = [s for s in registry.SECRETS if s.name == "providers"]
    assert set(spec.keys) == set(SECRET_KEYS)
    for key, (variable, _default) in spec.keys.items():
        assert variable == key.upper()
    webhooks = next(s for s in registry.SECRETS if s.name == "webhooks")
    # One Twilio account: the token that signs its webhooks is the one that sends.
    assert spec.keys["twilio_auth_token"] == webhooks.keys["twilio_auth_token"]


def test_provider_urls_are_the_real_hosts_and_local_runs_rewrite_them() -> None:
    literals = {k: v for k, v in REPLIES.env.items() if isinstance(v, str)}
    config = OutboundConfig.model_validate(literals)
    assert config.twilio_base_url == "https://api.twilio.com"
    assert config.meta_graph_base_url == config.instagram_base_url == "https://graph.facebook.com"
    overrides = provider_base_url_overrides(literals, "http://127.0.0.1:3000/local/providers")
    assert overrides["TWILIO_API_BASE_URL"] == "http://127.0.0.1:3000/local/providers/twilio"
    assert overrides["META_GRAPH_BASE_URL"] == "http://127.0.0.1:3000/local/providers/meta"


def test_settings_model_accepts_the_declared_environment() -> None:
    env = {k: (v if isinstance(v, str) else "https://placeholder") for k, v in REPLIES.env.items()}
    settings = RepliesSettings.model_validate(env)
    assert settings.email_from == registry.SUPPORT_EMAIL_FROM == "support@guichet.local"
    assert settings.outbound().twilio_status_callback_url == "https://placeholder/webhooks/twilio/status"


# --- deployment values (CDK context) ------------------------------------------------------


def test_support_sender_follows_the_inbound_domain_or_its_own_context() -> None:
    assert support_email_from(None, None) is None  # the registry's (local) value stays
    assert support_email_from(None, "support.shop.example") == "support@support.shop.example"
    assert support_email_from("Help@Shop.Example", "support.shop.example") == "help@shop.example"
    for bad in ("nobody", "a+b@shop.example", "x@localhost"):
        with pytest.raises(ValueError, match="supportEmailFrom"):
            support_email_from(bad, None)


def test_outbound_env_context_is_checked_against_the_clients_settings() -> None:
    assert outbound_env(None) == {}
    assert outbound_env('{"WHATSAPP_PHONE_NUMBER_ID": "123", "TWILIO_SMS_FROM": "+33700000000"}') == {
        "WHATSAPP_PHONE_NUMBER_ID": "123",
        "TWILIO_SMS_FROM": "+33700000000",
    }
    with pytest.raises(ValueError, match="unknown variable"):
        outbound_env({"WHATSAPP_PHONE_ID": "123"})
    with pytest.raises(ValueError):
        outbound_env({"WHATSAPP_PROVIDER": "carrier-pigeon"})


def test_context_values_replace_the_literals_of_the_functions_declaring_them() -> None:
    resources = SimpleNamespace(
        env_overrides={"SUPPORT_EMAIL_FROM": "help@shop.example", "WHATSAPP_PHONE_NUMBER_ID": "987"},
        attribute=lambda ref: f"<{ref.resource}.{ref.attribute}>",
    )
    env = environment(REPLIES, resources)  # type: ignore[arg-type]
    assert env["SUPPORT_EMAIL_FROM"] == "help@shop.example"
    assert env["WHATSAPP_PHONE_NUMBER_ID"] == "987"
    assert env["TABLE_NAME"] == "<table.name>"
    assert "WHATSAPP_PHONE_NUMBER_ID" not in environment(registry.function("agent_api"), resources)  # type: ignore[arg-type]
