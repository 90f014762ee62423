"""The non-HTTP inbound sources: SES mail (receipt rule -> S3 + topic -> inbound queue) and
Amazon Connect events (EventBridge rule -> inbound queue), and the CDK context values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import registry
from infra.stack import DEFAULT_INBOUND_EMAIL_DOMAIN, inbound_email_domain, public_base_url
from tests.infra.template import Synthesized, as_list, references

EMAIL = registry.EMAIL_RECEIPT
SUBSCRIPTIONS = [spec for spec in registry.TOPICS if spec.subscribe_queue]
ACCOUNT = {"Ref": "AWS::AccountId"}


def _rule_arn(synth: Synthesized) -> dict[str, Any]:
    """The receipt rule's ARN as the template writes it (from the rule set and rule names)."""
    (rule_set,) = synth.of_type("AWS::SES::ReceiptRuleSet").values()
    name = rule_set["Properties"]["RuleSetName"]
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ses:",
                {"Ref": "AWS::Region"},
                ":",
                ACCOUNT,
                f":receipt-rule-set/{name}:receipt-rule/{EMAIL.rule_name}",
            ],
        ]
    }


def _receipt_rule(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    ((rule_id, rule),) = synth.of_type("AWS::SES::ReceiptRule").items()
    return rule_id, rule


def _policy_statements(synth: Synthesized, resource_type: str, key: str, target: str) -> list[dict[str, Any]]:
    """Statements of the resource policies (of ``resource_type``) attached to ``target``."""
    return [
        statement
        for policy in synth.of_type(resource_type).values()
        if {"Ref": target} in as_list(policy["Properties"][key])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _allows(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [statement for statement in statements if statement["Effect"] == "Allow"]


# ---------------------------------------------------------------- SNS -> SQS
@pytest.mark.parametrize("spec", SUBSCRIPTIONS, ids=lambda spec: spec.name)
def test_topic_feeds_its_queue_with_the_sns_envelope(synth: Synthesized, spec: registry.TopicSpec) -> None:
    topic_id, queue_id = synth.id_of(f"topic:{spec.name}"), synth.id_of(f"queue:{spec.subscribe_queue}")
    subscriptions = [
        res
        for res in synth.of_type("AWS::SNS::Subscription").values()
        if res["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    (subscription,) = subscriptions
    props = subscription["Properties"]
    assert props["Protocol"] == "sqs"
    assert props["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert props["RawMessageDelivery"] is False  # the processor reads the SNS envelope
    # SNS can deliver from a KMS-encrypted topic to a queue with SQS-managed encryption.
    queue = synth.resources[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in queue


def test_only_declared_subscriptions_exist(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::SNS::Subscription")) == len(SUBSCRIPTIONS)


@pytest.mark.parametrize("spec", registry.QUEUES, ids=lambda spec: spec.name)
def test_queue_policy_admits_only_the_declared_topic_and_rules(
    synth: Synthesized, spec: registry.QueueSpec
) -> None:
    """Each service principal may send only from its declared source (aws:SourceArn)."""
    queue_id = synth.id_of(f"queue:{spec.name}")
    expected = {
        ("sns.amazonaws.com", synth.id_of(f"topic:{topic.name}"))
        for topic in registry.TOPICS
        if topic.subscribe_queue == spec.name
    } | {
        ("events.amazonaws.com", synth.id_of_event_rule(rule.name))
        for rule in registry.EVENT_RULES
        if rule.target_queue == spec.name
    }
    found = set()
    for statement in _allows(_policy_statements(synth, "AWS::SQS::QueuePolicy", "Queues", queue_id)):
        assert set(statement["Principal"]) == {"Service"}, statement
        assert "sqs:SendMessage" in as_list(statement["Action"])
        assert set(as_list(statement["Action"])) <= {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }
        assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert set(statement["Condition"]) == {"ArnEquals"}
        (source,) = references(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
        found.add((statement["Principal"]["Service"], source))
    assert found == expected


# ---------------------------------------------------------------- EventBridge
@pytest.mark.parametrize("spec", registry.EVENT_RULES, ids=lambda spec: spec.name)
def test_event_rule_pattern_and_target(synth: Synthesized, spec: registry.EventRuleSpec) -> None:
    rule = synth.resources[synth.id_of_event_rule(spec.name)]["Properties"]
    assert "EventBusName" not in rule  # the default bus, where AWS services publish
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {"source": [spec.source], "detail-type": [spec.detail_type]}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synth.id_of(f"queue:{spec.target_queue}"), "Arn"]}
    assert "InputTransformer" not in target and "Input" not in target  # the whole event


def test_connect_contact_events_are_declared() -> None:
    (connect,) = [rule for rule in registry.EVENT_RULES if rule.source == "aws.connect"]
    assert connect.detail_type == "Amazon Connect Contact Event"
    assert connect.target_queue == "inbound"


def test_only_declared_event_pattern_rules_exist(synth: Synthesized) -> None:
    rules = [
        res for res in synth.of_type("AWS::Events::Rule").values() if "EventPattern" in res["Properties"]
    ]
    assert len(rules) == len(registry.EVENT_RULES)


# ---------------------------------------------------------------- SES receipt
def test_receipt_rule_stores_in_s3_then_notifies_the_topic(synth: Synthesized) -> None:
    rule_id, rule = _receipt_rule(synth)
    (rule_set_id,) = synth.of_type("AWS::SES::ReceiptRuleSet")
    props = rule["Properties"]
    assert props["RuleSetName"] == {"Ref": rule_set_id}
    body = props["Rule"]
    assert body["Name"] == EMAIL.rule_name
    assert body["Enabled"] is True
    assert body["ScanEnabled"] is True  # spam and virus verdicts in the notification
    assert body["TlsPolicy"] == "Require"
    assert body["Recipients"] == [DEFAULT_INBOUND_EMAIL_DOMAIN]
    (action,) = body["Actions"]  # one S3 action: any size (the SNS action bounces over 150 KB)
    assert set(action) == {"S3Action"}
    assert action["S3Action"] == {
        "BucketName": {"Ref": synth.id_of(f"bucket:{EMAIL.bucket}")},
        "ObjectKeyPrefix": EMAIL.prefix,
        "TopicArn": {"Ref": synth.id_of(f"topic:{EMAIL.topic}")},
    }
    # SES checks its permissions when the rule is created: the policies must exist first.
    policies = {
        key
        for key, res in synth.resources.items()
        if res["Type"] in {"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"}
        and references(res["Properties"].get("Bucket", res["Properties"].get("Topics")))
        & {synth.id_of(f"bucket:{EMAIL.bucket}"), synth.id_of(f"topic:{EMAIL.topic}")}
    }
    assert len(policies) == 2
    assert policies <= set(synth.resources[rule_id]["DependsOn"])


def test_email_topic_feeds_the_processors_queue(synth: Synthesized) -> None:
    (topic,) = [spec for spec in registry.TOPICS if spec.name == EMAIL.topic]
    processor = registry.function("inbound_processor")
    assert topic.subscribe_queue == processor.consumes


def test_bucket_policy_lets_ses_put_under_the_prefix_for_this_account_and_rule(synth: Synthesized) -> None:
    bucket_id = synth.id_of(f"bucket:{EMAIL.bucket}")
    statements = _policy_statements(synth, "AWS::S3::BucketPolicy", "Bucket", bucket_id)
    (ses,) = [s for s in _allows(statements) if s["Principal"] == {"Service": "ses.amazonaws.com"}]
    assert as_list(ses["Action"]) == ["s3:PutObject"]
    assert ses["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{EMAIL.prefix}*"]]}
    assert ses["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert ses["Condition"]["ArnLike"] == {"aws:SourceArn": _rule_arn(synth)}


def test_topic_policy_lets_ses_publish_for_this_account_and_rule(synth: Synthesized) -> None:
    topic_id = synth.id_of(f"topic:{EMAIL.topic}")
    statements = _policy_statements(synth, "AWS::SNS::TopicPolicy", "Topics", topic_id)
    (ses,) = _allows(statements)  # SES only: no CloudWatch alarm may publish mail notifications
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert as_list(ses["Action"]) == ["sns:Publish"]
    assert ses["Resource"] == {"Ref": topic_id}
    assert ses["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": _rule_arn(synth)},
    }


def test_ses_may_use_the_email_topics_key_for_this_rule_only(synth: Synthesized) -> None:
    topic = synth.resources[synth.id_of(f"topic:{EMAIL.topic}")]["Properties"]
    (key_id,) = references(topic["KmsMasterKeyId"])
    statements = synth.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    (ses,) = [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]
    assert set(as_list(ses["Action"])) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert ses["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": _rule_arn(synth)},
    }


def test_rule_set_name_is_an_output_for_the_activation_step(synth: Synthesized) -> None:
    (rule_set_id,) = synth.of_type("AWS::SES::ReceiptRuleSet")
    assert synth.template["Outputs"]["EmailReceiptRuleSet"]["Value"] == {"Ref": rule_set_id}


# ---------------------------------------------------------------- CDK context
@pytest.fixture(scope="module")
def overridden(tmp_path_factory: pytest.TempPathFactory, artifacts: tuple[Path, Path]) -> dict[str, Any]:
    """The template synthesized with both context values set (cdk-nag runs here too)."""
    from infra.app import create_app

    code_dir, layer_dir = artifacts
    app, stack = create_app(
        code_dir=code_dir,
        layer_dir=layer_dir,
        outdir=str(tmp_path_factory.mktemp("context.cdk.out")),
        context={
            "publicBaseUrl": "https://hooks.guichet.example/",
            "inboundEmailDomain": "Mail.Guichet.Example",
        },
    )
    template: dict[str, Any] = app.synth().get_stack_artifact(stack.artifact_id).template
    return template


def test_public_base_url_defaults_to_the_edge_distribution(synth: Synthesized) -> None:
    """The providers call (and sign) the CloudFront URL, where the WAF is (issue 15 #6)."""
    distribution = synth.ref_target(registry.Ref("api", "url"))
    assert synth.resources[distribution]["Type"] == "AWS::CloudFront::Distribution"
    for spec in registry.FUNCTIONS:
        if spec.env.get("PUBLIC_BASE_URL") == registry.Ref("api", "url"):
            env = synth.function(spec.name)["Environment"]["Variables"]
            assert env["PUBLIC_BASE_URL"] == {
                "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]
            }


def test_context_overrides_public_base_url_and_email_domain(overridden: dict[str, Any]) -> None:
    webhooks = [
        res["Properties"]["Environment"]["Variables"]
        for res in overridden["Resources"].values()
        if res["Type"] == "AWS::Lambda::Function"
        and "PUBLIC_BASE_URL" in res["Properties"].get("Environment", {}).get("Variables", {})
    ]
    declared = [spec for spec in registry.FUNCTIONS if "PUBLIC_BASE_URL" in spec.env]
    assert len(webhooks) == len(declared) >= 2
    assert {env["PUBLIC_BASE_URL"] for env in webhooks} == {"https://hooks.guichet.example"}
    assert overridden["Outputs"]["PublicBaseUrl"]["Value"] == "https://hooks.guichet.example"
    (rule,) = [res for res in overridden["Resources"].values() if res["Type"] == "AWS::SES::ReceiptRule"]
    assert rule["Properties"]["Rule"]["Recipients"] == ["mail.guichet.example"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("https://hooks.example.com", "https://hooks.example.com"),
        ("https://hooks.example.com//", "https://hooks.example.com"),
        ("https://example.com/guichet/", "https://example.com/guichet"),
    ],
)
def test_public_base_url_context_value(value: Any, expected: str | None) -> None:
    assert public_base_url(value) == expected


@pytest.mark.parametrize(
    "value", ["http://hooks.example.com", "hooks.example.com", "https://", "https://a b"]
)
def test_public_base_url_context_value_must_be_https(value: str) -> None:
    with pytest.raises(ValueError, match="publicBaseUrl"):
        public_base_url(value)


def test_inbound_email_domain_context_value() -> None:
    assert inbound_email_domain(None) == DEFAULT_INBOUND_EMAIL_DOMAIN
    assert inbound_email_domain(" Support.Shop.FR ") == "support.shop.fr"
    for bad in ("support@shop.fr", "shop", "-shop.fr", "https://shop.fr"):
        with pytest.raises(ValueError, match="inboundEmailDomain"):
            inbound_email_domain(bad)
