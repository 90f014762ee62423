"""One-line status output of the local stack (stdout, flushed: it is often a pipe).

Lines never contain message bodies or secrets: names, ids, status codes, counts and timings only.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


def log(message: str) -> None:
    with _lock:
        sys.stdout.write(f"[local] {message}\n")
        sys.stdout.flush()
