"""The gateway's pure functions against the documented API Gateway HTTP API payload 2.0.

No stack, no network: these run in milliseconds and pin the event shape handlers rely on.
"""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from infra.local.gateway import (
    MethodNotAllowed,
    RouteTable,
    build_http_event,
    combine_headers,
    is_text_content,
    map_response,
    query_parameters,
    request_time,
)
from infra.registry import FunctionSpec, Route

NOW = 1795707694.123  # 26/Nov/2026:15:41:34 +0000
SPEC = FunctionSpec(name="fn", handler="functions.fn.handler.handler", description="", settings="")


def _event(**overrides: object) -> dict:
    kwargs: dict = {
        "method": "POST",
        "raw_path": "/webhooks/form",
        "raw_query": "",
        "headers": [
            ("Content-Type", "application/json"),
            ("User-Agent", "curl/8"),
            ("Host", "127.0.0.1:3000"),
        ],
        "body": b'{"a": 1}',
        "source_ip": "127.0.0.1",
        "route_key": "POST /webhooks/form",
        "request_id": "JKJaXmPLvHcESHA=",
        "now": NOW,
        "domain_name": "127.0.0.1",
    }
    kwargs.update(overrides)
    return build_http_event(**kwargs)


def test_json_post_is_exactly_the_documented_shape() -> None:
    assert _event() == {
        "version": "2.0",
        "routeKey": "POST /webhooks/form",
        "rawPath": "/webhooks/form",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": "curl/8", "host": "127.0.0.1:3000"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": "POST",
                "path": "/webhooks/form",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "POST /webhooks/form",
            "stage": "$default",
            "time": "26/Nov/2026:15:41:34 +0000",
            "timeEpoch": 1795707694123,
        },
        "body": '{"a": 1}',
        "isBase64Encoded": False,
    }


def test_event_validates_against_powertools_v2_model() -> None:
    event = _event(
        method="GET",
        raw_path="/api/tickets/T1",
        raw_query="limit=5&tag=a&tag=b",
        headers=[("Cookie", "a=1; b=2"), ("Accept", "application/json")],
        body=b"",
        route_key="GET /api/tickets/{ticket_id}",
        path_parameters={"ticket_id": "T1"},
        authorizer={"claims": {"sub": "u1", "cognito:groups": "[agent]"}, "scopes": None},
    )
    model = APIGatewayProxyEventV2Model.model_validate(event)
    assert model.requestContext.authorizer is not None
    assert model.requestContext.authorizer.jwt.claims["cognito:groups"] == "[agent]"
    wrapped = APIGatewayProxyEventV2(event)
    assert wrapped.path_parameters == {"ticket_id": "T1"}
    assert wrapped.cookies == ["a=1", "b=2"]
    assert wrapped.get_query_string_value("tag") == "a,b"


def test_optional_keys_are_absent_when_empty() -> None:
    event = _event(method="GET", body=b"", headers=[])
    for key in ("cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"):
        assert key not in event
    assert "authorizer" not in event["requestContext"]
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["userAgent"] == ""


def test_headers_lowercased_and_duplicates_comma_joined() -> None:
    headers, cookies = combine_headers(
        [
            ("X-Multi", "a"),
            ("x-multi", "b"),
            ("Accept", "text/html"),
            ("Cookie", "s=1; t=2"),
            ("Cookie", "u=3"),
        ]
    )
    assert headers == {"x-multi": "a,b", "accept": "text/html"}
    assert cookies == ["s=1", "t=2", "u=3"]


def test_query_values_decoded_and_duplicates_comma_joined() -> None:
    assert query_parameters("a=1&a=2&b=%C3%A9t%C3%A9&c=&d=x+y") == {
        "a": "1,2",
        "b": "été",
        "c": "",
        "d": "x y",
    }
    event = _event(raw_query="a=1&a=2")
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/xml", True),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/octet-stream", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_which_bodies_are_base64(content_type: str | None, text: bool) -> None:
    assert is_text_content(content_type) is text


def test_form_body_is_base64_of_the_raw_bytes() -> None:
    raw = b"name=Am%C3%A9lie&consent=on"
    event = _event(headers=[("Content-Type", "application/x-www-form-urlencoded")], body=raw)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_binary_body_survives() -> None:
    raw = bytes(range(256))
    event = _event(headers=[("Content-Type", "application/octet-stream")], body=raw)
    assert base64.b64decode(event["body"]) == raw


def test_authorizer_context_is_under_jwt() -> None:
    claims = {"sub": "abc", "cognito:groups": "[agent supervisor]", "exp": "1795711294"}
    event = _event(authorizer={"claims": claims, "scopes": None})
    assert event["requestContext"]["authorizer"] == {"jwt": {"claims": claims, "scopes": None}}


def test_request_time_format() -> None:
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"


# ------------------------------------------------------------------ routing
ROUTES = RouteTable(
    [
        (Route("GET", "/api/tickets"), SPEC),
        (Route("GET", "/api/tickets/{ticket_id}"), SPEC),
        (Route("POST", "/api/tickets/{ticket_id}/replies"), SPEC),
        (Route("GET", "/api/tickets/mine"), SPEC),
        (Route("ANY", "/files/{key+}"), SPEC),
    ]
)


def test_exact_route_and_path_parameters() -> None:
    found = ROUTES.match("GET", "/api/tickets/T%231")
    assert not isinstance(found, MethodNotAllowed) and found is not None
    assert found.compiled.route_key == "GET /api/tickets/{ticket_id}"
    assert found.path_parameters == {"ticket_id": "T#1"}


def test_literal_segment_beats_a_parameter() -> None:
    found = ROUTES.match("GET", "/api/tickets/mine")
    assert not isinstance(found, MethodNotAllowed) and found is not None
    assert found.compiled.route.path == "/api/tickets/mine"
    assert found.path_parameters == {}


def test_greedy_parameter_and_any_method() -> None:
    found = ROUTES.match("DELETE", "/files/a/b/c.txt")
    assert not isinstance(found, MethodNotAllowed) and found is not None
    assert found.path_parameters == {"key": "a/b/c.txt"}


def test_wrong_method_lists_the_allowed_ones() -> None:
    assert ROUTES.match("DELETE", "/api/tickets") == MethodNotAllowed(("GET",))
    assert ROUTES.match("GET", "/api/tickets/T1/replies") == MethodNotAllowed(("POST",))


def test_no_match() -> None:
    assert ROUTES.match("GET", "/api/ticket") is None
    assert ROUTES.match("GET", "/api/tickets/") is None


# ------------------------------------------------------------------ responses
def test_result_without_status_code_is_200_json() -> None:
    response = map_response({"items": []})
    assert (response.status, response.body) == (200, b'{"items": []}')
    assert ("content-type", "application/json") in response.headers
    assert map_response("hello").body == b'"hello"'
    assert map_response(None).body == b"null"


def test_full_response_mapping() -> None:
    response = map_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Count": 3, "X-Flag": True},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "created",
        }
    )
    assert response.status == 201
    assert response.body == b"created"
    assert response.headers == [
        ("Content-Type", "text/plain"),
        ("X-Count", "3"),
        ("X-Flag", "true"),
        ("X-Multi", "a"),
        ("X-Multi", "b"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2"),
    ]


def test_base64_response_body_is_decoded() -> None:
    raw = bytes(range(10))
    response = map_response(
        {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    )
    assert response.body == raw


def test_missing_body_and_malformed_status() -> None:
    assert map_response({"statusCode": 204}).body == b""
    broken = map_response({"statusCode": "nope"})
    assert broken.status == 500
    assert json.loads(broken.body) == {"message": "Internal Server Error"}
