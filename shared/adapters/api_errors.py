"""One shape for every API error: JSON with a clear ``message`` (and, for 422, each bad field).

Powertools' default 422 body omits ``msg``, which its own OpenAPI schema requires; this one
keeps the documented ``detail`` items complete and adds the message people read.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.adapters.auth import STAFF_ROLES, Forbidden, caller_from_event
from shared.domain.errors import AtCapacity, Conflict, InvalidCursor, NotAllowed, NotFound


def error(status: int, message: str, **extra: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"message": message, **extra}),
    )


def validation_error(exc: RequestValidationError) -> Response[str]:
    detail = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in item.get("loc", ())],
            "msg": str(item.get("msg") or item.get("type", "invalid value")).removeprefix("Value error, "),
            "type": str(item.get("type", "value_error")),
        }
        for item in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in d["loc"][1:] or d["loc"]) for d in detail)
    return error(422, f"invalid request: {fields}" if fields else "invalid request", detail=detail)


def refuse_non_json(event: dict[str, Any]) -> dict[str, Any] | None:
    """These APIs read JSON bodies only: anything else is a 415 before parsing is attempted
    (Powertools would otherwise fail on, say, a multipart body without a boundary)."""
    if not event.get("body"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media = str(headers.get("content-type", "application/json")).split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    return _refused(415, f"send application/json, not {media!r}")


def _refused(status: int, message: str) -> dict[str, Any]:
    """An answer given before the resolver runs (the same JSON shape as every other error)."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": message}),
    }


CUSTOMER_SPACE = "/api/portal/"  # routes behind the customer pool's authorizer; all others: staff


def refuse_without_staff_role(
    event: dict[str, Any], roles: frozenset[str] = STAFF_ROLES
) -> dict[str, Any] | None:
    """A staff route called by someone signed in without a staff role (agent, supervisor,
    admin) is a 403 before anything is parsed or read; finer role checks stay in the routes.
    The customer-space routes check the customer's identity themselves."""
    if str(event.get("rawPath") or "").startswith(CUSTOMER_SPACE):
        return None
    try:
        caller_from_event(event).require_any(roles)
    except Forbidden as refused:
        return _refused(403, str(refused))
    return None


def answer_staff_api(
    app: Any, event: dict[str, Any], context: Any, roles: frozenset[str] = STAFF_ROLES
) -> dict[str, Any]:
    """The entry point of a staff /api/* function: the role gate (``roles``: the staff roles,
    or more for the order back office), JSON only, then the routes."""
    screened = refuse_without_staff_role(event, roles) or refuse_non_json(event)
    if screened is not None:
        return screened
    answer: dict[str, Any] = app.resolve(event, context)
    return answer


# The status each domain error answers with, body {"message": str(error)}, in every API.
DOMAIN_STATUSES: dict[type[Exception], int] = {
    NotFound: 404,
    InvalidCursor: 400,
    Conflict: 409,
    AtCapacity: 409,
    Forbidden: 403,
    NotAllowed: 403,
}


def answer_domain_errors(app: Any, *errors: type[Exception]) -> None:
    """Register, on a Powertools resolver, the JSON answer of each of ``errors``."""

    def answer(exc: Exception) -> Response[str]:
        status = next(code for kind, code in DOMAIN_STATUSES.items() if isinstance(exc, kind))
        return error(status, str(exc))

    for kind in errors:
        app.exception_handler(kind)(answer)
