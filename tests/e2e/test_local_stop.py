"""``make dev`` stops within 5 s on SIGTERM and Ctrl-C (SIGINT), even while it is busy.

The stack is started as ``make dev`` starts it (``infra.local.__main__.main``) with one fault
injected: the inbound processor computes for minutes before each batch (as a 1,000-message
delivery did), and a flood of contact-form submissions keeps the gateway busy when the signal
arrives. Also: a signal during startup aborts it, cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Stack, _free_port, _wait_healthy

pytestmark = pytest.mark.e2e

PROMISED_S = 5.0
# ``python -m infra.local`` with the processor made to burn CPU for 10 minutes per invocation.
STUCK_PROCESSOR = """
import time
from infra.local import dispatcher, __main__ as local_main
real_invoke = dispatcher.Dispatcher.invoke
def invoke(self, name, event):
    if name.endswith("inbound_processor"):
        until = time.monotonic() + 600
        while time.monotonic() < until:
            sum(range(10_000))
    return real_invoke(self, name, event)
dispatcher.Dispatcher.invoke = invoke
local_main.run()
"""


@contextmanager
def _process(log_path: Path, *argv: str) -> Iterator[tuple[subprocess.Popen[bytes], Stack]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *(argv or ("-m", "infra.local"))],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, Stack(base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _stop_and_time(proc: subprocess.Popen[bytes], signum: int) -> tuple[int, float]:
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the stack ignored {signal.Signals(signum).name} for 30 s")
    return code, time.monotonic() - sent


def _flood(stack: Stack, stop: threading.Event, sent: list[int]) -> None:
    while not stop.is_set():
        form = {
            "name": "Jean Martin",
            "email": f"flood.{uuid.uuid4().hex[:8]}@example.net",
            "subject": "Question",
            "message": "Bonjour",
            "consent": True,
            "client_submission_id": str(uuid.uuid4()),
        }
        try:
            reply = stack.post(
                "/webhooks/form",
                body=json.dumps(form).encode(),
                headers={"content-type": "application/json"},
                timeout=15,
            )
            sent.append(reply.status)
        except OSError:  # slow under load, or the stack is going away
            time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_busy_stack_stops_within_5_s(tmp_path: Path, signum: int) -> None:
    with _process(tmp_path / "stack.log", "-c", STUCK_PROCESSOR) as (proc, stack):
        _wait_healthy(proc, stack)
        stop, sent = threading.Event(), []
        clients = [threading.Thread(target=_flood, args=(stack, stop, sent)) for _ in range(6)]
        for client in clients:
            client.start()
        try:
            deadline = time.monotonic() + 120
            while len(sent) < 30 and time.monotonic() < deadline:  # the processor is stuck in a batch
                time.sleep(0.1)
            assert sent.count(202) >= 30, f"the flood was not accepted: {sent[:5]}"
            code, took = _stop_and_time(proc, signum)
        finally:
            stop.set()
            for client in clients:
                client.join()
        log = stack.log_tail(200)
        assert code == 0, log
        assert took <= PROMISED_S, f"stopping took {took:.1f} s:\n{log}"
        assert "[local] stopped" in log
        assert "abandoned (busy in a handler): poller-inbound_processor" in log


def test_a_signal_during_startup_aborts_it_cleanly(tmp_path: Path) -> None:
    with _process(tmp_path / "stack.log") as (proc, stack):
        deadline = time.monotonic() + 60
        while "[local] starting" not in stack.log_tail() and time.monotonic() < deadline:
            assert proc.poll() is None, stack.log_tail()
            time.sleep(0.05)
        code, took = _stop_and_time(proc, signal.SIGTERM)
        log = stack.log_tail(200)
        assert code == 0, log
        assert took <= PROMISED_S, f"stopping took {took:.1f} s:\n{log}"
        assert "[local] stopped" in log
        assert "ready in" not in log  # it did not finish starting first
