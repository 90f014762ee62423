"""infra/build.py: what goes into build/lambda and build/layer (no network: pip is faked)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import build


def test_layer_requirements_are_the_runtime_dependencies_without_boto(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\nname = 'x'\ndependencies = ['boto3>=1.35,<2', 'Botocore', 'pydantic>=2.7', "
        "'aws-lambda-powertools[tracer]>=3']\n[project.optional-dependencies]\ndev = ['pytest']\n"
    )
    assert build.runtime_requirements(pyproject) == ["pydantic>=2.7", "aws-lambda-powertools[tracer]>=3"]


def test_project_layer_excludes_what_the_runtime_provides() -> None:
    names = {build.requirement_name(req) for req in build.runtime_requirements()}
    assert names
    assert not names & build.RUNTIME_PROVIDED


def test_lambda_code_is_the_two_packages_without_tests_or_caches(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for package in ("shared", "functions", "tests", "infra"):
        (source / package / "__pycache__").mkdir(parents=True)
        (source / package / "__init__.py").write_text("")
        (source / package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (source / "shared" / "tests").mkdir()
    (source / "shared" / "tests" / "test_x.py").write_text("")
    (source / "shared" / "stale.txt").write_text("")
    target = tmp_path / "out"
    (target / "old").mkdir(parents=True)

    build.build_lambda(source, target)

    files = sorted(str(path.relative_to(target)) for path in target.rglob("*") if path.is_file())
    assert files == ["functions/__init__.py", "shared/__init__.py", "shared/stale.txt"]


def test_layer_pip_step_runs_once_per_dependency_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "pydantic").mkdir()
        (target / "bin").mkdir()
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    layer = tmp_path / "layer"
    assert build.build_layer(["pydantic>=2"], layer) is True
    assert build.build_layer(["pydantic>=2"], layer) is False
    assert build.build_layer(["pydantic>=2", "phonenumbers"], layer) is True
    assert len(calls) == 2
    assert not (layer / "python" / "bin").exists()
    command = calls[0]
    for flag, value in (
        ("--platform", "manylinux2014_aarch64"),
        ("--python-version", build.PYTHON_VERSION),
        ("--implementation", "cp"),
    ):
        assert command[command.index(flag) + 1] == value
    assert "--only-binary=:all:" in command


def test_layer_refuses_boto_pulled_in_transitively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        target = Path(command[command.index("--target") + 1])
        (target / "botocore").mkdir()
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="botocore"):
        build.build_layer(["something"], tmp_path / "layer")


def _imports(tree: ast.AST) -> Iterator[str]:
    """Top-level modules imported at runtime (not under ``if TYPE_CHECKING:``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (name for child in node.orelse for name in _imports(ast.Module([child], [])))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]
        yield from _imports(node)


def test_packaged_code_imports_only_what_lambda_has(artifacts: tuple[Path, Path]) -> None:
    """The Lambda gets shared/, functions/, the layer and the runtime's boto3: nothing else."""
    code_dir, _ = artifacts
    layer = {build.requirement_name(req).replace("-", "_") for req in build.runtime_requirements()}
    available = set(sys.stdlib_module_names) | {"shared", "functions"} | layer | build.RUNTIME_PROVIDED
    missing = {
        f"{path.relative_to(code_dir)}: {module}"
        for path in code_dir.rglob("*.py")
        for module in _imports(ast.parse(path.read_text()))
        if module not in available
    }
    assert not missing, sorted(missing)
