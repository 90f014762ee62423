"""infra/statemachine/order_workflow.asl.json: valid ASL, and consistent with the code it names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import registry
from shared.domain import workflow

ROOT = Path(__file__).resolve().parents[2]
SPEC = registry.state_machine("order_workflow")
ASL_PATH = ROOT / SPEC.definition
ASL = json.loads(ASL_PATH.read_text())
AWS_ERRORS = {"States.ALL", "States.Timeout"}


def _states() -> dict[str, dict]:
    return ASL["States"]


def test_asl_validator_accepts_the_definition() -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx (Node) is not installed: asl-validator cannot run")
    result = subprocess.run(
        [npx, "--yes", "asl-validator", "--json-path", str(ASL_PATH)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 and "ENOTFOUND" in result.stderr + result.stdout:
        pytest.skip("asl-validator is not cached and the npm registry is unreachable (offline)")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_caught_or_retried_error_is_a_class_the_steps_raise() -> None:
    """Retry/Catch match by class name: a renamed exception would silently stop matching."""
    names: set[str] = set()
    for state in _states().values():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            names |= set(rule["ErrorEquals"])
    ours = {n for n in names if not n.startswith(("States.", "Lambda."))}
    ours.discard("CommissioningFailed")  # sent by the API with SendTaskFailure, not raised
    for name in ours:
        cls = getattr(workflow, name, None)
        assert isinstance(cls, type) and issubclass(cls, workflow.WorkflowError), name


def test_placeholders_are_exactly_the_declared_task_functions() -> None:
    found = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL_PATH.read_text()))
    assert found == set(SPEC.substitutions)
    functions = {spec.name for spec in registry.FUNCTIONS}
    assert set(SPEC.tasks) <= functions


def test_every_task_retries_transient_errors_and_catches_everything() -> None:
    for name, state in _states().items():
        if state["Type"] != "Task":
            continue
        (retry,) = state["Retry"]
        assert "TransientError" in retry["ErrorEquals"], name
        assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 2, name
        catches = state["Catch"]
        assert catches[-1]["ErrorEquals"] == ["States.ALL"], name
        assert catches[-1]["Next"] in ("Incident", "Failed"), name
        assert state["ResultPath"] is None, name  # the data lives in DynamoDB: small state


def test_callbacks_wait_with_timeouts_from_the_input() -> None:
    waits = {n: s for n, s in _states().items() if s.get("Resource", "").endswith(".waitForTaskToken")}
    assert set(waits) == {"AwaitCommissioning", "BillingHold"}
    for state in waits.values():
        assert state["TimeoutSecondsPath"].startswith("$.timeouts.")
        assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    timeouts = [c for c in waits["AwaitCommissioning"]["Catch"] if c["ErrorEquals"] == ["States.Timeout"]]
    assert timeouts and timeouts[0]["Next"] == "NoReport"


def test_the_happy_path_is_at_most_twelve_transitions() -> None:
    """Follow Next from StartAt without errors (Choice: its Default): cost-model.md's budget."""
    name, seen = ASL["StartAt"], []
    while True:
        seen.append(name)
        state = _states()[name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            break
        name = state.get("Next") or state["Default"]
    assert seen[-1] == "Done"
    assert len(seen) <= 12, seen
