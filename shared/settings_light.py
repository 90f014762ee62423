"""Environment reads for functions that must not import pydantic at cold start (webhooks).

The variable names are the same as in shared/settings.py, whose models the infra tests
check every function's environment against.
"""

from __future__ import annotations

import os


class MissingSetting(RuntimeError):
    pass


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise MissingSetting(f"environment variable {name} is not set")
    return value
