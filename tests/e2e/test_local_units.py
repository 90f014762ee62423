"""The local stack's other pure pieces: authorizer, scheduler, SQS event, dispatcher, resources,
outbox. No stack, no network."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel
from cryptography.hazmat.primitives.asymmetric import rsa

from infra import registry
from infra.local.authorizer import JwtAuthorizer, Unauthorized, check_claims, extract_token, render_claims
from infra.local.dispatcher import Dispatcher, function_name_from
from infra.local.inbound_email import received_notification, ses_message_id
from infra.local.outbox import (
    StampedDict,
    StampedList,
    parse_body,
    provider_base_url_overrides,
    provider_reply,
    safe_headers,
)
from infra.local.poller import QueuePoller, failed_ids, sqs_event
from infra.local.resources import (
    EmailReceipt,
    LocalResources,
    LocalStackError,
    QueueInfo,
    camel,
    function_environment,
    merged_environment,
    secret_value,
    substitute,
)
from infra.local.scheduler import Cron, Rate, ScheduleError, Scheduler, parse_expression, scheduled_event
from infra.registry import FunctionSpec, Ref, Schedule

ISSUER = "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_pool"
CLIENT = "client123"


# ------------------------------------------------------------------ authorizer
@pytest.fixture(scope="module")
def signing() -> tuple[Any, JwtAuthorizer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = jwt.PyJWKSet.from_dict({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    return key, JwtAuthorizer(issuer=ISSUER, audiences=(CLIENT,), jwks=jwks)


def _token(key: Any, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_valid_token_gives_rendered_claims(signing: tuple[Any, JwtAuthorizer]) -> None:
    key, authorizer = signing
    token = _token(key, **{"cognito:groups": ["agent", "supervisor"], "email_verified": True})
    context = authorizer.authorize(f"Bearer {token}")
    assert context["claims"]["cognito:groups"] == "[agent supervisor]"
    assert context["claims"]["email_verified"] == "true"
    assert context["claims"]["exp"].isdigit()
    assert context["scopes"] is None


def test_access_token_scopes_and_client_id(signing: tuple[Any, JwtAuthorizer]) -> None:
    key, authorizer = signing
    token = _token(key, aud=None, client_id=CLIENT, scope="a b")
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["aud"] is None  # present but null: not our audience
    with pytest.raises(Unauthorized, match="audience"):
        authorizer.authorize(token)
    now = int(time.time())
    body = {"iss": ISSUER, "client_id": CLIENT, "iat": now, "exp": now + 60, "scope": "a b"}
    token = jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})
    assert authorizer.authorize(token)["scopes"] == ["a", "b"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://elsewhere"}, "issuer"),
        ({"aud": "other-client"}, "audience"),
        ({"exp": 1}, "expired"),
        ({"nbf": 4_000_000_000}, "not valid yet"),
        ({"iat": 4_000_000_000}, "future"),
    ],
)
def test_invalid_claims_are_refused(signing: tuple[Any, JwtAuthorizer], claims: dict, reason: str) -> None:
    key, authorizer = signing
    with pytest.raises(Unauthorized, match=reason):
        authorizer.authorize(_token(key, **claims))


def test_unknown_kid_and_bad_signature(signing: tuple[Any, JwtAuthorizer]) -> None:
    key, authorizer = signing
    with pytest.raises(Unauthorized, match="kid"):
        authorizer.authorize(_token(key, kid="other"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized, match="signature"):
        authorizer.authorize(_token(other))


@pytest.mark.parametrize("value", [None, "", "  ", "Bearer", "Bearer  "])
def test_missing_token(value: str | None) -> None:
    with pytest.raises(Unauthorized, match="missing"):
        extract_token(value)


def test_bearer_prefix_is_optional_and_case_insensitive() -> None:
    assert extract_token("Bearer abc") == extract_token("bearer abc") == extract_token("abc") == "abc"


def test_aud_list_and_client_id_fallback() -> None:
    now = time.time()
    check_claims({"iss": ISSUER, "aud": ["x", CLIENT], "exp": now + 5}, issuer=ISSUER, audiences=(CLIENT,))
    check_claims({"iss": ISSUER, "client_id": CLIENT, "exp": now + 5}, issuer=ISSUER, audiences=(CLIENT,))
    with pytest.raises(Unauthorized):  # aud present and wrong: client_id is not consulted
        check_claims(
            {"iss": ISSUER, "aud": "x", "client_id": CLIENT, "exp": now + 5},
            issuer=ISSUER,
            audiences=(CLIENT,),
        )


def test_render_claims() -> None:
    assert render_claims({"a": ["x"], "b": 1.0, "c": 2, "d": False, "e": {"k": 1}, "f": []}) == {
        "a": "[x]",
        "b": "1",
        "c": "2",
        "d": "false",
        "e": '{"k":1}',
        "f": "[]",
    }


# ------------------------------------------------------------------ scheduler
def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate(expression: str, seconds: int) -> None:
    rate = parse_expression(expression)
    assert isinstance(rate, Rate)
    assert rate.period.total_seconds() == seconds


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 7 * * ? *)", "2026-11-25T06:59:30", "2026-11-25T07:00:00"),
        ("cron(0 7 * * ? *)", "2026-11-25T07:00:00", "2026-11-26T07:00:00"),
        ("cron(0/15 * * * ? *)", "2026-11-25T10:16:00", "2026-11-25T10:30:00"),
        ("cron(30 9 ? * MON-FRI *)", "2026-11-27T10:00:00", "2026-11-30T09:30:00"),  # Fri -> Mon
        ("cron(0 8 1 * ? *)", "2026-11-25T00:00:00", "2026-12-01T08:00:00"),
        ("cron(0 0 ? * 1 *)", "2026-11-25T00:00:00", "2026-11-29T00:00:00"),  # 1 = Sunday
        ("cron(15 10 ? JAN,JUL 2 2027)", "2026-11-25T00:00:00", "2027-01-04T10:15:00"),
    ],
)
def test_cron_next(expression: str, after: str, expected: str) -> None:
    cron = parse_expression(expression)
    assert isinstance(cron, Cron)
    assert cron.next_after(_at(after)) == _at(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "cron(0 7 * * * *)",  # neither day field is ?
        "cron(0 7 ? * ? *)",  # both are
        "cron(0 7 L * ? *)",
        "cron(0 7 * *)",
        "cron(61 7 * * ? *)",
        "every 5 minutes",
    ],
)
def test_bad_expressions_fail_loudly(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_expression(expression)


def test_registry_schedules_all_parse() -> None:
    for schedule, _ in registry.all_schedules():
        parse_expression(schedule.expression)


def test_scheduled_event_shape() -> None:
    event = scheduled_event(
        Schedule("nightly", "cron(0 2 * * ? *)", ""),
        region="eu-west-3",
        account_id="1",
        now=_at("2026-11-25T02:00:00"),
    )
    model = EventBridgeModel.model_validate(event)
    assert model.detail_type == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-11-25T02:00:00Z"
    assert event["resources"] == ["arn:aws:events:eu-west-3:1:rule/nightly"]


def test_scheduler_fires_due_schedules_and_stops() -> None:
    spec = FunctionSpec(name="job", handler="m.h", description="", settings="")
    calls: list[dict] = []
    fired = threading.Event()

    def invoke(name: str, event: dict) -> Any:
        calls.append(event)
        fired.set()
        return SimpleNamespace(ok=True, error=None, duration_ms=1.0)

    now = {"t": _at("2026-11-25T10:00:00")}
    stop = threading.Event()
    scheduler = Scheduler(
        [(Schedule("tick", "rate(1 minute)", ""), spec)],
        invoke=invoke,
        region="eu-west-3",
        account_id="1",
        stop=stop,
        clock=lambda: now["t"],
    )
    assert scheduler.find("tick") is not None and scheduler.find("nope") is None
    scheduler.start()
    time.sleep(0.1)
    assert not fired.is_set()  # the first run is one period after start
    now["t"] = _at("2026-11-25T10:01:00")
    assert fired.wait(5)
    stop.set()
    scheduler.join(5)
    assert not scheduler.is_alive()
    assert len(calls) == 1
    assert calls[0]["detail-type"] == "Scheduled Event"
    assert calls[0]["time"] == "2026-11-25T10:01:00Z"


# ------------------------------------------------------------------ poller
MESSAGE = {
    "MessageId": "m1",
    "ReceiptHandle": "rh1",
    "MD5OfBody": "49f68a5c8493ec2c0bf489821c21fc3b",
    "Body": "hi",
    "Attributes": {
        "SenderId": "AIDA",
        "SentTimestamp": "1795621770521",
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": "1795621770526",
    },
    "MD5OfMessageAttributes": "a18cbb58171ebf4ce88d9fb787f9210b",
    "MessageAttributes": {
        "kind": {"StringValue": "form", "DataType": "String"},
        "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
    },
}
QUEUE_ARN = "arn:aws:sqs:eu-west-3:123456789012:inbound"


def test_sqs_event_matches_lambda_record_shape() -> None:
    event = sqs_event([MESSAGE], QUEUE_ARN, "eu-west-3")
    SqsModel.model_validate(event)
    record = event["Records"][0]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh1",
        "body": "hi",
        "attributes": MESSAGE["Attributes"],
        "messageAttributes": {
            "kind": {
                "stringValue": "form",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "blob": {
                "binaryValue": "AAE=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "49f68a5c8493ec2c0bf489821c21fc3b",
        "md5OfMessageAttributes": "a18cbb58171ebf4ce88d9fb787f9210b",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-3",
    }


@pytest.mark.parametrize(
    ("ok", "result", "failed"),
    [
        (True, None, set()),
        (True, {"batchItemFailures": []}, set()),
        (True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        (True, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),  # unknown id: all
        (True, {"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        (False, None, {"a", "b"}),  # crash: the whole batch
    ],
)
def test_partial_batch_failure_rules(ok: bool, result: Any, failed: set[str]) -> None:
    assert failed_ids(ok, result, ["a", "b"]) == failed


class FakeSqs:
    def __init__(self, messages: list[dict]):
        self.messages = messages
        self.deleted: list[str] = []
        self.retried: list[tuple[str, int]] = []

    def receive_message(self, **kwargs: Any) -> dict:
        assert kwargs["AttributeNames"] == ["All"]
        out, self.messages = self.messages, []
        return {"Messages": out}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict]) -> None:
        self.deleted += [e["ReceiptHandle"] for e in Entries]

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict]) -> None:
        self.retried += [(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in Entries]


def test_poller_deletes_successes_and_retries_failures_fast() -> None:
    second = {**MESSAGE, "MessageId": "m2", "ReceiptHandle": "rh2"}
    sqs = FakeSqs([MESSAGE, second])
    spec = FunctionSpec(name="proc", handler="m.h", description="", settings="", consumes="inbound")
    queue = QueueInfo("inbound", "url", QUEUE_ARN, "inbound-dlq", "dlq-url", "dlq-arn")

    def invoke(name: str, event: dict) -> Any:
        assert len(event["Records"]) == 2
        return SimpleNamespace(ok=True, result={"batchItemFailures": [{"itemIdentifier": "m2"}]})

    poller = QueuePoller(spec, queue, sqs=sqs, invoke=invoke, region="eu-west-3", stop=threading.Event())
    assert poller.poll_once() == 2
    assert sqs.deleted == ["rh1"]
    assert sqs.retried == [("rh2", 1)]


# ------------------------------------------------------------------ dispatcher
class Boom(Exception):
    pass


def _module(**handlers: Any) -> Any:
    return SimpleNamespace(**handlers)


def _dispatcher(handler: Any) -> Dispatcher:
    spec = FunctionSpec(name="fn", handler="pkg.fn.handler", description="", settings="", timeout_s=3)
    return Dispatcher(
        [spec], region="eu-west-3", account_id="1", importer=lambda name: _module(handler=handler)
    )


def test_dispatcher_passes_a_json_copy_and_a_lambda_context() -> None:
    seen: dict[str, Any] = {}

    def handler(event: dict, context: Any) -> dict:
        seen["context"] = context
        event["mutated"] = True
        return {"ok": True, "when": "now"}

    original = {"a": 1}
    invocation = _dispatcher(handler).invoke("fn", original)
    assert invocation.ok and invocation.result == {"ok": True, "when": "now"}
    assert original == {"a": 1}
    context = seen["context"]
    assert context.function_name == "fn"
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-3:1:function:fn"
    assert context.memory_limit_in_mb == 256
    assert 0 < context.get_remaining_time_in_millis() <= 3000
    assert context.aws_request_id == invocation.request_id


def test_dispatcher_error_document() -> None:
    def handler(event: dict, context: Any) -> None:
        raise Boom("no stock")

    invocation = _dispatcher(handler).invoke("arn:aws:lambda:eu-west-3:1:function:fn:$LATEST", {})
    assert not invocation.ok
    assert invocation.error is not None
    assert invocation.error["errorType"] == "Boom"
    assert invocation.error["errorMessage"] == "no stock"
    assert "dispatcher.py" not in "".join(invocation.error["stackTrace"])
    assert "raise Boom" in "".join(invocation.error["stackTrace"])


def test_dispatcher_unserializable_result_is_a_marshal_error() -> None:
    invocation = _dispatcher(lambda e, c: {"when": datetime.now(UTC)}).invoke("fn", {})
    assert invocation.error is not None and invocation.error["errorType"] == "Runtime.MarshalError"


def test_dispatcher_import_error_is_retried_next_time() -> None:
    attempts = {"n": 0}

    def importer(name: str) -> Any:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return _module(handler=lambda e, c: "ok")

    spec = FunctionSpec(name="fn", handler="pkg.fn.handler", description="", settings="")
    dispatcher = Dispatcher([spec], region="r", account_id="1", importer=importer)
    first = dispatcher.invoke("fn", {})
    assert first.error is not None and first.error["errorType"] == "Runtime.ImportModuleError"
    assert dispatcher.invoke("fn", {}).result == "ok"


def test_moto_invoke_reports_unhandled_errors() -> None:
    def handler(event: dict, context: Any) -> None:
        raise Boom("nope")

    headers: dict[str, str] = {}
    payload = _dispatcher(handler).moto_invoke(None, "fn", None, b"{}", {}, headers)
    assert headers["x-amz-function-error"] == "Unhandled"
    assert json.loads(payload)["errorType"] == "Boom"
    assert headers["Content-Length"] == str(len(payload))
    ok_headers: dict[str, str] = {}
    assert json.loads(
        _dispatcher(lambda e, c: e).moto_invoke(None, "fn", None, '{"x":1}', {}, ok_headers)
    ) == {"x": 1}
    assert "x-amz-function-error" not in ok_headers


def test_moto_invoke_unknown_function() -> None:
    from moto.awslambda.exceptions import UnknownFunctionException

    with pytest.raises(UnknownFunctionException):
        _dispatcher(lambda e, c: None).moto_invoke(None, "other", None, b"{}", {}, {})


@pytest.mark.parametrize(
    "value",
    [
        "fn",
        "fn:$LATEST",
        "arn:aws:lambda:eu-west-3:1:function:fn",
        "arn:aws:lambda:eu-west-3:1:function:fn:prod",
    ],
)
def test_function_name_from(value: str) -> None:
    assert function_name_from(value) == "fn"


# ------------------------------------------------------------------ resources
def _resources() -> LocalResources:
    res = LocalResources(region="eu-west-3", account_id="1", table_name="guichet", table_arn="arn:t")
    res.queues["inbound"] = QueueInfo("inbound", "http://q/inbound", "arn:q", "inbound-dlq", "u", "a")
    res.functions["inbound_processor"] = "arn:aws:lambda:eu-west-3:1:function:inbound_processor"
    res.topics["ops-alarms"] = "arn:aws:sns:eu-west-3:1:guichet-ops-alarms"
    return res


def test_refs_resolve_to_local_values() -> None:
    res = _resources()
    assert res.resolve(Ref("table", "name")) == "guichet"
    assert res.resolve(Ref("queue:inbound", "url")) == "http://q/inbound"
    assert res.resolve(Ref("topic:ops-alarms", "arn")).endswith(":guichet-ops-alarms")
    with pytest.raises(LocalStackError):
        res.resolve(Ref("queue:nope", "url"))
    with pytest.raises(LocalStackError):
        res.resolve(Ref("table", "colour"))


def test_every_declared_function_environment_resolves() -> None:
    """Each Ref the registry uses has a local resolution (fails here before `make dev` does)."""
    res = _resources()
    res.api_url = "http://127.0.0.1:3000"
    for q in registry.QUEUES:
        res.queues[q.name] = QueueInfo(q.name, f"http://q/{q.name}", f"arn:{q.name}", "d", "du", "da")
    for b in registry.BUCKETS:
        res.buckets[b.name] = f"guichet-{b.name}"
    for sec in registry.SECRETS:
        res.secrets[sec.name] = {"name": f"guichet/{sec.name}", "arn": f"arn:secret:{sec.name}"}
    for t in registry.TOPICS:
        res.topics[t.name] = f"arn:aws:sns:eu-west-3:1:guichet-{t.name}"
    for f in registry.FUNCTIONS:
        res.functions[f.name] = f"arn:aws:lambda:eu-west-3:1:function:{f.name}"
    kinds = {
        v.resource.split(":")[0] for f in registry.FUNCTIONS for v in f.env.values() if isinstance(v, Ref)
    }
    if kinds & {"userpool", "statemachine"}:
        pytest.skip(f"needs a provisioned stack for {kinds}: covered by the e2e startup")
    merged = merged_environment(registry.FUNCTIONS, res)
    for spec in registry.FUNCTIONS:
        env = function_environment(spec, res)
        assert set(registry.COMMON_ENV) <= set(env)
        assert all(merged[name] == value for name, value in env.items())


def test_conflicting_environments_fail_startup() -> None:
    res = _resources()
    a = FunctionSpec(name="a", handler="m.h", description="", settings="", env={"X": Ref("table", "name")})
    b = FunctionSpec(name="b", handler="m.h", description="", settings="", env={"X": "other"})
    with pytest.raises(LocalStackError, match="X"):
        merged_environment([a, b], res)
    assert merged_environment([a, a], res)["X"] == "guichet"


def test_substitutions() -> None:
    subs = _resources().substitutions()
    assert subs["InboundProcessorFunctionArn"].endswith(":function:inbound_processor")
    assert subs["InboundQueueUrl"] == "http://q/inbound"
    assert subs["OpsAlarmsTopicArn"].endswith("guichet-ops-alarms")
    assert substitute('{"R": "${TableName}"}', subs) == '{"R": "guichet"}'
    with pytest.raises(LocalStackError, match=r"\$\{Nope\}"):
        substitute("${Nope} ${TableName}", subs, source="x.asl.json")


def test_camel() -> None:
    assert camel("inbound_processor") == "InboundProcessor"
    assert camel("ops-alarms") == "OpsAlarms"


def test_secret_values_environment_wins() -> None:
    spec = registry.SecretSpec(name="s", description="", keys={"k": ("K_ENV", "dflt"), "j": ("J_ENV", "d2")})
    assert secret_value(spec, {"K_ENV": "from-env"}) == {"k": "from-env", "j": "d2"}


# ------------------------------------------------------------------ outbox
def test_stamped_containers_keep_order_and_time() -> None:
    items = StampedList(["old"])
    items.append("new")
    assert list(items) == ["old", "new"] and len(items.stamps) == 2
    assert items.stamps[0] <= items.stamps[1]
    sms = StampedDict()
    sms["id1"] = ("+33", "hi")
    assert "id1" in sms.stamps and sms["id1"] == ("+33", "hi")


def test_parse_body_and_headers() -> None:
    assert parse_body("application/json", b'{"a":1}') == {"a": 1}
    assert parse_body("application/x-www-form-urlencoded", b"To=%2B336&Body=a&Body=b") == {
        "To": "+336",
        "Body": ["a", "b"],
    }
    assert parse_body("text/plain", b"hi") == "hi"
    assert parse_body(None, b"") is None
    assert safe_headers([("Authorization", "Basic x"), ("X-Twilio-Signature", "s"), ("Accept", "*/*")]) == {
        "x-twilio-signature": "s",
        "accept": "*/*",
    }


def test_provider_replies() -> None:
    status, body = provider_reply(
        "twilio", "/2010-04-01/Accounts/AC1/Messages.json", {"To": "+33", "Body": "x"}
    )
    assert status == 201 and body["sid"].startswith("SM") and body["account_sid"] == "AC1"
    status, body = provider_reply(
        "meta", "/v21.0/123/messages", {"messaging_product": "whatsapp", "to": "33"}
    )
    assert body["messages"][0]["id"].startswith("wamid.") and body["contacts"][0]["wa_id"] == "33"
    status, body = provider_reply("meta", "/v21.0/me/messages", {"recipient": {"id": "psid"}})
    assert body["recipient_id"] == "psid"


def test_provider_base_urls_are_rewritten_to_the_fakes() -> None:
    overrides = provider_base_url_overrides(
        {
            "TWILIO_API_BASE_URL": "https://api.twilio.com",
            "META_GRAPH_URL": "https://graph.facebook.com/v21.0/",
            "OTHER": "https://example.com",
            "TABLE_NAME": "guichet",
        },
        "http://127.0.0.1:3000/local/providers",
    )
    assert overrides == {
        "TWILIO_API_BASE_URL": "http://127.0.0.1:3000/local/providers/twilio",
        "META_GRAPH_URL": "http://127.0.0.1:3000/local/providers/meta/v21.0",
    }


# ------------------------------------------------------------------ inbound email
RAW_MAIL = (
    b"Return-Path: <bounce@example.org>\r\n"
    b"From: Marie Dupont <marie@example.org>\r\n"
    b"To: support+t1@guichet.local, Other <other@guichet.local>\r\n"
    b"Cc: cc@example.org\r\n"
    b"Subject: Re: [#K7M3Q9XA] Colis\r\n"
    b"Date: Tue, 25 Nov 2026 10:00:00 +0100\r\n"
    b"Message-ID: <m1@example.org>\r\n"
    b"In-Reply-To: <t1.0@guichet.local>\r\n"
    b"\r\n"
    b"Bonjour\r\n"
)
RECEIPT = EmailReceipt(
    "rs", "rule", "bucket", "inbound-mail/", "arn:aws:sns:eu-west-3:1:guichet-inbound-email"
)


def test_received_notification_shape() -> None:
    note = received_notification(RAW_MAIL, message_id="abc", receipt=RECEIPT, now=_at("2026-11-25T09:00:00"))
    assert note["notificationType"] == "Received"
    mail = note["mail"]
    assert mail["timestamp"] == "2026-11-25T09:00:00.000Z"
    assert mail["source"] == "bounce@example.org"
    assert mail["destination"] == ["support+t1@guichet.local", "other@guichet.local", "cc@example.org"]
    assert {"name": "In-Reply-To", "value": "<t1.0@guichet.local>"} in mail["headers"]
    assert mail["commonHeaders"] == {
        "returnPath": "bounce@example.org",
        "from": ["Marie Dupont <marie@example.org>"],
        "date": "Tue, 25 Nov 2026 10:00:00 +0100",
        "to": ["support+t1@guichet.local, Other <other@guichet.local>"],
        "cc": ["cc@example.org"],
        "messageId": "<m1@example.org>",
        "subject": "Re: [#K7M3Q9XA] Colis",
    }
    assert note["receipt"]["action"]["objectKey"] == "inbound-mail/abc"
    assert note["receipt"]["spamVerdict"] == {"status": "PASS"}
    assert "content" not in note


def test_envelope_overrides_headers() -> None:
    note = received_notification(
        RAW_MAIL,
        message_id="abc",
        receipt=RECEIPT,
        envelope_from="srs@relay.example",
        recipients=["x@guichet.local"],
    )
    assert note["mail"]["source"] == "srs@relay.example"
    assert note["mail"]["destination"] == note["receipt"]["recipients"] == ["x@guichet.local"]


def test_ses_message_ids() -> None:
    first, second = ses_message_id(), ses_message_id()
    assert len(first) == 40 and first.isalnum() and first.islower() and first != second
