"""Reading the synthesized CloudFormation template in the infra tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from infra.constructs.resources import logical_id
from infra.registry import Ref
from infra.stack import GuichetStack


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` points to through Ref / Fn::GetAtt (pseudo parameters excluded)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            if not value["Ref"].startswith("AWS::"):
                found.add(value["Ref"])
        elif "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        else:
            for item in value.values():
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass
class Synthesized:
    stack: GuichetStack
    template: dict[str, Any]
    template_file: Path | None = None  # where the session synth wrote it (cdk-nag report alongside)
    outdir: Path | None = None
    edge_template: dict[str, Any] | None = None  # GuichetEdgeStack (the web ACL, us-east-1)
    edge_template_file: Path | None = None

    @cached_property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def id_of(self, resource: str) -> str:
        """Logical id of a registry resource key ("table", "queue:inbound", ...)."""
        return logical_id(self.stack.resources.construct(resource))

    def ref_target(self, ref: Ref) -> str:
        """Logical id of the resource a registry ``Ref`` points to (a pool's client for client_id)."""
        if ref.resource == "api" and ref.attribute == "url":  # the public URL: the edge distribution
            return logical_id(self.stack.edge.distribution)
        if ref.resource.startswith("userpool:") and ref.attribute == "client_id":
            return logical_id(self.stack.auth.clients[ref.resource.partition(":")[2]])
        return self.id_of(ref.resource)

    def id_of_event_rule(self, name: str) -> str:
        """Logical id of a registry.EVENT_RULES rule."""
        return logical_id(self.stack.event_rules.rules[name])

    def function_id(self, name: str) -> str:
        return logical_id(self.stack.functions.functions[name])

    def function(self, name: str) -> dict[str, Any]:
        return self.resources[self.function_id(name)]["Properties"]

    def role_id(self, function_name: str) -> str:
        (role,) = references(self.function(function_name)["Role"])
        return role

    def statements(self, function_name: str) -> Iterator[dict[str, Any]]:
        """Every IAM statement that applies to the function's role."""
        role_id = self.role_id(function_name)
        role = self.resources[role_id]["Properties"]
        for policy in role.get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                yield from policy["Properties"]["PolicyDocument"]["Statement"]
