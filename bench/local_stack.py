"""The local stack under a long day of traffic (issue 15 #11): memory and throughput over 10,000
inbound messages, measured on ``python -m infra.local`` exactly as ``make dev`` runs it.

Contact-form submissions go over HTTP to ``POST /webhooks/form`` (4 clients at once), from a pool
of 500 customers (first contacts, then customers writing again); the queue poller feeds the
inbound processor as in ``make dev``. The messages are sent in ten equal windows; after each, the
bench waits until the inbound queue is empty and records the window's end-to-end throughput
(accepted and processed) and the stack process's resident memory (VmRSS; VmHWM is the peak).

``BENCH_STACK_MESSAGES`` (default 10,000) shortens a trial run; the report says what was sent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
CUSTOMERS = 500
WINDOWS = 10
TARGET_MB = 1536


@dataclass
class Window:
    sent_total: int
    seconds: float
    rss_mb: float

    def per_second(self, size: int) -> float:
        return size / self.seconds


@dataclass
class StackRun:
    messages: int
    windows: list[Window]
    peak_mb: float
    start_mb: float
    refused: int
    dead_lettered: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mb(pid: int, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) / 1024


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=30) as resp:
        return json.loads(resp.read())


def _post_form(base: str, n: int) -> int:
    customer = n % CUSTOMERS
    form = {
        "name": f"Client {customer}",
        "email": f"client.{customer}@example.net",
        "subject": "Question sur ma commande",
        "message": f"Bonjour, où en est ma demande ? (message {n})",
        "consent": True,
        "client_submission_id": f"bench-{n}",
    }
    request = urllib.request.Request(
        base + "/webhooks/form",
        data=json.dumps(form).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def _send(base: str, first: int, count: int) -> int:
    """Send messages first..first+count-1 with CLIENTS threads; returns how many were refused."""
    refused: list[int] = []
    numbers = iter(range(first, first + count))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            if _post_form(base, n) != 202:
                refused.append(n)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(refused)


def _drained(base: str) -> tuple[bool, int]:
    queues = _get(base, "/local/queues")
    inbound = queues["inbound"]
    dlq = next((v for k, v in queues.items() if k.startswith("inbound") and k.endswith("dlq")), None)
    dead = (dlq["visible"] + dlq["inFlight"]) if dlq else 0
    return inbound["visible"] + inbound["inFlight"] + inbound["delayed"] == 0, dead


def measure(messages: int | None = None) -> StackRun:
    messages = messages or int(os.environ.get("BENCH_STACK_MESSAGES") or 10_000)
    size = max(1, messages // WINDOWS)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    log_path = Path(tempfile.gettempdir()) / "guichet-bench-local-stack.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(base, "/local/stack")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the local stack did not start (see {log_path})") from None
                time.sleep(0.2)
        start_mb = _memory_mb(proc.pid, "VmRSS")
        windows: list[Window] = []
        refused = dead = 0
        for index in range(WINDOWS):
            started = time.perf_counter()
            refused += _send(base, index * size, size)
            while True:
                empty, dead = _drained(base)
                if empty:
                    break
                time.sleep(0.5)  # each look asks moto twice: not too often
            windows.append(
                Window((index + 1) * size, time.perf_counter() - started, _memory_mb(proc.pid, "VmRSS"))
            )
            print(
                f"local stack: {windows[-1].sent_total} messages, {windows[-1].per_second(size):.1f}/s,"
                f" {windows[-1].rss_mb:.0f} MB",
                flush=True,
            )
        peak = _memory_mb(proc.pid, "VmHWM")
        return StackRun(size * WINDOWS, windows, peak, start_mb, refused, dead)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def report_lines(run: StackRun) -> list[str]:
    size = run.messages // WINDOWS
    first, last = run.windows[0], run.windows[-1]
    ratio = last.per_second(size) / first.per_second(size)
    lines = [
        "",
        "## The local stack over a day of traffic (issue 15 #11)",
        "",
        f"`python -m infra.local` as `make dev` runs it; {run.messages:,} contact-form messages over HTTP"
        f" ({CLIENTS} clients, {CUSTOMERS} customers), processed by the queue poller; throughput per window"
        " of accepted and processed messages (the queue drained); resident memory of the stack process.",
        f"Target: under {TARGET_MB / 1024:.1f} GB after 10,000 messages, throughput flat.",
        "",
        "| messages so far | messages/s in the window | resident memory (MB) |",
        "|---|---|---|",
        f"| 0 (ready) | - | {run.start_mb:.0f} |",
    ]
    for window in run.windows:
        lines.append(f"| {window.sent_total:,} | {window.per_second(size):.1f} | {window.rss_mb:.0f} |")
    lines += [
        "",
        f"Peak resident memory {run.peak_mb:.0f} MB; last window at {ratio:.0%} of the first's throughput;"
        f" {run.refused} refused, {run.dead_lettered} dead-lettered.",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report_lines(measure())))
