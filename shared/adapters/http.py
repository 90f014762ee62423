"""API Gateway HTTP API (payload v2.0) helpers for webhook handlers.

Webhooks must start fast (they answer senders with short deadlines), so they use these
few functions instead of the Powertools event handler; the agent API uses Powertools.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl


class BadRequest(ValueError):
    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def header(event: dict[str, Any], name: str) -> str | None:
    """Headers arrive lowercased in payload v2.0; look up case-insensitively anyway."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return None


def raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as the sender sent it (signatures are computed over these bytes)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def media_type(event: dict[str, Any]) -> str:
    return (header(event, "content-type") or "").split(";", 1)[0].strip().lower()


def parse_fields(event: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """A JSON object or a form-encoded body as a dict; 413 over ``max_bytes``, 400 if malformed."""
    body = raw_body(event)
    if len(body) > max_bytes:
        raise BadRequest(413, f"the body is larger than {max_bytes // 1024} KB")
    kind = media_type(event)
    if kind == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(400, "the form body is not UTF-8") from exc
        return dict(parse_qsl(text, keep_blank_values=True))
    if kind in ("application/json", "") or kind.endswith("+json"):
        try:
            parsed = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(400, "the body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise BadRequest(400, "the body must be a JSON object")
        return parsed
    raise BadRequest(415, f"unsupported content type {kind!r}: send JSON or a form")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def error_response(error: BadRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"message": str(error)}
    if error.errors:
        body["errors"] = error.errors
    return json_response(error.status, body)


def validation_errors(exc: Any) -> list[dict[str, str]]:
    """pydantic ValidationError -> [{"field": "email", "message": "..."}], one per bad field."""
    found = []
    for item in exc.errors():
        location = ".".join(str(part) for part in item.get("loc", ())) or "body"
        message = str(item.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        found.append({"field": location, "message": message})
    return found
