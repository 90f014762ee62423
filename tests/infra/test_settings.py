"""Every function's synthesized environment satisfies its settings model (registry `settings`)."""

from __future__ import annotations

import importlib

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


@pytest.mark.parametrize("spec", registry.FUNCTIONS, ids=[spec.name for spec in registry.FUNCTIONS])
def test_environment_satisfies_settings(synth: Synthesized, spec: FunctionSpec) -> None:
    """Each model is imported from the registry's dotted path and fed the deployed variables."""
    variables = synth.function(spec.name)["Environment"]["Variables"]
    # CloudFormation tokens ({"Ref": ...}, {"Fn::GetAtt": ...}) become strings at deploy time.
    env = {
        name: value if isinstance(value, str) else f"placeholder-{name.lower()}"
        for name, value in variables.items()
    }
    loaded = settings.load(_model(spec.settings), env)
    for field_name, field in type(loaded).model_fields.items():
        if field.is_required():
            assert getattr(loaded, field_name), f"{spec.name}: {field.alias or field_name} is empty"
