"""``make dev``: the local stack in the foreground until Ctrl-C (SIGINT) or SIGTERM.

``PORT`` (default 3000) is the gateway's port; ``LOCAL_MOTO_PORT`` pins moto's (default: a free
one, printed at startup). Stopping joins every thread and shuts both servers down, exit code 0.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from infra.local.log import log
from infra.local.resources import LocalStackError
from infra.local.runtime import LocalStack


def main() -> int:
    stack = LocalStack(
        port=int(os.environ.get("PORT") or 3000),
        moto_port=int(os.environ.get("LOCAL_MOTO_PORT") or 0),
    )
    requested: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only note it: the main thread stops the stack outside the signal handler. A second
        # signal while stopping falls back to the default (immediate) behaviour.
        requested.append(signum)
        signal.signal(signum, signal.SIG_DFL)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
    except LocalStackError as exc:  # the declarations do not make a consistent stack
        log(f"cannot start: {exc}")
        return 1
    except OSError as exc:
        log(f"cannot start: {exc} (is port {stack.port} in use? set PORT=...)")
        return 1
    stack.wait(lambda: bool(requested))
    log(f"stopping ({signal.Signals(requested[0]).name})")
    stack.stop()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
