"""One Python version (issue 15 #13): pyproject.toml's requires-python is the only declaration;
the tests run on it, the layer is built for it, every Lambda function and the local stack's
functions run it."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from infra import build
from tests.infra.template import Synthesized


def test_the_tests_run_on_the_version_lambda_runs() -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running == build.PYTHON_VERSION, (
        f"the tests run on Python {running}, the functions on {build.LAMBDA_RUNTIME} "
        "(pyproject.toml requires-python): run them on the same version"
    )


def test_every_function_and_the_layer_use_that_runtime(synth: Synthesized) -> None:
    functions = synth.of_type("AWS::Lambda::Function")
    assert functions
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {build.LAMBDA_RUNTIME}
    (layer,) = synth.of_type("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == [build.LAMBDA_RUNTIME]


def test_the_version_is_read_from_requires_python(tmp_path: Path) -> None:
    declared = tomllib.loads((build.ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert declared.startswith(f"~={build.PYTHON_VERSION}.")
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nrequires-python = "~=3.13.0"\n')
    assert build.python_version(other) == "3.13"
    other.write_text('[project]\nrequires-python = ">=3.11"\n')  # a range is not one version
    with pytest.raises(ValueError, match="one version"):
        build.python_version(other)
