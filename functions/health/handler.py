"""GET /health: 200 with the versions of what is running (no AWS call, no dependency)."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from typing import Any

_PACKAGES = ("guichet", "boto3", "botocore", "aws-lambda-powertools", "pydantic", "moto")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. moto exists only in the local stack
    return found


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {"status": "ok", "service": "guichet", "versions": _versions()}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
