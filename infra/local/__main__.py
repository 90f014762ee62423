"""``make dev``: the local stack in the foreground until Ctrl-C (SIGINT) or SIGTERM.

``PORT`` (default 3000) is the gateway's port; ``LOCAL_MOTO_PORT`` pins moto's (default: a free
one, printed at startup). Stopping shuts both servers down and joins every thread, exit code 0,
within 5 s whatever the stack is doing (tests/e2e/test_local_stop.py):
- a signal during startup aborts it (what was provisioned is undone);
- threads busy in a handler past the stop budget are abandoned (moto's state is in memory:
  an unfinished invocation is lost with it, as a Lambda killed by a deploy would be);
- a watchdog ends the process if stopping itself hangs; a second signal ends it at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from infra.local.log import log
from infra.local.resources import LocalStackError
from infra.local.runtime import STOP_BUDGET_S, LocalStack

STOP_DEADLINE_S = 4.5  # the watchdog's: the promise is 5 s from the signal to the exit


class StopRequested(BaseException):
    """Raised in the main thread by a signal that arrives while the stack is starting."""


def _watchdog(seconds: float) -> None:
    def expire() -> None:
        busy = ", ".join(t.name for t in threading.enumerate() if t is not threading.current_thread())
        log(f"stopped (forced after {seconds:g} s; still running: {busy or '-'})")
        os._exit(0)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main() -> int:
    stack = LocalStack(
        port=int(os.environ.get("PORT") or 3000),
        moto_port=int(os.environ.get("LOCAL_MOTO_PORT") or 0),
    )
    requested: list[int] = []
    starting = [True]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # The main thread stops the stack outside the handler, except during startup, which the
        # signal aborts. A second signal falls back to the default (immediate) behaviour.
        first = not requested
        requested.append(signum)
        signal.signal(signum, signal.SIG_DFL)
        if first:
            _watchdog(STOP_DEADLINE_S)
            if starting[0]:
                raise StopRequested

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log(f"starting on port {stack.port} (Ctrl-C or SIGTERM stops it)")
    try:
        stack.start()
        starting[0] = False
    except StopRequested:
        log(f"stopped during startup ({signal.Signals(requested[0]).name})")
        return 0
    except LocalStackError as exc:  # the declarations do not make a consistent stack
        log(f"cannot start: {exc}")
        return 1
    except OSError as exc:
        log(f"cannot start: {exc} (is port {stack.port} in use? set PORT=...)")
        return 1
    stack.wait(lambda: bool(requested))
    log(f"stopping ({signal.Signals(requested[0]).name})")
    stack.stop(budget_s=STOP_BUDGET_S)
    log("stopped")
    return 0


def run() -> None:
    """``python -m infra.local``: main(), then exit at once. Nothing is left to save (moto's
    state lives in memory), and a normal interpreter shutdown can take seconds with abandoned
    threads still holding the GIL, past the point where the watchdog could still run."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
