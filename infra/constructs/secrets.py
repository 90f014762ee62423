"""Secrets Manager secrets from infra/registry.py.

Each secret is created as a JSON object holding every declared key with an empty value:
the real values come from the providers (Meta, Twilio, Shopify, WooCommerce) and are set
by an operator after the first deploy (``aws secretsmanager put-secret-value``). An empty
value means "not configured": verifiers must reject every signature until it is set, and
replies_api offers no channel whose credentials (``providers``) are empty.
CloudFormation writes the value again only when this template value changes, i.e. when a
key is added to or removed from the registry: the operator must then set the values again.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import registry
from infra.constructs.resources import acknowledge, pascal

UNSET = ""


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for spec in registry.SECRETS:
            secret = secretsmanager.Secret(
                self,
                f"{pascal(spec.name)}Secret",
                description=spec.description,
                # Placeholders only, nothing sensitive: see the module docstring.
                secret_object_value={key: SecretValue.unsafe_plain_text(UNSET) for key in spec.keys},
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                f"The '{spec.name}' secret holds secrets issued by third parties (signing keys, API tokens) "
                f"({', '.join(spec.keys)}); they can only be rotated in each provider's console, "
                "so a rotation Lambda has nothing to call. Operators rotate them manually.",
            )
            self.secrets[spec.name] = secret
