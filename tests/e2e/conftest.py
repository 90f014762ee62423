"""The local stack as a subprocess (``python -m infra.local``), shared by every e2e test.

It is started exactly as ``make dev`` starts it, on a free port, and stopped with SIGINT (Ctrl-C)
at the end of the session; a non-zero exit or a hang on shutdown fails the run, so a clean stop
is tested too. The stack's output goes to a file (a pipe could fill up and block it) and its tail
is shown when something goes wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Stack:
    base_url: str
    log_path: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15,
    ) -> Reply:
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def token(self, role: str) -> str:
        reply = self.get(f"/local/token?role={role}")
        assert reply.status == 200, reply.body
        return str(reply.json()["token"])

    @property
    def region(self) -> str:
        return str(self.get("/local/stack").json()["region"])

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the local stack exited with {proc.returncode} at startup:\n{stack.log_tail()}")
        try:
            if stack.get("/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the local stack did not answer /health within {START_TIMEOUT_S} s:\n{stack.log_tail()}")


@contextlib.contextmanager
def running_stack(log_dir: Path, **extra_env: str) -> Iterator[Stack]:
    """``python -m infra.local`` on a free port until the block ends, then SIGINT and a clean exit."""
    port = _free_port()
    log_path = log_dir / "stack.log"
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1", **extra_env)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Stack(base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        _wait_healthy(proc, running)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"the local stack ignored SIGINT for {STOP_TIMEOUT_S} s:\n{running.log_tail()}")
            assert code == 0, f"the local stack exited with {code} on SIGINT:\n{running.log_tail()}"
            assert "[local] stopped" in running.log_path.read_text(), running.log_tail()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("local-stack")) as running:
        yield running


@pytest.fixture(scope="session")
def aws(stack: Stack) -> Callable[[str], Any]:
    """boto3 clients on the stack's moto server (the endpoint comes from ``/local/stack``)."""
    import boto3

    endpoint = stack.get("/local/stack").json()["awsEndpoint"]
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.region
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)

    return client
