"""Which AWS actions each function performs, on which declared resource (issue 15 #12).

moto does not enforce IAM, so a function that writes with a read-only role passes every local
test and fails in AWS. This recorder wraps botocore's one entry point for API calls (and its
presigners: a presigned URL is used with the function's own permissions) and notes, for each call
made while a function's code is on the stack, the IAM action(s) it needs and the resource:

    ("portal_api", "dynamodb:UpdateItem", "table", "guichet-test", "")

tests/infra/test_observed_permissions.py checks every recorded call of the test session (the
in-process integration tests, and the e2e local stacks through ``LOCAL_AWS_CALLS_FILE``) against
that function's policy in the synthesized template. Only names, actions and resource names are
recorded: never parameters' values.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple
from urllib.parse import urlparse

from botocore import signers
from botocore.client import BaseClient

from infra import registry


class Call(NamedTuple):
    function: str
    action: str  # IAM action, e.g. "dynamodb:PutItem"
    kind: str  # "table", "queue", "bucket", "secret", "topic", "statemachine", "identity", "sms", ""
    name: str  # the resource's name as called (table name, queue name, bucket, ...)
    scope: str  # "" the resource itself, "index" a table's index, "object" a bucket's object

    def line(self) -> str:
        return "\t".join(self)


# Operations whose IAM action differs from the API operation name.
_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "CopyObject"): ("s3:PutObject",),
    ("dynamodb", "TransactGetItems"): ("dynamodb:GetItem",),
}
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_PRESIGNED = {"get_object": "GetObject", "put_object": "PutObject", "head_object": "HeadObject"}


def iam_prefix(client: BaseClient) -> str:
    model = client.meta.service_model
    prefix = model.signing_name or model.endpoint_prefix
    return "ses" if prefix in ("ses", "sesv2") else str(prefix)


def _name_from_arn(arn: str) -> str:
    """The last component of an ARN (``...:table/x`` -> ``x``, ``...:topic`` -> ``topic``)."""
    tail = arn.rsplit(":", 1)[-1]
    return tail.rsplit("/", 1)[-1] if tail.startswith(("table/", "stateMachine/")) else tail


def targets(service: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(action, kind, name, scope) for one API call; ``service`` is the IAM prefix (iam_prefix)."""
    prefix = service
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                ((op, body),) = item.items()
                yield _TRANSACT_ACTIONS[op], "table", body.get("TableName", ""), ""
            return
        if operation == "TransactGetItems":
            for item in params.get("TransactItems", []):
                yield "dynamodb:GetItem", "table", item.get("Get", {}).get("TableName", ""), ""
            return
        if operation in ("BatchGetItem", "BatchWriteItem"):
            for table in params.get("RequestItems", {}):
                yield f"dynamodb:{operation}", "table", table, ""
            return
        scope = "index" if params.get("IndexName") else ""
        yield f"dynamodb:{operation}", "table", params.get("TableName", ""), scope
        return
    actions = _ACTIONS.get((service, operation), (f"{prefix}:{operation}",))
    kind, name, scope = "", "", ""
    if service == "sqs" and "QueueUrl" in params:
        kind, name = "queue", urlparse(params["QueueUrl"]).path.rstrip("/").rsplit("/", 1)[-1]
    elif service == "s3" and "Bucket" in params:
        kind, name = "bucket", params["Bucket"]
        scope = "object" if "Key" in params or operation == "DeleteObjects" else ""
    elif service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        # An ARN ends with "-" and six random characters after the secret's name.
        kind, name = "secret", secret.rsplit(":", 1)[-1][:-7] if secret.startswith("arn:") else secret
    elif service == "sns":
        if "TopicArn" in params:
            kind, name = "topic", _name_from_arn(params["TopicArn"])
        elif "PhoneNumber" in params:
            kind = "sms"
    elif service == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn") or ""
        if arn:
            # arn:aws:states:region:account:stateMachine:<name> or :execution:<name>:<id>
            parts = arn.split(":")
            kind, name = "statemachine", parts[6] if len(parts) > 6 else ""
    elif prefix == "ses":
        sender = params.get("Source") or params.get("FromEmailAddress") or ""
        kind, name = "identity", sender.rsplit("<", 1)[-1].rstrip(">").strip()
    for action in actions:
        yield action, kind, name, scope


class Recorder:
    """Records, once each, the calls made by the functions of ``modules`` (module prefix ->
    function name); ``sink`` gets each new call as it is first seen."""

    def __init__(self, modules: dict[str, str], sink: Callable[[Call], None] | None = None) -> None:
        self._modules = modules
        self._sink = sink
        self._lock = threading.Lock()
        self.calls: set[Call] = set()

    def function_on_stack(self, frame: FrameType | None) -> str | None:
        """The innermost function handler module on the stack (``functions.<name>...``)."""
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            if module.startswith("functions."):
                package = ".".join(module.split(".")[:2])
                if package in self._modules:
                    return self._modules[package]
            frame = frame.f_back
        return None

    def record(self, function: str, service: str, operation: str, params: dict[str, Any]) -> None:
        for action, kind, name, scope in targets(service, operation, params):
            call = Call(function, action, kind, name, scope)
            with self._lock:
                if call in self.calls:
                    continue
                self.calls.add(call)
            if self._sink is not None:
                self._sink(call)

    def install(self) -> Callable[[], None]:
        """Wrap botocore's API entry point and S3's presigners; returns an undo."""
        recorder = self
        original_call = BaseClient._make_api_call
        original_presign = signers.generate_presigned_url
        original_post = signers.generate_presigned_post

        def _make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            function = recorder.function_on_stack(sys._getframe(1))
            if function is not None:
                recorder.record(function, iam_prefix(client), operation, params)
            return original_call(client, operation, params)

        def generate_presigned_url(
            client: BaseClient, ClientMethod: str, Params: Any = None, **kw: Any
        ) -> Any:
            function = recorder.function_on_stack(sys._getframe(1))
            operation = _PRESIGNED.get(ClientMethod)
            if function is not None and operation is not None:
                recorder.record(function, iam_prefix(client), operation, dict(Params or {}))
            return original_presign(client, ClientMethod, Params, **kw)

        def generate_presigned_post(client: BaseClient, Bucket: str, Key: str, *args: Any, **kw: Any) -> Any:
            function = recorder.function_on_stack(sys._getframe(1))
            if function is not None:
                recorder.record(function, iam_prefix(client), "PutObject", {"Bucket": Bucket, "Key": Key})
            return original_post(client, Bucket, Key, *args, **kw)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        # botocore attaches the presigners to each client class as methods when it is created.
        signers.generate_presigned_url = generate_presigned_url
        signers.generate_presigned_post = generate_presigned_post

        def undo() -> None:
            BaseClient._make_api_call = original_call  # type: ignore[method-assign]
            signers.generate_presigned_url = original_presign
            signers.generate_presigned_post = original_post

        return undo


def file_sink(path: Path) -> Callable[[Call], None]:
    """Appends each new call as one tab-separated line (several processes may share the file)."""
    lock = threading.Lock()

    def sink(call: Call) -> None:
        with lock, path.open("a") as out:
            out.write(call.line() + "\n")

    return sink


def read_calls(path: Path) -> set[Call]:
    if not path.is_file():
        return set()
    return {Call(*line.split("\t")) for line in path.read_text().splitlines() if line.count("\t") == 4}


def function_modules() -> dict[str, str]:
    """``functions.<name>`` -> the registry's function name."""
    return {".".join(spec.module.split(".")[:2]): spec.name for spec in registry.FUNCTIONS}
