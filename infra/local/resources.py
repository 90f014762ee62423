"""Provision the declared resources on moto and resolve ``Ref``s to their local values.

Everything here is derived from ``infra/registry.py`` and ``shared/adapters/dynamodb/schema.py``:
the local stack creates what CDK deploys, from the same declaration, so the two cannot drift.
Only the *names* are local choices (AWS would generate them); handlers never see a name
directly, they get it through their environment (``Ref`` -> value), exactly as in AWS.

Provisioning goes through boto3 against the moto server (not moto's in-process backends), so the
same validation AWS applies to each create call applies here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import build, registry
from shared.adapters.dynamodb import schema

PREFIX = "guichet"
STATEMACHINE_DIR = Path(__file__).resolve().parents[1] / "statemachine"
DEMO_DOMAIN = "guichet.local"
DEFAULT_SENDER = f"support@{DEMO_DOMAIN}"
# Local demo users only (printed at startup); meets Cognito's default password policy.
DEFAULT_DEMO_PASSWORD = "Guichet-local-1!"  # noqa: S105
# Placeholder for the Lambda code moto stores: the dispatcher runs the real handler instead.
_DUMMY_ZIP = (
    b"PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # empty zip
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LocalStackError(RuntimeError):
    """The declarations cannot be turned into a consistent local stack (a startup error)."""


@dataclass(frozen=True)
class QueueInfo:
    name: str
    url: str
    arn: str
    dlq_name: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class DemoUser:
    role: str  # the group name (staff) or the pool's route auth (customer)
    username: str
    password: str


@dataclass(frozen=True)
class PoolInfo:
    name: str
    id: str
    arn: str
    client_id: str
    authorizes: str
    issuer: str
    users: tuple[DemoUser, ...] = ()


@dataclass(frozen=True)
class EmailReceipt:
    """The active SES receipt rule: raw mail to ``bucket/prefix<messageId>``, then ``topic_arn``."""

    rule_set: str
    rule_name: str
    bucket: str
    prefix: str
    topic_arn: str


@dataclass
class LocalResources:
    """Local names/ARNs of everything declared, and the ``Ref`` resolver built on them."""

    region: str
    account_id: str
    api_url: str = ""  # the gateway's public base URL (what Ref("api", "url") means)
    table_name: str = ""
    table_arn: str = ""
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {"name","arn"}
    topics: dict[str, str] = field(default_factory=dict)  # name -> arn
    user_pools: dict[str, PoolInfo] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # name -> arn
    state_machines: dict[str, str] = field(default_factory=dict)  # name -> arn
    event_rules: dict[str, str] = field(default_factory=dict)  # name -> arn
    email_receipt: EmailReceipt | None = None
    sender_identities: tuple[str, ...] = ()

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    def resolve(self, ref: registry.Ref) -> str:
        """The local value of ``ref`` (what CDK's token resolves to in AWS)."""
        kind, _, name = ref.resource.partition(":")
        attr = ref.attribute
        try:
            if kind == "api":
                return {"url": self.api_url}[attr]
            if kind == "table":
                return {"name": self.table_name, "arn": self.table_arn}[attr]
            if kind == "queue":
                q = self.queues[name]
                return {"name": q.name, "url": q.url, "arn": q.arn}[attr]
            if kind == "bucket":
                bucket = self.buckets[name]
                return {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}[attr]
            if kind == "secret":
                return self.secrets[name][attr]
            if kind == "topic":
                arn = self.topics[name]
                return {"arn": arn, "name": arn.rsplit(":", 1)[1]}[attr]
            if kind == "userpool":
                pool = self.user_pools[name]
                return {
                    "id": pool.id,
                    "arn": pool.arn,
                    "client_id": pool.client_id,
                    "name": pool.name,
                    "issuer": pool.issuer,
                }[attr]
            if kind == "function":
                arn = self.functions[name]
                return {"arn": arn, "name": name}[attr]
            if kind == "statemachine":
                return {"arn": self.state_machines[name]}[attr]
        except KeyError:
            pass
        raise LocalStackError(f"cannot resolve {ref} locally (unknown resource or attribute)")

    def substitutions(self) -> dict[str, str]:
        """``${Placeholder}`` values for the ASL files (documented convention, CamelCase names).

        ``<Fn>FunctionArn`` for each function, ``<Queue>QueueUrl``/``QueueArn``, ``<Topic>TopicArn``,
        ``<Bucket>BucketName``, ``TableName``/``TableArn``.
        """
        subs = {"TableName": self.table_name, "TableArn": self.table_arn}
        for name, arn in self.functions.items():
            subs[f"{camel(name)}FunctionArn"] = arn
        for name, q in self.queues.items():
            subs[f"{camel(name)}QueueUrl"] = q.url
            subs[f"{camel(name)}QueueArn"] = q.arn
        for name, arn in self.topics.items():
            subs[f"{camel(name)}TopicArn"] = arn
        for name, bucket in self.buckets.items():
            subs[f"{camel(name)}BucketName"] = bucket
        return subs

    def pool_for_auth(self, auth: str) -> PoolInfo | None:
        for pool in self.user_pools.values():
            if pool.authorizes == auth:
                return pool
        return None

    def demo_user(self, role: str) -> tuple[PoolInfo, DemoUser] | None:
        for pool in self.user_pools.values():
            for user in pool.users:
                if user.role == role:
                    return pool, user
        return None


def camel(name: str) -> str:
    """``inbound_processor`` / ``ops-alarms`` -> ``InboundProcessor`` / ``OpsAlarms``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-\s]+", name) if part)


def substitute(definition: str, values: Mapping[str, str], source: str = "definition") -> str:
    """Replace every ``${Name}``; an unknown placeholder is a startup error naming the known ones."""
    missing = sorted({m for m in _PLACEHOLDER.findall(definition) if m not in values})
    if missing:
        raise LocalStackError(
            f"{source}: no local value for {', '.join('${' + m + '}' for m in missing)}; "
            f"known placeholders: {', '.join(sorted(values))}"
        )
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], definition)


def secret_value(spec: registry.SecretSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """The secret's JSON: each key from its environment variable, else the local default."""
    return {key: environ.get(env_name, default) for key, (env_name, default) in spec.keys.items()}


# ------------------------------------------------------------------ environment
def function_environment(spec: registry.FunctionSpec, resources: LocalResources) -> dict[str, str]:
    """What CDK sets on the function: COMMON_ENV + its env, each ``Ref`` resolved locally."""
    env = dict(registry.COMMON_ENV)
    for name, value in spec.env.items():
        env[name] = resources.resolve(value) if isinstance(value, registry.Ref) else value
    return env


def merged_environment(
    functions: Iterable[registry.FunctionSpec], resources: LocalResources
) -> dict[str, str]:
    """The union of every function's environment.

    All handlers share this one process and its ``os.environ``; that is only sound if a variable
    means the same thing to every function that reads it, so a conflict is a startup error.
    """
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for spec in functions:
        for name, value in function_environment(spec, resources).items():
            if name in merged and merged[name] != value:
                raise LocalStackError(
                    f"environment variable {name} is {merged[name]!r} for {owner[name]} "
                    f"but {value!r} for {spec.name}: handlers share one process locally"
                )
            merged[name] = value
            owner.setdefault(name, spec.name)
    return merged


def sender_addresses(environ: Mapping[str, str]) -> list[str]:
    """Addresses to verify in SES: the default sender plus any e-mail address in the environment."""
    found = [DEFAULT_SENDER]
    for value in environ.values():
        if _EMAIL.match(value) and value not in found:
            found.append(value)
    return found


# ------------------------------------------------------------------ provisioning
class Provisioner:
    """Create every declared resource on the moto server through boto3."""

    def __init__(
        self, session: Any, region: str, account_id: str, environ: Mapping[str, str], *, api_url: str = ""
    ):
        self._session = session
        self._environ = environ
        self.resources = LocalResources(region=region, account_id=account_id, api_url=api_url)

    def _client(self, service: str) -> Any:
        return self._session.client(service)

    def provision(self, statemachine_dir: Path = STATEMACHINE_DIR) -> LocalResources:
        self.table()
        self.queues()
        self.buckets()
        self.secrets()
        self.topics()
        self.subscriptions()
        self.event_rules()
        self.email_receipt()
        self.user_pools()
        self.functions()
        self.state_machines(statemachine_dir)
        return self.resources

    def table(self) -> None:
        ddb = self._client("dynamodb")
        name = PREFIX
        ddb.create_table(**schema.create_table_kwargs(name))  # keys and GSIs: the one declaration
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
        )
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        self.resources.table_name, self.resources.table_arn = name, arn

    def queues(self) -> None:
        sqs = self._client("sqs")
        day = 86_400
        for spec in registry.QUEUES:
            dlq_name = f"{spec.name}-dlq"
            dlq_url = sqs.create_queue(
                QueueName=dlq_name,
                Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_days * day)},
            )["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            url = sqs.create_queue(
                QueueName=spec.name,
                Attributes={
                    "VisibilityTimeout": str(spec.visibility_timeout_s),
                    "MessageRetentionPeriod": str(spec.retention_days * day),
                    "RedrivePolicy": json.dumps(redrive),
                },
            )["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.resources.queues[spec.name] = QueueInfo(spec.name, url, arn, dlq_name, dlq_url, dlq_arn)

    def buckets(self) -> None:
        s3 = self._client("s3")
        for spec in registry.BUCKETS:
            name = f"{PREFIX}-{spec.name}"
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.resources.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.resources.region}
            s3.create_bucket(**kwargs)
            self.resources.buckets[spec.name] = name

    def secrets(self) -> None:
        sm = self._client("secretsmanager")
        for spec in registry.SECRETS:
            name = f"{PREFIX}/{spec.name}"
            created = sm.create_secret(
                Name=name,
                Description=spec.description,
                SecretString=json.dumps(secret_value(spec, self._environ)),
            )
            self.resources.secrets[spec.name] = {"name": name, "arn": created["ARN"]}

    def topics(self) -> None:
        sns = self._client("sns")
        for spec in registry.TOPICS:
            arn = sns.create_topic(Name=f"{PREFIX}-{spec.name}")["TopicArn"]
            self.resources.topics[spec.name] = arn

    # The next three read declarations that are being added to the registry; getattr keeps the
    # local stack working on either side of that change.
    def subscriptions(self) -> None:
        """SNS -> SQS, raw delivery off: the consumer receives the SNS envelope, as in AWS."""
        sns = self._client("sns")
        for spec in registry.TOPICS:
            queue = getattr(spec, "subscribe_queue", None)
            if queue:
                sns.subscribe(
                    TopicArn=self.resources.topics[spec.name],
                    Protocol="sqs",
                    Endpoint=self.resources.queues[queue].arn,
                )

    def event_rules(self) -> None:
        """EventBridge rules on the default bus with their queue targets (moto delivers to SQS)."""
        events = self._client("events")
        for spec in getattr(registry, "EVENT_RULES", ()):
            pattern = {"source": [spec.source], "detail-type": [spec.detail_type]}
            arn = events.put_rule(
                Name=spec.name,
                EventPattern=json.dumps(pattern),
                State="ENABLED",
                Description=spec.description,
            )["RuleArn"]
            events.put_targets(
                Rule=spec.name,
                Targets=[{"Id": spec.target_queue, "Arn": self.resources.queues[spec.target_queue].arn}],
            )
            self.resources.event_rules[spec.name] = arn

    def email_receipt(self) -> None:
        """The SES receipt rule (S3 action + topic). moto stores it but receives no mail:
        ``POST /local/inbound-email`` plays SES's part (see inbound_email.py)."""
        spec = getattr(registry, "EMAIL_RECEIPT", None)
        if spec is None:
            return
        ses = self._client("ses")
        rule_set = f"{PREFIX}-local"
        bucket = self.resources.buckets[spec.bucket]
        topic_arn = self.resources.topics[spec.topic]
        ses.create_receipt_rule_set(RuleSetName=rule_set)
        ses.create_receipt_rule(
            RuleSetName=rule_set,
            Rule={
                "Name": spec.rule_name,
                "Enabled": True,
                "ScanEnabled": True,
                "Actions": [
                    {
                        "S3Action": {
                            "BucketName": bucket,
                            "ObjectKeyPrefix": spec.prefix,
                            "TopicArn": topic_arn,
                        }
                    }
                ],
            },
        )
        ses.set_active_receipt_rule_set(RuleSetName=rule_set)
        self.resources.email_receipt = EmailReceipt(rule_set, spec.rule_name, bucket, spec.prefix, topic_arn)

    def user_pools(self) -> None:
        idp = self._client("cognito-idp")
        password = self._environ.get("LOCAL_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        for spec in registry.USER_POOLS:
            pool = idp.create_user_pool(
                PoolName=f"{PREFIX}-{spec.name}",
                UsernameAttributes=["email"],
                AutoVerifiedAttributes=["email"],
            )["UserPool"]
            pool_id = pool["Id"]
            for group in spec.groups:
                idp.create_group(UserPoolId=pool_id, GroupName=group)
            client_id = idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=f"{PREFIX}-{spec.name}-web",
                GenerateSecret=False,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                ReadAttributes=list(registry.TOKEN_ATTRIBUTES),  # moto's ID token carries these
                WriteAttributes=list(registry.SELF_WRITABLE_ATTRIBUTES),
            )["UserPoolClient"]["ClientId"]
            # One demo user per group (staff), or one user named after the route auth (customers).
            roles = spec.groups or ((spec.authorizes if spec.authorizes != "none" else spec.name),)
            users = []
            for role in roles:
                username = f"{role}@{DEMO_DOMAIN}"
                idp.admin_create_user(
                    UserPoolId=pool_id,
                    Username=username,
                    MessageAction="SUPPRESS",
                    UserAttributes=[
                        {"Name": "email", "Value": username},
                        {"Name": "email_verified", "Value": "true"},
                        {"Name": "name", "Value": f"Demo {role}"},
                    ],
                )
                idp.admin_set_user_password(
                    UserPoolId=pool_id, Username=username, Password=password, Permanent=True
                )
                if role in spec.groups:
                    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=role)
                users.append(DemoUser(role=role, username=username, password=password))
            region = self.resources.region
            self.resources.user_pools[spec.name] = PoolInfo(
                name=spec.name,
                id=pool_id,
                arn=pool["Arn"],
                client_id=client_id,
                authorizes=spec.authorizes,
                issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
                users=tuple(users),
            )

    def _role(self, name: str, service: str) -> str:
        iam = self._client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def functions(self) -> None:
        """Register each function in moto's Lambda so ARNs resolve (its code is never run by moto)."""
        lam = self._client("lambda")
        role = self._role(f"{PREFIX}-local-lambda", "lambda.amazonaws.com")
        for spec in registry.FUNCTIONS:
            arn = lam.create_function(
                FunctionName=spec.name,
                Runtime=build.LAMBDA_RUNTIME,
                Role=role,
                Handler=spec.handler,
                Code={"ZipFile": _DUMMY_ZIP},
                Description=spec.description[:256],
                Timeout=spec.timeout_s,
                MemorySize=spec.memory_mb,
                Architectures=["arm64"],
            )["FunctionArn"]
            self.resources.functions[spec.name] = arn

    def state_machines(self, directory: Path = STATEMACHINE_DIR) -> None:
        """Create the registry's ``STATE_MACHINES`` (each from its declared file, with its declared
        substitutions resolved like any ``Ref``), then one per other ``<name>.asl.json`` of
        ``directory`` with the conventional placeholders (none is fine)."""
        declared = {spec.name: spec for spec in getattr(registry, "STATE_MACHINES", ())}
        files = sorted(directory.glob("*.asl.json")) if directory.is_dir() else []
        others = [path for path in files if path.name.removesuffix(".asl.json") not in declared]
        if not declared and not others:
            return
        sfn = self._client("stepfunctions")
        role = self._role(f"{PREFIX}-local-states", "states.amazonaws.com")
        root = Path(__file__).resolve().parents[2]
        sources: list[tuple[str, Path, dict[str, str]]] = [
            (
                name,
                root / spec.definition,
                {k: self.resources.resolve(v) for k, v in spec.substitutions.items()},
            )
            for name, spec in declared.items()
        ]
        conventional = self.resources.substitutions()
        sources += [(path.name.removesuffix(".asl.json"), path, conventional) for path in others]
        for name, path, subs in sources:
            definition = substitute(path.read_text(encoding="utf-8"), subs, source=str(path))
            json.loads(definition)  # fail here, with the file name, rather than inside moto
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
            self.resources.state_machines[name] = arn

    def verify_senders(self, addresses: Iterable[str]) -> None:
        """SES refuses to send from unverified identities; verify the demo domain and each sender."""
        ses = self._client("ses")
        ses.verify_domain_identity(Domain=DEMO_DOMAIN)
        verified = []
        for address in addresses:
            ses.verify_email_identity(EmailAddress=address)
            verified.append(address)
        self.resources.sender_identities = (DEMO_DOMAIN, *verified)
