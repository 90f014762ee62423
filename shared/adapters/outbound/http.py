"""The one HTTP helper the provider clients share (Twilio, Meta Graph): stdlib only.

Why not urllib.request.urlopen: it has a single timeout, and a send needs two. Connecting
should fail fast (3 s: the provider is unreachable, retry), while reading the answer may take
longer (10 s: the provider is working on it). ``http.client`` (what urllib uses underneath)
lets the socket timeout change after the connection is up.

Retries are bounded and only where a retry cannot send a message twice:
* 429 and 5xx answers (the provider says it did not take the message; Retry-After honoured
  up to ``max_retry_after``, beyond that we give up rather than hold the agent's request);
* errors before the request was fully written (DNS, refused, connect timeout, reset).
A read timeout or a dropped connection *after* the request went out is ambiguous: the
provider may have sent the message. It is not retried (unless ``retry_ambiguous``) and is
reported with ``ambiguous=True`` so the caller can tell the agent to check before resending.
All attempts share a time budget (20 s) under API Gateway's 30-second limit, so the agent
gets an answer rather than a gateway timeout. 4xx answers are never retried. Bodies are never
logged (they carry customers' messages).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

log = logging.getLogger("guichet.outbound")

MAX_RESPONSE_BYTES = 1_000_000
USER_AGENT = "guichet-outbound/1"

FormBody = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds to establish the connection (TCP + TLS), and to wait for each read."""

    connect: float = 3.0
    read: float = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries in total, the first included
    backoff: float = 0.25  # first delay; doubles each retry, with jitter
    max_delay: float = 2.0
    max_retry_after: float = 5.0  # a longer Retry-After: give up now, report it
    budget: float = 20.0  # seconds for all attempts: the API Gateway integration gives up at 30
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    retry_ambiguous: bool = False  # retry after the request was sent (may duplicate a send)

    def delay(self, retry: int, jitter: float) -> float:
        """Delay before retry number ``retry`` (1-based): 0.25, 0.5, 1 ... times 0.5 to 1."""
        base: float = min(self.max_delay, self.backoff * 2.0 ** (retry - 1))
        return base * (0.5 + jitter / 2)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lowercase names
    body: bytes

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return None


class HttpError(Exception):
    pass


class HttpStatusError(HttpError):
    """A non-2xx answer that must not be retried (4xx, redirects, 501 ...)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


class HttpUnavailable(HttpError):
    """No usable answer after the allowed attempts.

    ``response`` is the last retryable answer (429/5xx) if there was one; ``ambiguous`` means
    the request may have been processed (read timeout or connection lost after sending).
    """

    def __init__(
        self,
        reason: str,
        *,
        attempts: int,
        response: HttpResponse | None = None,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.response = response
        self.ambiguous = ambiguous
        self.retry_after = retry_after


class _Ambiguous(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _BeforeSend(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for these APIs, fall back to our backoff


class HttpClient:
    """Requests against one base URL (``https://api.twilio.com`` or a local fake)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must be http(s)://host[:port][/prefix], got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        # Built once: loading the CA bundle costs milliseconds we need not pay per send.
        self._ssl_context = ssl_context or (ssl.create_default_context() if parts.scheme == "https" else None)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: FormBody | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send and return a 2xx response; HttpStatusError or HttpUnavailable otherwise."""
        if json_body is not None and form is not None:
            raise ValueError("either json_body or form, not both")
        body: bytes | None = None
        all_headers = {**self._headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            pairs = list(form.items()) if isinstance(form, Mapping) else list(form)
            body = urlencode(pairs).encode("ascii")
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        target = self._prefix + "/" + path.lstrip("/")
        if query:
            target += "?" + urlencode(list(query.items()))

        attempts = self.retry.attempts
        started = self._clock()
        last: HttpResponse | None = None
        reason = ""
        for attempt in range(1, attempts + 1):
            delay: float | None = None
            try:
                remaining = self.retry.budget - (self._clock() - started)
                response = self._once(method, target, body, all_headers, max(0.1, remaining))
            except _BeforeSend as error:
                reason, last = error.reason, None
            except _Ambiguous as error:
                if not self.retry.retry_ambiguous:
                    raise HttpUnavailable(
                        f"{error.reason} after the request was sent", attempts=attempt, ambiguous=True
                    ) from None
                reason, last = error.reason, None
            else:
                if 200 <= response.status < 300:
                    return response
                if response.status not in self.retry.retry_statuses:
                    raise HttpStatusError(response)
                reason, last = f"HTTP {response.status}", response
                delay = _retry_after(response.headers)
                if delay is not None and delay > self.retry.max_retry_after:
                    raise HttpUnavailable(
                        f"{reason}, retry after {delay:g} s",
                        attempts=attempt,
                        response=response,
                        retry_after=delay,
                    )
            if attempt == attempts:
                break
            wait = delay if delay is not None else self.retry.delay(attempt, self._jitter())
            if self._clock() - started + wait + self.timeouts.connect > self.retry.budget:
                raise HttpUnavailable(
                    f"{reason}, no time left for another attempt",
                    attempts=attempt,
                    response=last,
                    retry_after=_retry_after(last.headers) if last is not None else None,
                )
            log.warning(
                "provider call failed, retrying",
                extra={
                    "host": self._host,
                    "method": method,
                    "reason": reason,
                    "attempt": attempt,
                    "wait": wait,
                },
            )
            self._sleep(wait)
        raise HttpUnavailable(
            f"{reason} after {attempts} attempt(s)",
            attempts=attempts,
            response=last,
            retry_after=_retry_after(last.headers) if last is not None else None,
        )

    def _connection(self, connect: float) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=connect, context=self._ssl_context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=connect)

    def _once(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str], remaining: float
    ) -> HttpResponse:
        """One attempt; timeouts never exceed what is left of the budget."""
        connection = self._connection(min(self.timeouts.connect, remaining))
        try:
            try:
                connection.connect()
                if connection.sock is not None:
                    connection.sock.settimeout(min(self.timeouts.read, remaining))
                connection.request(method, target, body=body, headers=dict(headers))
            except (OSError, http.client.HTTPException) as error:
                raise _BeforeSend(_describe(error, "connect")) from None
            try:
                raw = connection.getresponse()
                data = raw.read(MAX_RESPONSE_BYTES + 1)
            except (OSError, http.client.HTTPException) as error:
                raise _Ambiguous(_describe(error, "read")) from None
            if len(data) > MAX_RESPONSE_BYTES:
                data = data[:MAX_RESPONSE_BYTES]
            return HttpResponse(
                status=raw.status,
                headers={name.lower(): value for name, value in raw.getheaders()},
                body=data,
            )
        finally:
            connection.close()


def _describe(error: BaseException, stage: str) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{stage} timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "name resolution failed"
    return f"{stage} error ({type(error).__name__})"
