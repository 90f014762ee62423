"""Run the project's real Lambda handlers in-process, for every caller of the local stack.

Every invocation path ends here: the HTTP gateway, the SQS pollers and the scheduler call
:meth:`Dispatcher.invoke` directly; everything that goes through moto's Lambda API (boto3
``lambda.invoke``, Step Functions Task states) reaches moto's
``LambdaSimpleBackend.invoke``, which :meth:`Dispatcher.install` replaces so it calls the same
method. Without Docker moto would otherwise return a canned stub.

Fidelity kept on purpose:
* the event and the result cross a JSON boundary, as in Lambda (a handler cannot return
  something Lambda could not serialize, nor mutate its caller's event);
* a raised exception becomes ``{"errorType", "errorMessage", "stackTrace"}`` and, over moto's
  API, ``x-amz-function-error: Unhandled``, so Step Functions Retry/Catch match on the class name;
* one invocation at a time per function (one warm execution environment): handlers and Powertools
  keep per-invocation state in module globals, as Lambda allows;
* a handler module that fails to import yields ``Runtime.ImportModuleError``; import is retried
  on the next invocation, so a handler written while the stack runs is picked up.

Not emulated: the timeout (a run over ``timeout_s`` is logged, not killed: threads cannot be
killed, and a debugger would trip it), memory limits, and per-function environments (the
environment is the union of all functions', set once at startup; see resources.merged_environment).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda_simple.models import LambdaSimpleBackend

from infra.local.log import log
from infra.registry import FunctionSpec

Handler = Callable[[Any, Any], Any]
_THIS_FILE = Path(__file__).resolve()


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context object that code reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/[{self.function_version}]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """What Lambda returns to a synchronous caller: a JSON result or an error document."""

    function: str
    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def payload(self) -> bytes:
        """The bytes Lambda's Invoke API would return."""
        return json.dumps(self.error if self.error is not None else self.result).encode()


def _summary(exc: BaseException, limit: int = 160) -> str:
    """The first line of the message only: validation errors quote the input on later lines,
    and the local stack never logs message bodies."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


class UnknownFunction(LookupError):
    pass


def function_name_from(name_or_arn: str) -> str:
    """``name``, ``name:qualifier``, ``arn:...:function:name[:qualifier]`` or ``acct:function:name``."""
    if ":function:" in name_or_arn:
        name_or_arn = name_or_arn.split(":function:", 1)[1]
    return name_or_arn.split(":", 1)[0]


def error_document(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's Python runtime error shape (the trace starts in the handler, not in this module)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve() != _THIS_FILE
    ]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


class Dispatcher:
    """Function name or ARN -> registry FunctionSpec -> the handler it declares, called in-process."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        *,
        region: str,
        account_id: str,
        importer: Callable[[str], Any] = importlib.import_module,
    ):
        self._specs = {spec.name: spec for spec in functions}
        self._region = region
        self._account_id = account_id
        self._importer = importer
        self._handlers: dict[str, Handler] = {}
        self._locks = {name: threading.Lock() for name in self._specs}
        self._import_lock = threading.Lock()

    # ---------------------------------------------------------------- lookup
    def spec(self, name_or_arn: str) -> FunctionSpec | None:
        return self._specs.get(function_name_from(name_or_arn))

    def arn(self, spec: FunctionSpec) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{spec.name}"

    def _handler(self, spec: FunctionSpec) -> Handler:
        with self._import_lock:  # imports are not reentrant-safe across threads for one module
            if spec.name not in self._handlers:
                module = self._importer(spec.module)
                self._handlers[spec.name] = getattr(module, spec.attribute)
            return self._handlers[spec.name]

    # ---------------------------------------------------------------- invoke
    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        spec = self.spec(name_or_arn)
        if spec is None:
            raise UnknownFunction(name_or_arn)
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        with self._locks[spec.name]:
            try:
                handler = self._handler(spec)
            except Exception as exc:
                error = error_document(exc, "Runtime.ImportModuleError")
                error["errorMessage"] = f"Unable to import module '{spec.module}': {exc}"
                error["requestId"] = request_id
                log(f"{spec.name} {request_id[:8]} ImportModuleError: {exc}")
                return Invocation(spec.name, request_id, error=error)
            context = LambdaContext(
                function_name=spec.name,
                invoked_function_arn=self.arn(spec),
                memory_limit_in_mb=spec.memory_mb,
                aws_request_id=request_id,
                timeout_s=spec.timeout_s,
            )
            try:
                raw = handler(json.loads(json.dumps(event)), context)
                result = json.loads(json.dumps(raw))
            except Exception as exc:
                elapsed = (time.perf_counter() - started) * 1000
                error = error_document(exc)
                error["requestId"] = request_id
                if isinstance(exc, TypeError) and "JSON serializable" in str(exc):
                    error["errorType"] = "Runtime.MarshalError"
                log(
                    f"{spec.name} {request_id[:8]} {error['errorType']} at {_where(exc)}: "
                    f"{_summary(exc)} ({elapsed:.0f} ms)"
                )
                if os.environ.get("LOCAL_TRACEBACKS") == "1":  # opt-in: may quote payload data
                    log("".join(traceback.format_exception(exc)).rstrip())
                return Invocation(spec.name, request_id, error=error, duration_ms=elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        if elapsed > spec.timeout_s * 1000:
            log(f"{spec.name} {request_id[:8]} ran {elapsed:.0f} ms, over its {spec.timeout_s} s timeout")
        return Invocation(spec.name, request_id, result=result, duration_ms=elapsed)

    # ---------------------------------------------------------------- moto
    def moto_invoke(  # noqa: PLR0917 - mirrors LambdaSimpleBackend.invoke
        self,
        backend: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, Any],
    ) -> bytes:
        """Drop-in for ``LambdaSimpleBackend.invoke`` (same signature, ``self`` = the backend)."""
        if self.spec(function_name) is None:
            raise UnknownFunctionException(function_name)
        if isinstance(body, bytes | bytearray):
            body = body.decode()
        event = json.loads(body) if body else {}
        invocation_type = (headers.get("X-Amz-Invocation-Type") if headers else None) or "RequestResponse"
        if invocation_type == "Event":
            threading.Thread(target=self.invoke, args=(function_name, event), daemon=True).start()
            payload = b""
        elif invocation_type == "DryRun":
            payload = b""
        else:
            invocation = self.invoke(function_name, event)
            if not invocation.ok:
                response_headers["x-amz-function-error"] = "Unhandled"
            payload = invocation.payload()
            response_headers["x-amz-executed-version"] = "$LATEST"
            tail = f"START RequestId: {invocation.request_id}\nEND RequestId: {invocation.request_id}\n"
            response_headers["x-amz-log-result"] = base64.b64encode(tail.encode()).decode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    def install(self) -> Callable[[], None]:
        """Make moto's Lambda (Docker-less backend) run the real handlers; returns an undo."""
        original = LambdaSimpleBackend.invoke
        dispatcher = self

        def invoke(  # noqa: PLR0917 - moto's signature
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            return dispatcher.moto_invoke(backend, function_name, qualifier, body, headers, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

        def undo() -> None:
            LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]

        return undo
