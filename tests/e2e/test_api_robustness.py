"""schemathesis against a running local stack: the OpenAPI document of the whole /api/* surface
(every function's routes, merged) drives a few thousand generated requests; none may answer 5xx
or break the documented schema.

The run has a stack of its own: it PUTs admin settings (SLA policies, qualification rules,
canned responses, catalog) that would change what the other e2e tests see on the shared one.
A ticket from the contact form, its customer and a canned response are seeded, and half of the
generated ticket, customer and canned ids are theirs (all of the replies' tickets): changes,
notes, merges and replies (sent to the stack's fake providers, the documented examples among
them) then run on a real ticket, not only into 404s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, running_stack

pytestmark = pytest.mark.e2e

CANNED_ID = "bienvenue"
SEED_TIMEOUT_S = 30


def _seed(stack: Stack) -> dict[str, str]:
    """A ticket through the contact form (and the inbound pipeline), and a canned response."""
    form = {
        "name": "Jean Martin",
        "email": "jean.martin@example.net",
        "subject": "Garantie",
        "message": "La garantie couvre-t-elle la batterie ?",
        "consent": True,
        "client_submission_id": "7b0f8a0e-5a0c-4d1e-9a53-1f7d2f0c9e44",
    }
    json_type = {"content-type": "application/json"}
    assert stack.post("/webhooks/form", body=json.dumps(form).encode(), headers=json_type).status == 202
    admin = {"authorization": f"Bearer {stack.token('admin')}", **json_type}
    canned = {"id": CANNED_ID, "title": "Bienvenue", "body": "Bonjour {{customer.first_name}}, merci !"}
    put = stack.request(
        "PUT", f"/api/admin/canned/{CANNED_ID}", body=json.dumps(canned).encode(), headers=admin
    )
    assert put.status == 200, put.body
    deadline = time.monotonic() + SEED_TIMEOUT_S
    while time.monotonic() < deadline:
        listed = stack.get("/api/tickets", headers=admin).json()["items"]
        if listed:
            return {"ticket": listed[0]["id"], "customer": listed[0]["customer_id"]}
        time.sleep(0.5)
    pytest.fail(f"the contact form's ticket did not appear within {SEED_TIMEOUT_S} s:\n{stack.log_tail()}")


def _config(seeded: dict[str, str]) -> str:
    """schemathesis.toml: half of the generated ids (in paths, and a reply's canned response)
    are the seeded ones; every reply is on the seeded ticket."""
    values = {"tickets": seeded["ticket"], "customers": seeded["customer"], "canned": CANNED_ID}
    lines = []
    for dictionary, value in values.items():
        lines += [f"[dictionaries.{dictionary}]", f"values = [{json.dumps(value)}]", ""]
    lines.append("[parameters]")
    for parameter, dictionary in (
        ("path.ticket_id", "tickets"),
        ("path.customer_id", "customers"),
        ("path.canned_id", "canned"),
        ("body.canned_id", "canned"),
    ):
        lines.append(f'"{parameter}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    # Replies: always the seeded ticket, so that the documented examples are sent for real.
    ticket = json.dumps(seeded["ticket"])
    lines += [
        "",
        "[[operations]]",
        'include-path-regex = "/replies$"',
        f'parameters = {{ "path.ticket_id" = {ticket} }}',
    ]
    return "\n".join(lines) + "\n"


def test_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        seeded = _seed(stack)
        token = stack.token("supervisor")
        reply = stack.get("/api/openapi.json", headers={"authorization": f"Bearer {token}"})
        assert reply.status == 200
        schema = tmp_path / "openapi.json"
        schema.write_bytes(reply.body)
        config = tmp_path / "schemathesis.toml"
        config.write_text(_config(seeded))
        st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
        run = subprocess.run(
            [
                st,
                "--config-file",
                str(config),
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
                "--workers",
                "2",  # the stack serves requests in threads; most of the time is the client's
                "--seed",
                "20261125",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
    summary = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, run.stdout[-12_000:] + run.stderr[-2_000:]
    assert " passed" in summary
    sent = [line for line in stack.log_path.read_text().splitlines() if "/replies -> 2" in line]
    assert sent, "no generated reply was accepted: the replies route was only tested on its refusals"
