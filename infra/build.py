"""Build the Lambda artifacts that the CDK app packages: ``python -m infra.build``.

- ``build/lambda/``: the ``shared`` and ``functions`` packages, nothing else (no tests,
  no bytecode caches). Rebuilt from scratch every time: it is small.
- ``build/layer/python/``: the runtime dependencies of ``pyproject.toml`` for Lambda
  (arm64, CPython ``PYTHON_VERSION``), minus what the Lambda runtime already provides.
  Installed with pip from binary wheels only (no Docker); skipped when a stamp shows the
  same dependency list and target were already installed.

This is the only step that may reach the network (PyPI); ``infra.app`` (synth) never does.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "build"
LAMBDA_DIR = BUILD_DIR / "lambda"
LAYER_DIR = BUILD_DIR / "layer"

PLATFORM = "manylinux2014_aarch64"

PACKAGES = ("shared", "functions")
# Provided by the Lambda Python runtime; shipping our own copy only adds cold-start weight.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "tests", "test_*.py", "*_test.py")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"cannot read a package name from {requirement!r}")
    return _canonical(match.group(1))


def python_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The one Python version, declared once: ``[project].requires-python`` (``~=3.11.0`` -> "3.11").

    The tests run on it (pip refuses another interpreter; tests/infra/test_python_version.py
    checks the running one), the layer's wheels are built for it, and the Lambda runtime
    (infra/constructs/functions.py) and the local stack's functions are ``python<it>``.
    """
    spec = tomllib.loads(pyproject.read_text())["project"]["requires-python"]
    match = re.fullmatch(r"~=\s*(3\.\d+)\.\d+", spec.strip())
    if match is None:
        raise ValueError(
            f"pyproject.toml requires-python {spec!r}: expected '~=3.X.0', the one version that Lambda"
            " runs and the tests use"
        )
    return match.group(1)


# The Lambda runtime, the layer's wheels and the tests' interpreter: one version.
PYTHON_VERSION = python_version()
LAMBDA_RUNTIME = f"python{PYTHON_VERSION}"


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """``[project].dependencies`` minus the packages the Lambda runtime provides."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [req for req in project.get("dependencies", []) if requirement_name(req) not in RUNTIME_PROVIDED]


def build_lambda(source: Path = ROOT, target: Path = LAMBDA_DIR) -> Path:
    """Copy the application packages into ``target`` (replacing what was there)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for package in PACKAGES:
        shutil.copytree(source / package, target / package, ignore=_IGNORED)
    return target


def _stamp(requirements: list[str]) -> str:
    return json.dumps(
        {
            "requirements": sorted(requirements),
            "platform": PLATFORM,
            "python_version": PYTHON_VERSION,
        },
        sort_keys=True,
    )


def layer_is_current(requirements: list[str], target: Path = LAYER_DIR) -> bool:
    stamp = target / ".stamp"
    return (target / "python").is_dir() and stamp.is_file() and stamp.read_text() == _stamp(requirements)


def pip_command(requirements: list[str], python_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # bytecode compiled here would be for this interpreter, not the runtime's
        "--platform",
        PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(python_dir),
        *requirements,
    ]


def build_layer(requirements: list[str], target: Path = LAYER_DIR, *, force: bool = False) -> bool:
    """Install ``requirements`` under ``target/python``. Returns False when already up to date."""
    if not force and layer_is_current(requirements, target):
        return False
    if target.exists():
        shutil.rmtree(target)
    python_dir = target / "python"
    python_dir.mkdir(parents=True)
    if requirements:
        subprocess.run(pip_command(requirements, python_dir), check=True)
    # Console scripts carry this machine's interpreter path: useless inside a layer.
    shutil.rmtree(python_dir / "bin", ignore_errors=True)
    leaked = sorted(
        path.name for path in python_dir.iterdir() if _canonical(path.name).split("-")[0] in RUNTIME_PROVIDED
    )
    if leaked:
        raise RuntimeError(f"a dependency pulled in {leaked}; the Lambda runtime provides them")
    (target / ".stamp").write_text(_stamp(requirements))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force-layer", action="store_true", help="reinstall the layer even if current")
    args = parser.parse_args(argv)

    build_lambda()
    print(f"lambda code: {LAMBDA_DIR.relative_to(ROOT)}")
    requirements = runtime_requirements()
    if build_layer(requirements, force=args.force_layer):
        print(f"layer: installed {', '.join(requirements)} into {LAYER_DIR.relative_to(ROOT)}/python")
    else:
        print(f"layer: up to date ({LAYER_DIR.relative_to(ROOT)}/.stamp)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
