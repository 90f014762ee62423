"""Cognito user pools from infra/registry.py, each with its groups and one app client."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra import registry
from infra.constructs.resources import acknowledge, pascal


@dataclass(frozen=True)
class PoolPolicy:
    """How strict a pool is, by the route auth it serves (``UserPoolSpec.authorizes``).
    Pools not listed in POLICIES get the strictest one."""

    self_sign_up: bool
    mfa: cognito.Mfa
    plus_tier: bool  # Plus feature plan: threat protection (compromised credentials, adaptive auth)


STRICT = PoolPolicy(self_sign_up=False, mfa=cognito.Mfa.REQUIRED, plus_tier=True)
POLICIES: dict[str, PoolPolicy] = {
    # A few dozen agents with access to every customer's data: MFA and threat protection.
    "staff": STRICT,
    # Customers sign themselves up; MFA is theirs to turn on.
    "customer": PoolPolicy(self_sign_up=True, mfa=cognito.Mfa.OPTIONAL, plus_tier=False),
}


# Cognito attribute names -> CDK's StandardAttributesMask fields
_MASK_FIELDS = {
    "email": "email",
    "email_verified": "email_verified",
    "name": "fullname",
    "phone_number": "phone_number",
    "phone_number_verified": "phone_number_verified",
}


def _attributes(names: tuple[str, ...]) -> cognito.ClientAttributes:
    return cognito.ClientAttributes().with_standard_attributes(**{_MASK_FIELDS[name]: True for name in names})


class Auth(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pools: dict[str, cognito.UserPool] = {}
        self.clients: dict[str, cognito.UserPoolClient] = {}
        for spec in registry.USER_POOLS:
            policy = POLICIES.get(spec.authorizes, STRICT)
            name = pascal(spec.name)
            pool = cognito.UserPool(
                self,
                f"{name}UserPool",
                self_sign_up_enabled=policy.self_sign_up,
                sign_in_aliases=cognito.SignInAliases(email=True),
                sign_in_case_sensitive=False,
                auto_verify=cognito.AutoVerifiedAttrs(email=True),
                keep_original=cognito.KeepOriginalAttrs(email=True),
                account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
                password_policy=cognito.PasswordPolicy(
                    min_length=12,
                    require_lowercase=True,
                    require_uppercase=True,
                    require_digits=True,
                    require_symbols=True,
                    temp_password_validity=Duration.days(3),
                ),
                mfa=policy.mfa,
                mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
                feature_plan=cognito.FeaturePlan.PLUS if policy.plus_tier else cognito.FeaturePlan.ESSENTIALS,
                standard_threat_protection_mode=(
                    cognito.StandardThreatProtectionMode.FULL_FUNCTION if policy.plus_tier else None
                ),
                deletion_protection=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for group in spec.groups:
                pool.add_group(f"{pascal(group)}Group", group_name=group, description=f"{spec.name}: {group}")
            self.clients[spec.name] = pool.add_client(
                f"{name}AppClient",
                auth_flows=cognito.AuthFlow(user_srp=True),
                generate_secret=False,  # a browser app: it could not keep a secret
                disable_o_auth=True,
                prevent_user_existence_errors=True,
                enable_token_revocation=True,
                access_token_validity=Duration.hours(1),
                id_token_validity=Duration.hours(1),
                refresh_token_validity=Duration.days(30),
                read_attributes=_attributes(registry.TOKEN_ATTRIBUTES),
                write_attributes=_attributes(registry.SELF_WRITABLE_ATTRIBUTES),
            )
            if policy.mfa != cognito.Mfa.REQUIRED:
                acknowledge(
                    pool,
                    "AwsSolutions-COG2",
                    f"The '{spec.name}' pool serves customers who sign up themselves to follow their own "
                    "tickets; mandatory MFA would turn most of them away. TOTP MFA stays available "
                    "(optional), behind a 12-character password policy.",
                )
            if not policy.plus_tier:
                acknowledge(
                    pool,
                    "AwsSolutions-COG8",
                    f"The '{spec.name}' pool may hold many occasional users: the Plus plan bills every "
                    "monthly active user with no free tier, the Essentials plan has 10,000 free. "
                    "Threat protection is kept for the staff pool, which guards every customer's data.",
                )
            self.user_pools[spec.name] = pool
