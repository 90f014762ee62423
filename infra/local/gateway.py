"""The local API Gateway (HTTP API, payload format 2.0) in front of the registry's routes.

Handlers are written against the event API Gateway sends and the response it expects, so the
gateway's job is fidelity: the event built here is the documented v2.0 shape (lower-cased headers,
duplicates comma-joined, ``cookies`` split out of the Cookie header, query values decoded and
comma-joined, ``isBase64Encoded`` for non-text bodies, ``requestContext.authorizer.jwt`` on
authorized routes), and the response mapping applies API Gateway's rules (a result without
``statusCode`` is a 200 JSON body; ``cookies`` become ``set-cookie``; an invocation error is
``500 {"message":"Internal Server Error"}``).

The event building, route matching and response mapping are pure functions (unit-tested in
tests/e2e/test_gateway_events.py); :class:`GatewayServer` only moves bytes. Paths under
``/local/`` never reach the route table: they are the local stack's own tools (local_api.py).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local.authorizer import Unauthorized, unauthorized_headers
from infra.local.log import log
from infra.registry import FunctionSpec, Route

LOCAL_PREFIX = "/local/"
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|[\w.+-]+\+json|[\w.+-]+\+xml))$", re.IGNORECASE
)
_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")


# ------------------------------------------------------------------ routes
@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    spec: FunctionSpec
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    specificity: tuple[int, int, int]

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def compile_route(route: Route, spec: FunctionSpec) -> CompiledRoute:
    """``/api/tickets/{ticket_id}`` -> a regex; ``{name+}`` is greedy (API Gateway's proxy)."""
    parts, params, greedy = [], [], 0
    for segment in route.path.strip("/").split("/") if route.path != "/" else []:
        m = _PARAM.match(segment)
        if m:
            params.append(m.group(1))
            if m.group(2):
                greedy += 1
                parts.append(f"(?P<p{len(params) - 1}>.+)")
            else:
                parts.append(f"(?P<p{len(params) - 1}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    pattern = re.compile("^/" + "/".join(parts) + "$")
    segments = len(parts)
    # Most specific first: fewer greedy params, then fewer params, then more segments.
    return CompiledRoute(route, spec, pattern, tuple(params), (greedy, len(params), -segments))


@dataclass(frozen=True)
class Match:
    compiled: CompiledRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: tuple[str, ...]


class RouteTable:
    def __init__(self, routes: Iterable[tuple[Route, FunctionSpec]]):
        self.routes = sorted((compile_route(r, s) for r, s in routes), key=lambda c: c.specificity)

    def match(self, method: str, path: str) -> Match | MethodNotAllowed | None:
        allowed: list[str] = []
        for compiled in self.routes:
            m = compiled.pattern.match(path)
            if not m:
                continue
            if compiled.route.method in (method, "ANY"):
                values = {name: unquote(m.group(f"p{i}")) for i, name in enumerate(compiled.params)}
                return Match(compiled, values)
            allowed.append(compiled.route.method)
        return MethodNotAllowed(tuple(dict.fromkeys(allowed))) if allowed else None


# ------------------------------------------------------------------ event
def is_text_content(content_type: str | None) -> bool:
    """API Gateway passes text/*, JSON and XML bodies as text; anything else is base64."""
    if not content_type:
        return False
    return bool(_TEXT_TYPES.match(content_type.split(";", 1)[0].strip()))


def combine_headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Lower-cased names, duplicates comma-joined; Cookie headers become the ``cookies`` list."""
    combined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        combined[key] = f"{combined[key]},{value}" if key in combined else value
    return combined, cookies


def query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def request_time(now: float) -> str:
    """``12/Mar/2020:19:03:58 +0000`` (requestContext.time)."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def new_request_id() -> str:
    """API Gateway's request ids look like ``Mc7UVioPPHcEKPA=``."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    account_id: str = "123456789012",
    api_id: str = "local",
    domain_name: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event. Optional keys are absent when empty."""
    now = time.time() if now is None else now
    request_id = request_id or new_request_id()
    header_map, cookies = combine_headers(headers)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = header_map
    if raw_query:
        event["queryStringParameters"] = query_parameters(raw_query)
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
    }
    if authorizer is not None:
        context["authorizer"] = {
            "jwt": {"claims": dict(authorizer["claims"]), "scopes": authorizer["scopes"]}
        }
    context.update(
        {
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": header_map.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": round(now * 1000),
        }
    )
    event["requestContext"] = context
    if body:
        if is_text_content(header_map.get("content-type")):
            event["body"] = body.decode("utf-8", errors="replace")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def forwarded_headers(source_ip: str, port: int, proto: str = "http") -> list[tuple[str, str]]:
    """Headers API Gateway adds in front of the client's."""
    trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return [
        ("x-amzn-trace-id", trace),
        ("x-forwarded-for", source_ip),
        ("x-forwarded-port", str(port)),
        ("x-forwarded-proto", proto),
    ]


# ------------------------------------------------------------------ response
@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    response = HttpResponse(status, [("content-type", "application/json")], body)
    response.headers += list((headers or {}).items())
    return response


def message_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """API Gateway's own error responses: ``{"message":"..."}`` (compact, as API Gateway writes it)."""
    return json_response(status, {"message": message}, headers)


def map_response(result: Any) -> HttpResponse:
    """A Lambda result -> the HTTP response API Gateway (payload 2.0) sends back.

    With ``statusCode``: status, ``headers``, ``multiValueHeaders`` (tolerated), ``cookies``
    (one ``set-cookie`` each), ``body`` (base64-decoded when ``isBase64Encoded``).
    Without: the whole result is a 200 ``application/json`` body.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        log(f"malformed Lambda response: statusCode {result.get('statusCode')!r}")
        return message_response(500, "Internal Server Error")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((name, _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, _header_value(v)) for v in values or []]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        log("Lambda response body is not a string; API Gateway expects one (serialized as JSON here)")
        raw = json.dumps(body).encode()
    elif result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
    else:
        raw = body.encode()
    return HttpResponse(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------ server
@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


Invoke = Callable[[str, dict[str, Any]], Any]  # (function name, event) -> dispatcher.Invocation
Authorize = Callable[[str, str | None], dict[str, Any]]  # (route auth, Authorization) -> jwt ctx
LocalHandler = Callable[[Request], HttpResponse]


class Gateway:
    """Routing, authorization and invocation for one request (no sockets: testable)."""

    def __init__(
        self,
        routes: RouteTable,
        *,
        invoke: Invoke,
        authorize: Authorize,
        local: LocalHandler,
        account_id: str,
        port: int,
    ):
        self.routes = routes
        self._invoke = invoke
        self._authorize = authorize
        self._local = local
        self._account_id = account_id
        self._port = port

    def handle(self, request: Request) -> tuple[HttpResponse, str]:
        """The response, and a short label for the access log (function name or "-")."""
        if request.raw_path.startswith(LOCAL_PREFIX):
            return self._local(request), "local"
        found = self.routes.match(request.method, request.raw_path)
        if found is None:
            return message_response(404, "Not Found"), "-"
        if isinstance(found, MethodNotAllowed):
            return message_response(405, "Method Not Allowed", {"allow": ", ".join(found.allowed)}), "-"
        compiled = found.compiled
        request_id = new_request_id()
        authorizer = None
        if compiled.route.auth != "none":
            try:
                authorizer = self._authorize(compiled.route.auth, request.header("authorization"))
            except Unauthorized as exc:
                headers = {**unauthorized_headers(str(exc)), "apigw-requestid": request_id}
                return message_response(401, "Unauthorized", headers), compiled.spec.name
        host = (request.header("host") or "127.0.0.1").split(":", 1)[0]
        event = build_http_event(
            method=request.method,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=[*request.headers, *forwarded_headers(request.source_ip, self._port)],
            body=request.body,
            source_ip=request.source_ip,
            route_key=compiled.route_key,
            path_parameters=found.path_parameters,
            authorizer=authorizer,
            account_id=self._account_id,
            domain_name=host,
            request_id=request_id,
        )
        invocation = self._invoke(compiled.spec.name, event)
        if not invocation.ok:
            response = message_response(500, "Internal Server Error")
        else:
            response = map_response(invocation.result)
        response.headers.append(("apigw-requestid", request_id))
        return response, compiled.spec.name


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def _serve(self) -> None:
        started = time.perf_counter()
        target = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self._write(message_response(400, "Bad Request"))
            return
        request = Request(
            method=self.command,
            raw_path=target.path or "/",
            raw_query=target.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response, label = self.server.gateway.handle(request)
        except Exception as exc:  # the local stack's own bug: say so, keep serving
            log(f"gateway error on {request.method} {request.raw_path}: {type(exc).__name__}: {exc}")
            response, label = message_response(500, "Internal Server Error"), "-"
        self._write(response)
        elapsed = (time.perf_counter() - started) * 1000
        log(f"{request.method} {request.raw_path} -> {response.status} ({label}, {elapsed:.0f} ms)")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: HttpResponse) -> None:
        self.send_response_only(response.status, HTTPStatus(response.status).phrase)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "date" not in names:
            self.send_header("date", formatdate(usegmt=True))
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) gets API Gateway's answers (404/405 JSON),
        # never the stdlib's 501 page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # the gateway logs its own line
        return


class GatewayServer(ThreadingHTTPServer):
    """Binds at construction (so a busy port fails before anything starts)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway | None = None):
        super().__init__(address, _Handler)
        self.gateway: Gateway = gateway  # type: ignore[assignment]
        self._thread: threading.Thread | None = None

    def start(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._thread = threading.Thread(target=self.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()
