"""Every function's synthesized environment satisfies its settings model (registry `settings`)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from infra import registry
from infra.registry import FunctionSpec
from shared import settings
from tests.infra.template import Synthesized


def _model(dotted: str) -> type[settings.BaseSettings]:
    module, _, name = dotted.rpartition(".")
    model = getattr(importlib.import_module(module), name)
    assert issubclass(model, settings.BaseSettings), dotted
    return model


# What CloudFormation returns, in shape, for the references that are URLs (the others: an
# opaque placeholder): (resource type, "Ref" or Fn::GetAtt attribute) -> placeholder.
URL_PLACEHOLDERS = {
    ("AWS::SQS::Queue", "Ref"): "https://sqs.eu-west-3.amazonaws.com/123456789012/placeholder",
    ("AWS::ApiGatewayV2::Api", "ApiEndpoint"): "https://placeholder.execute-api.eu-west-3.amazonaws.com",
}


def render(value: Any, resources: dict[str, Any]) -> str:
    """A CloudFormation value as the string it becomes at deploy time: literal parts kept,
    each reference replaced by a placeholder of the right shape (a URL stays a URL)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part, resources) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        logical, attribute = value["Ref"], "Ref"
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
    else:
        raise AssertionError(f"unexpected CloudFormation value {value!r}")
    resource_type = resources.get(logical, {}).get("Type", "pseudo parameter")
    return URL_PLACEHOLDERS.get((resource_type, attribute), "placeholder")


def test_render_keeps_the_shape_of_urls() -> None:
    resources = {"Api": {"Type": "AWS::ApiGatewayV2::Api"}, "Queue": {"Type": "AWS::SQS::Queue"}}
    joined = {"Fn::Join": ["", ["https://", {"Ref": "Domain"}, "/", {"Ref": "AWS::Region"}]]}
    assert render(joined, resources) == "https://placeholder/placeholder"
    assert render({"Fn::GetAtt": ["Api", "ApiEndpoint"]}, resources).startswith("https://")
    assert render({"Ref": "Queue"}, resources).startswith("https://")
    assert render({"Fn::GetAtt": ["Queue", "Arn"]}, resources) == "placeholder"


@pytest.mark.parametrize("spec", registry.FUNCTIONS, ids=[spec.name for spec in registry.FUNCTIONS])
def test_environment_satisfies_settings(synth: Synthesized, spec: FunctionSpec) -> None:
    """Each model is imported from the registry's dotted path and fed the deployed variables."""
    variables = synth.function(spec.name)["Environment"]["Variables"]
    # CloudFormation tokens ({"Ref": ...}, {"Fn::GetAtt": ...}) become strings at deploy time.
    env = {name: render(value, synth.resources) for name, value in variables.items()}
    loaded = settings.load(_model(spec.settings), env)
    for field_name, field in type(loaded).model_fields.items():
        if field.is_required():
            assert getattr(loaded, field_name), f"{spec.name}: {field.alias or field_name} is empty"
