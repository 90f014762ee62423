"""The public satisfaction survey: ``GET /survey/{token}`` (a small page), ``POST`` the answer.

No login: the 192-bit token in the link is the credential. A malformed or unknown token is a
plain 404 (no hint whether it ever existed); its shape is checked before any read, so junk costs
no DynamoDB call. The page works without JavaScript (an HTML form posting to the same URL) and
the API takes JSON too.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.survey import Survey, looks_like_token
from shared.services.order_alerts import AlertService
from shared.services.satisfaction import SatisfactionService
from shared.settings import ApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver()
_wired: SatisfactionService | None = None
HTML = "text/html; charset=utf-8"


class _NoAlerts:
    """The survey page sends no alert; the service's alert port is never used here."""

    def send_email(self, to: str, subject: str, text: str, html: str) -> str:
        raise RuntimeError("the survey API sends no alerts")

    def send_sms(self, phone: str, text: str) -> str:
        raise RuntimeError("the survey API sends no alerts")


def _service() -> SatisfactionService:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(ApiSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        store, clock = WorkflowStore(table), SystemClock()
        customers = DynamoRepository(table)
        alerts = AlertService(store, customers, _NoAlerts(), clock)
        _wired = SatisfactionService(OrderRepository(table), store, alerts, clock, "")
    return _wired


def _page(status: int, title: str, body: str) -> Response[str]:
    doc = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(
        status, HTML, doc, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def _wants_json() -> bool:
    headers = app.current_event.headers or {}
    accept = headers.get("accept", "")
    ctype = headers.get("content-type", "")
    return "application/json" in accept or ctype.startswith("application/json")


def _survey(token: str) -> Survey:
    if not looks_like_token(token):
        raise NotFound("survey", "(token)")
    return _service().survey(token)


@app.get("/survey/<token>")
def show(token: str) -> Response[str]:
    survey = _survey(token)
    if survey.answered_at is not None:
        return _page(200, "Merci !", "<p>Vous avez déjà répondu à cette enquête. Merci.</p>")
    options = "".join(
        f'<label><input type="radio" name="score" value="{n}" required> {n}</label> ' for n in range(1, 6)
    )
    form = (
        f"<p>Commande {html.escape(survey.order_number)} : êtes-vous satisfait ?"
        " (1 = pas du tout, 5 = très)</p>"
        f'<form method="post">{options}<p><textarea name="comment" maxlength="2000" rows="4" cols="40" '
        'placeholder="Un commentaire ?"></textarea></p><button type="submit">Envoyer</button></form>'
    )
    return _page(200, "Votre avis", form)


@app.post("/survey/<token>")
def answer(token: str) -> Response[str]:
    _survey(token)
    raw = app.current_event.decoded_body or ""
    if _wants_json():
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise InvalidInput([{"field": "body", "message": "not JSON"}]) from exc
        if not isinstance(data, dict):
            raise InvalidInput([{"field": "body", "message": "a JSON object"}])
    else:
        data = {k: v[0] for k, v in parse_qs(raw).items()}
    try:
        score = int(str(data.get("score", "")))
    except ValueError as exc:
        raise InvalidInput([{"field": "score", "message": "between 1 and 5"}]) from exc
    comment = data.get("comment")
    survey = _service().answer(token, score, str(comment) if comment is not None else None)
    logger.info("survey answered", extra={"order_id": survey.order_id, "score": score})
    if _wants_json():
        return Response(
            200, content_types.APPLICATION_JSON, json.dumps({"order_id": survey.order_id, "score": score})
        )
    return _page(200, "Merci !", "<p>Merci pour votre réponse.</p>")


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[str]:
    if _wants_json():
        return Response(404, content_types.APPLICATION_JSON, json.dumps({"message": "survey not found"}))
    return _page(404, "Enquête introuvable", "<p>Ce lien n'est pas valide.</p>")


@app.exception_handler(Conflict)
def _answered(error: Conflict) -> Response[str]:
    if _wants_json():
        return Response(409, content_types.APPLICATION_JSON, json.dumps({"message": "already answered"}))
    return _page(409, "Merci !", "<p>Vous avez déjà répondu à cette enquête.</p>")


@app.exception_handler(InvalidInput)
def _invalid(error: InvalidInput) -> Response[str]:
    if _wants_json():
        return Response(422, content_types.APPLICATION_JSON, json.dumps({"errors": error.errors}))
    return _page(422, "Réponse incomplète", "<p>Choisissez une note de 1 à 5.</p>")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
