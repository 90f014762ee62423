"""Does a function's role, as synthesized, allow an AWS call it was seen making? (issue 15 #12)

A small IAM evaluator for the statements CDK writes: actions with wildcards, resources rendered
to patterns (``{"Fn::GetAtt": [L, "Arn"]}`` -> ``<L.Arn>``, ``Fn::Join`` concatenated, pseudo
parameters as ``*``), Deny before Allow, and the ``ses:FromAddress`` condition. A recorded call
names a resource as the local stack or the tests called it (``guichet-inbound``); it is mapped to
the registry's resource key, then to the logical id the template uses.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from infra import registry
from infra.local.aws_calls import Call
from tests.infra.template import Synthesized, as_list

PSEUDO = "*"  # AWS::Region, AWS::AccountId, AWS::Partition...
# What a Ref / GetAtt Arn of each resource type stands for: its ARN's shape, region and account
# left open (the expected ARN of a call has them as "r" and "a").
ARN_SHAPES = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:*:*:table/<{}>",
    "AWS::SQS::Queue": "arn:aws:sqs:*:*:<{}>",
    "AWS::S3::Bucket": "arn:aws:s3:::<{}>",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:*:*:secret:<{}>",
    "AWS::SNS::Topic": "arn:aws:sns:*:*:<{}>",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:*:*:stateMachine:<{}>",
}


def render(value: Any, types: dict[str, str]) -> str:
    """A policy resource as an ARN pattern (logical ids in angle brackets, unknowns as ``*``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Ref" in value or "Fn::GetAtt" in value:
            logical = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
            if logical.startswith("AWS::"):
                return PSEUDO
            shape = ARN_SHAPES.get(types.get(logical, ""))
            return shape.format(logical) if shape else f"<{logical}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(render(part, types) for part in parts)
    return "<?>"


def registry_key(call: Call) -> str | None:
    """``queue`` + ``guichet-inbound`` -> ``queue:inbound`` (None: not a declared resource)."""
    if call.kind == "table":
        return "table"
    name = call.name.removeprefix("guichet-").removeprefix("guichet/")
    declared = {
        "queue": {q.name for q in registry.QUEUES},
        "bucket": {b.name for b in registry.BUCKETS},
        "secret": {s.name for s in registry.SECRETS},
        "topic": {t.name for t in registry.TOPICS},
        "statemachine": {m.name for m in registry.STATE_MACHINES},
    }
    if call.kind in declared and name in declared[call.kind]:
        return f"{call.kind}:{name}"
    return None


def expected_arn(synth: Synthesized, call: Call) -> str | None:
    """The rendered ARN the call touches (None when any resource will do for the check)."""
    if call.kind == "sms":
        return "sms:phone-number"  # no ARN: only Resource "*" covers it
    if call.kind == "identity":
        return f"arn:aws:ses:r:a:identity/{call.name}"
    key = registry_key(call)
    if key is None:
        return None
    logical = synth.id_of(key)
    arn = ARN_SHAPES[synth.resources[logical]["Type"]].format(logical).replace("*:*:", "r:a:")
    if call.scope == "index":
        return f"{arn}/index/GSI"
    if call.scope == "object":
        return f"{arn}/some/key"
    return arn


def _matches(statement: dict[str, Any], call: Call, arn: str | None, types: dict[str, str]) -> bool:
    actions = [a.lower() for a in as_list(statement.get("Action", []))]
    if not any(fnmatchcase(call.action.lower(), pattern) for pattern in actions):
        return False
    if arn is None:
        return True
    resources = [render(r, types) for r in as_list(statement.get("Resource", []))]
    # SES identities: the address itself or its domain.
    candidates = (
        [arn, arn.replace(call.name, call.name.rpartition("@")[2])] if call.kind == "identity" else [arn]
    )
    covered = any(fnmatchcase(c, r) for c in candidates for r in resources)
    if not covered:
        return False
    sender = statement.get("Condition", {}).get("StringEquals", {}).get("ses:FromAddress")
    return sender is None or call.kind != "identity" or sender == call.name


def violation(synth: Synthesized, call: Call) -> str | None:
    """Why the function's role would refuse the call, or None when it is allowed."""
    try:
        statements = list(synth.statements(call.function))
    except KeyError:
        return f"{call.function}: not a function of the template"
    arn = expected_arn(synth, call)
    where = f"{call.kind} {call.name}{' (' + call.scope + ')' if call.scope else ''}".strip()
    if call.kind and arn is None:
        return f"{call.function}: {call.action} on {where}, a resource the registry does not declare"
    types = {logical: resource["Type"] for logical, resource in synth.resources.items()}
    denied = any(s["Effect"] == "Deny" and _matches(s, call, arn, types) for s in statements)
    allowed = any(s["Effect"] == "Allow" and _matches(s, call, arn, types) for s in statements)
    if allowed and not denied:
        return None
    granted = sorted({a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])})
    return f"{call.function}: {call.action} on {where} is not granted (its role allows {', '.join(granted)})"
