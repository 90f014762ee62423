"""``/local/*``: the local stack's own tools. Never declared in the registry, never deployed.

* ``GET  /local/token?role=agent|supervisor|admin|customer`` -> ``{"token": <Cognito id token>}``
  of the seeded demo user (``make token ROLE=...``), obtained with USER_PASSWORD_AUTH.
* ``GET  /local/outbox`` -> everything sent (SES, SNS SMS, provider fakes), newest first.
* ``POST /local/schedules/<name>/fire`` -> run that schedule's function now (``make fire``).
* ``GET  /local/queues`` -> approximate message counts of each queue and its DLQ.
* ``ANY  /local/providers/<provider>/<path...>`` -> the fake provider APIs (see outbox.py).
* ``GET  /local/stack`` -> the local names/ids of the declared resources (for the AWS CLI).
* ``POST /local/inbound-email[?from=&to=a,b]`` (raw MIME body) -> SES receiving: the mail lands in
  S3 and its notification goes through the rule's topic to the inbound queue (inbound_email.py).
* ``POST /local/events`` (``{"source", "detail-type", "detail"}`` or a list) -> EventBridge
  ``PutEvents`` on the default bus, so declared rules route them (e.g. Amazon Connect events).
* ``GET|POST /local/clock`` (``{"advance_s": N}`` or ``{"offset_s": N}``) -> the handlers' clock
  (shared/adapters/clock.py): stand at tomorrow's visit, or at an invoice's due date.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from infra.local import inbound_email
from infra.local.gateway import HttpResponse, Request, json_response, message_response
from infra.local.outbox import Outbox, fake_provider_call
from infra.local.resources import LocalResources
from infra.local.scheduler import Scheduler
from shared.adapters import clock

_FIRE = re.compile(r"^/local/schedules/([^/]+)/fire$")
_PROVIDER = re.compile(r"^/local/providers/([^/]+)(/.*)?$")


class LocalApi:
    def __init__(
        self,
        *,
        resources: LocalResources,
        outbox: Outbox,
        scheduler: Scheduler,
        cognito: Any,
        sqs: Any,
        moto_endpoint: str,
        client: Any = None,
    ):
        self._resources = resources
        self._outbox = outbox
        self._scheduler = scheduler
        self._cognito = cognito
        self._sqs = sqs
        self._moto_endpoint = moto_endpoint
        self._client = client  # service name -> boto3 client on moto

    def __call__(self, request: Request) -> HttpResponse:
        path, method = request.raw_path, request.method
        m = _PROVIDER.match(path)
        if m:
            status, reply = fake_provider_call(
                self._outbox,
                provider=m.group(1),
                path=m.group(2) or "/",
                method=method,
                query=request.raw_query,
                headers=request.headers,
                body=request.body,
            )
            return json_response(status, reply)
        m = _FIRE.match(path)
        if m:
            return self._fire(m.group(1)) if method == "POST" else self._not_allowed("POST")
        if path == "/local/clock":
            return self._clock(request) if method in ("GET", "POST") else self._not_allowed("GET, POST")
        posts = {"/local/inbound-email": self._inbound_email, "/local/events": self._events}
        if path in posts:
            return posts[path](request) if method == "POST" else self._not_allowed("POST")
        routes = {
            "/local/token": self._token,
            "/local/outbox": self._outbox_items,
            "/local/queues": self._queues,
            "/local/stack": self._stack,
        }
        if path in routes:
            if method != "GET":
                return self._not_allowed("GET")
            return routes[path](request)
        return message_response(404, "Not Found")

    @staticmethod
    def _not_allowed(allowed: str) -> HttpResponse:
        return message_response(405, "Method Not Allowed", {"allow": allowed})

    def _token(self, request: Request) -> HttpResponse:
        role = (parse_qs(request.raw_query).get("role") or ["agent"])[0]
        found = self._resources.demo_user(role)
        if found is None:
            roles = [u.role for p in self._resources.user_pools.values() for u in p.users]
            return message_response(404, f"Unknown role {role!r}; one of: {', '.join(roles)}")
        pool, user = found
        result = self._cognito.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": user.password},
        )["AuthenticationResult"]
        return json_response(
            200,
            {
                "token": result["IdToken"],
                "accessToken": result["AccessToken"],
                "expiresIn": result["ExpiresIn"],
                "role": role,
                "username": user.username,
                "pool": pool.name,
            },
        )

    def _clock(self, request: Request) -> HttpResponse:
        if request.method == "POST":
            try:
                payload = json.loads(request.body or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError
                if "offset_s" in payload:
                    clock.travel(timedelta(seconds=float(payload["offset_s"])))
                else:
                    clock.travel(clock.offset() + timedelta(seconds=float(payload.get("advance_s", 0))))
            except (TypeError, ValueError, OverflowError):
                return message_response(400, 'Post {"advance_s": seconds} or {"offset_s": seconds}')
        now = clock.SystemClock().now()
        return json_response(200, {"now": now.isoformat(), "offset_s": clock.offset().total_seconds()})

    def _outbox_items(self, request: Request) -> HttpResponse:
        return json_response(200, self._outbox.items())

    def _fire(self, name: str) -> HttpResponse:
        found = self._scheduler.find(name)
        if found is None:
            return message_response(404, f"Unknown schedule {name!r}")
        schedule, spec = found
        invocation = self._scheduler.fire(schedule, spec)
        body = {
            "schedule": schedule.name,
            "function": spec.name,
            "requestId": invocation.request_id,
            "result": invocation.result,
            "error": invocation.error,
        }
        return json_response(200 if invocation.ok else 500, body)

    def _queues(self, request: Request) -> HttpResponse:
        names = (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
        counts: dict[str, Any] = {}
        for queue in self._resources.queues.values():
            for name, url in ((queue.name, queue.url), (queue.dlq_name, queue.dlq_url)):
                attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
                counts[name] = {
                    "url": url,
                    "visible": int(attrs.get(names[0], 0)),
                    "inFlight": int(attrs.get(names[1], 0)),
                    "delayed": int(attrs.get(names[2], 0)),
                }
        return json_response(200, counts)

    def _inbound_email(self, request: Request) -> HttpResponse:
        receipt = self._resources.email_receipt
        if receipt is None:
            return message_response(404, "No email receipt rule is declared (registry.EMAIL_RECEIPT)")
        if not request.body:
            return message_response(400, "Post the raw MIME message as the body")
        query = parse_qs(request.raw_query)
        recipients = [a.strip() for v in query.get("to", []) for a in v.split(",") if a.strip()]
        result = inbound_email.receive(
            request.body,
            receipt=receipt,
            s3=self._client("s3"),
            sns=self._client("sns"),
            envelope_from=(query.get("from") or [None])[0],
            recipients=recipients,
        )
        return json_response(202, result)

    def _events(self, request: Request) -> HttpResponse:
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return message_response(400, "The body must be JSON")
        events = payload if isinstance(payload, list) else [payload]
        if not events or not all(
            isinstance(e, dict) and e.get("source") and e.get("detail-type") for e in events
        ):
            return message_response(400, 'Each event needs "source" and "detail-type" (and a "detail")')
        entries = [
            {
                "Source": e["source"],
                "DetailType": e["detail-type"],
                "Detail": json.dumps(e.get("detail") or {}),
                **({"Resources": e["resources"]} if e.get("resources") else {}),
            }
            for e in events
        ]
        result = self._client("events").put_events(Entries=entries)
        return json_response(200, {"failed": result["FailedEntryCount"], "entries": result["Entries"]})

    def _stack(self, request: Request) -> HttpResponse:
        info = dataclasses.asdict(self._resources)
        for pool in info["user_pools"].values():
            for user in pool["users"]:
                user.pop("password", None)
        return json_response(200, {"awsEndpoint": self._moto_endpoint, **info})
