"""Buckets, secrets and user pools match the registry and their security baseline."""

from __future__ import annotations

import json

import pytest

from infra import registry
from tests.infra.template import Synthesized, as_list, references


@pytest.mark.parametrize("spec", registry.BUCKETS, ids=lambda spec: spec.name)
def test_bucket_is_private_encrypted_versioned_and_logged(
    synth: Synthesized, spec: registry.BucketSpec
) -> None:
    bucket_id = synth.id_of(f"bucket:{spec.name}")
    bucket = synth.resources[bucket_id]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (log_bucket,) = references(bucket["LoggingConfiguration"]["DestinationBucketName"])
    assert log_bucket != bucket_id
    assert synth.resources[log_bucket]["Type"] == "AWS::S3::Bucket"
    assert synth.resources[bucket_id]["DeletionPolicy"] == "Retain"


def test_every_bucket_enforces_tls(synth: Synthesized) -> None:
    buckets = set(synth.of_type("AWS::S3::Bucket"))
    enforced = set()
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        props = policy["Properties"]
        if any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in props["PolicyDocument"]["Statement"]
        ):
            enforced |= references(props["Bucket"])
    assert enforced == buckets


@pytest.mark.parametrize("spec", registry.SECRETS, ids=lambda spec: spec.name)
def test_secret_holds_the_declared_keys(synth: Synthesized, spec: registry.SecretSpec) -> None:
    secret = synth.resources[synth.id_of(f"secret:{spec.name}")]["Properties"]
    assert secret["Description"] == spec.description
    value = json.loads(secret["SecretString"])
    assert set(value) == set(spec.keys)
    assert set(value.values()) == {""}, "placeholders only: real values are set by operators"


@pytest.mark.parametrize("spec", registry.USER_POOLS, ids=lambda spec: spec.name)
def test_user_pool_groups_client_and_password_policy(synth: Synthesized, spec: registry.UserPoolSpec) -> None:
    pool_id = synth.id_of(f"userpool:{spec.name}")
    pool = synth.resources[pool_id]["Properties"]
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(
        password[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert pool["DeletionProtection"] == "ACTIVE"

    groups = {
        res["Properties"]["GroupName"]
        for res in synth.of_type("AWS::Cognito::UserPoolGroup").values()
        if res["Properties"]["UserPoolId"] == {"Ref": pool_id}
    }
    assert groups == set(spec.groups)

    clients = [
        res["Properties"]
        for res in synth.of_type("AWS::Cognito::UserPoolClient").values()
        if res["Properties"]["UserPoolId"] == {"Ref": pool_id}
    ]
    assert len(clients) == 1
    assert clients[0]["GenerateSecret"] is False
    assert clients[0]["PreventUserExistenceErrors"] == "ENABLED"
    assert "ALLOW_USER_PASSWORD_AUTH" not in as_list(clients[0]["ExplicitAuthFlows"])
    # The customer space reads email_verified / phone_number_verified from the ID token; users may
    # edit their profile, never mark an address verified themselves (docs/security.md).
    assert set(as_list(clients[0]["ReadAttributes"])) == set(registry.TOKEN_ATTRIBUTES)
    assert {"email_verified", "phone_number_verified"} <= set(registry.TOKEN_ATTRIBUTES)
    writable = set(as_list(clients[0]["WriteAttributes"]))
    assert writable == set(registry.SELF_WRITABLE_ATTRIBUTES)
    assert not writable & {"email_verified", "phone_number_verified"}


def test_staff_pool_requires_mfa_and_threat_protection(synth: Synthesized) -> None:
    for spec in registry.USER_POOLS:
        if spec.authorizes != "staff":
            continue
        pool = synth.resources[synth.id_of(f"userpool:{spec.name}")]["Properties"]
        assert pool["MfaConfiguration"] == "ON"
        assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
        assert pool["UserPoolTier"] == "PLUS"
        assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
