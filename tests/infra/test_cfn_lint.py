"""cfn-lint finds nothing (errors, warnings or informational) in the synthesized templates."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.infra.template import Synthesized

REGIONS = ["eu-west-3", "us-east-1"]


def test_template_is_cfn_lint_clean(synth: Synthesized) -> None:
    assert synth.template_file is not None
    matches = lint_file(synth.template_file, ManualArgs(regions=REGIONS))
    assert [str(match) for match in matches] == []


def test_edge_template_is_cfn_lint_clean(synth: Synthesized) -> None:
    assert synth.edge_template_file is not None
    matches = lint_file(synth.edge_template_file, ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []
