"""schemathesis against the running local stack: the agent API's own OpenAPI document drives
hundreds of generated requests; none may answer 5xx or break the documented schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_no_server_error_and_no_schema_violation(stack: Stack, tmp_path: Path) -> None:
    token = stack.token("supervisor")
    reply = stack.get("/api/openapi.json", headers={"authorization": f"Bearer {token}"})
    assert reply.status == 200
    schema = tmp_path / "openapi.json"
    schema.write_bytes(reply.body)
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    run = subprocess.run(
        [
            st,
            "run",
            str(schema),
            "--url",
            stack.base_url,
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "8",
            "--seed",
            "20261125",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, summary
    assert " passed" in summary
