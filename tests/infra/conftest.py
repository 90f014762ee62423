"""Synthesized stacks shared by the whole session (a synth with cdk-nag costs seconds).

- ``synth``: GuichetStack exactly as the registry declares it.
- ``probe``: the same plus ``tests.infra.probe.PROBE``, a test-only function using what no
  registry function uses yet, so that those construct paths are checked (cdk-nag included).

Both are built from small temporary code and layer directories (the real ``shared``/
``functions`` copy made by infra.build, and an empty layer), never from ``build/``: the tests
need neither `make build` nor the network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from infra import registry
from tests.infra.probe import PROBE
from tests.infra.template import Synthesized


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(code_dir, layer_dir) for the stack props."""
    from infra import build

    root = tmp_path_factory.mktemp("artifacts")
    code_dir = build.build_lambda(target=root / "lambda")
    layer_dir = root / "layer"
    (layer_dir / "python").mkdir(parents=True)
    (layer_dir / "python" / "README").write_text("dependencies go here (make build)\n")
    return code_dir, layer_dir


def _synthesize(outdir: Path, artifacts: tuple[Path, Path]) -> Synthesized:
    from infra.app import create_app

    code_dir, layer_dir = artifacts
    app, stack = create_app(code_dir=code_dir, layer_dir=layer_dir, outdir=str(outdir))
    try:
        assembly = app.synth()  # runs cdk-nag: raises on any unacknowledged finding
    except RuntimeError:
        report = outdir / "validation-report.json"
        if not report.is_file():
            raise
        findings = [
            f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
            for plugin in json.loads(report.read_text())["pluginReports"]
            for violation in plugin["violations"]
            for construct in violation["violatingConstructs"]
        ]
        pytest.fail("cdk-nag findings:\n" + "\n".join(findings), pytrace=False)
    from infra.app import EDGE_STACK_NAME

    artifact = assembly.get_stack_artifact(stack.artifact_id)
    edge = assembly.get_stack_artifact(app.node.find_child(EDGE_STACK_NAME).artifact_id)
    return Synthesized(
        stack=stack,
        template=artifact.template,
        template_file=outdir / artifact.template_file,
        outdir=outdir,
        edge_template=edge.template,
        edge_template_file=outdir / edge.template_file,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, artifacts: tuple[Path, Path]) -> Synthesized:
    return _synthesize(tmp_path_factory.mktemp("cdk.out"), artifacts)


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory, artifacts: tuple[Path, Path]) -> Synthesized:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "FUNCTIONS", (*registry.FUNCTIONS, PROBE))
        return _synthesize(tmp_path_factory.mktemp("probe.cdk.out"), artifacts)
