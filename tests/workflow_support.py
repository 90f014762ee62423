"""The order workflow on moto: the real ASL, run by moto's interpreter, invoking the real handlers.

``WorkflowHarness`` (a context manager) starts ``mock_aws`` with Docker-less Lambda and executing
Step Functions, provisions what the workflow uses from the declarations (the table from the
schema, the documents bucket, the functions and the state machine from the registry with its
declared substitutions), sets the functions' environment exactly as the registry declares it
(``Ref``s resolved like the local stack does, then test overrides such as 1-second timeouts),
and routes moto's Lambda invokes to ``infra/local/dispatcher.py``'s dispatcher. Used by the
integration tests and by the benchmark, so both measure the same thing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-3"
ACCOUNT = "123456789012"
TABLE = "guichet-test"
SENDER_DOMAIN = "support.example.com"

WORKFLOW_FUNCTIONS = (
    "order_reception",
    "order_preparation",
    "order_installation",
    "order_billing",
    "order_satisfaction",
    "order_incident",
    "survey_reminders",
    "order_workflow_api",
    "survey_api",
    "orders_api",  # the 360 order view
)
STAFF = {"sub": "agent-1", "email": "agent@guichet.local", "cognito:groups": "[agent supervisor]"}
TECHNICIAN = {"sub": "tech-1", "email": "bruno@guichet.example", "cognito:groups": "[technician]"}

# Fast waits for tests (seconds); the ASL reads them from each execution's input.
TEST_OVERRIDES = {
    "COMMISSIONING_TIMEOUT_S": "60",
    "BILLING_HOLD_TIMEOUT_S": "60",
    "BACK_ORDER_WAIT_S": "1",
    # Never the real Graph API: a test that sends WhatsApp points this at its fake provider.
    "META_GRAPH_BASE_URL": "http://127.0.0.1:9/meta",
}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class WorkflowHarness:
    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self.overrides = {**TEST_OVERRIDES, **(overrides or {})}
        self.orders: list[str] = []
        self._cleanups: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> WorkflowHarness:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception:
                continue

    def _start(self) -> None:
        import boto3
        from moto import mock_aws

        from infra import build, registry
        from infra.local.dispatcher import Dispatcher
        from infra.local.resources import LocalResources, merged_environment, secret_value, substitute
        from shared.adapters.dynamodb.schema import create_table_kwargs

        saved = dict(os.environ)

        def restore() -> None:
            os.environ.clear()
            os.environ.update(saved)

        self._cleanups.append(restore)
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_SERVICE_NAME": "guichet",
                "POWERTOOLS_METRICS_NAMESPACE": "Guichet",
            }
        )
        os.environ.pop("AWS_ENDPOINT_URL", None)
        mock = mock_aws(
            config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
        )
        mock.start()
        self._cleanups.append(mock.stop)

        self.dynamodb = boto3.client("dynamodb")
        self.dynamodb.create_table(**create_table_kwargs(TABLE))
        self.table = boto3.resource("dynamodb").Table(TABLE)
        self.s3 = boto3.client("s3")
        buckets = {}
        for spec in registry.BUCKETS:
            buckets[spec.name] = f"guichet-{spec.name}"
            self.s3.create_bucket(
                Bucket=buckets[spec.name], CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        self.ses = boto3.client("ses")
        self.ses.verify_domain_identity(Domain=SENDER_DOMAIN)
        self.sfn = boto3.client("stepfunctions")
        role = boto3.client("iam").create_role(RoleName="local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda")
        resources = LocalResources(region=REGION, account_id=ACCOUNT, api_url="https://api.example.com")
        resources.table_name = TABLE
        resources.buckets = buckets
        secrets = boto3.client("secretsmanager")
        for secret in registry.SECRETS:  # the local defaults (fake credentials)
            created = secrets.create_secret(
                Name=f"guichet/{secret.name}", SecretString=json.dumps(secret_value(secret, {}))
            )
            resources.secrets[secret.name] = {"name": f"guichet/{secret.name}", "arn": created["ARN"]}
        for spec in registry.FUNCTIONS:
            if spec.name not in WORKFLOW_FUNCTIONS and spec.name not in registry.STATE_MACHINES[0].tasks:
                continue
            arn = lam.create_function(
                FunctionName=spec.name,
                Runtime=build.LAMBDA_RUNTIME,
                Role=role,
                Handler=spec.handler,
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )["FunctionArn"]
            resources.functions[spec.name] = arn
        machine = registry.state_machine("order_workflow")
        subs = {key: resources.resolve(ref) for key, ref in machine.substitutions.items()}
        definition = substitute((ROOT / machine.definition).read_text(), subs, source=machine.definition)
        self.machine_arn = self.sfn.create_state_machine(
            name=machine.name, definition=definition, roleArn=role
        )["stateMachineArn"]
        resources.state_machines[machine.name] = self.machine_arn
        specs = [registry.function(name) for name in WORKFLOW_FUNCTIONS]
        env = merged_environment(specs, resources)  # what the registry declares, resolved
        os.environ.update({**env, **self.overrides})
        self.env = {**env, **self.overrides}

        from shared.adapters import clock

        self._cleanups.append(lambda: clock.travel(timedelta(0)))
        self.dispatcher = Dispatcher(specs, region=REGION, account_id=ACCOUNT)
        self._cleanups.append(self.dispatcher.install())
        self._reset_wiring()
        self._cleanups.append(self._reset_wiring)
        self._cleanups.append(self._fail_outstanding_tokens)
        self._warm()

    def _reset_wiring(self) -> None:
        import importlib

        from infra import registry

        for name in WORKFLOW_FUNCTIONS:
            module = importlib.import_module(registry.function(name).module)
            if hasattr(module, "_wired"):
                module._wired = None

    def _warm(self) -> None:
        """Wire every handler once on this thread: boto3's default session must not build
        clients from several threads at once (executions run on moto's threads)."""
        import importlib

        from infra import registry

        for name in WORKFLOW_FUNCTIONS:
            module = importlib.import_module(registry.function(name).module)
            for wire in ("_ports", "_service", "_w"):
                if hasattr(module, wire):
                    getattr(module, wire)()

    def _fail_outstanding_tokens(self) -> None:
        """``stop_execution`` does not stop a wait on a task token: answer them so moto's
        threads finish."""
        from shared.adapters.dynamodb.workflow_store import WorkflowStore

        store = WorkflowStore(self.table)
        for order_id in self.orders:
            record = store.get_workflow(order_id)
            if record is not None and record.value.awaiting is not None:
                try:
                    self.sfn.send_task_failure(taskToken=record.value.awaiting.token, error="TestTeardown")
                except Exception:
                    continue

    # ------------------------------------------------------------------ seeding
    def seed_customer(
        self,
        customer_id: str = "C1",
        *,
        email: str | None = "alice@example.com",
        phone: str | None = None,
        whatsapp: str | None = None,
        locale: str = "fr",
    ) -> str:
        from shared.adapters.dynamodb import keys
        from shared.adapters.dynamodb.items import to_item
        from shared.domain.customer import Customer, Identity
        from shared.domain.identity import IdentityKind, Proof

        now = datetime.now(UTC)
        proven = Proof.provider  # the customer wrote from these (a proven profile's addresses)
        identities = []
        if email:
            identities.append(Identity(kind=IdentityKind.email, value=email, first_seen_at=now, proof=proven))
        if phone:
            identities.append(Identity(kind=IdentityKind.phone, value=phone, first_seen_at=now, proof=proven))
        if whatsapp:
            identities.append(
                Identity(kind=IdentityKind.whatsapp, value=whatsapp, first_seen_at=now, proof=proven)
            )
        customer = Customer(
            id=customer_id,
            display_name="Alice Martin",
            locale=locale,
            identities=identities,
            created_at=now,
            updated_at=now,
        )
        self.table.put_item(
            Item=to_item(
                customer, "customer", {"pk": keys.customer_pk(customer_id), "sk": keys.PROFILE_SK}, 1
            )
        )
        for identity in identities:
            self.table.put_item(
                Item={
                    "pk": keys.identity_pk(identity.kind.value, identity.value),
                    "sk": keys.IDENT_SK,
                    "entity": "identity",
                    "customer_id": customer_id,
                    "kind": identity.kind.value,
                }
            )
        return customer_id

    def seed_catalog(self, *, router_stock: int = 5) -> None:
        """A fibre installation (service, skill "fiber") and a router (hardware, stock tracked)."""
        self.api(
            "PUT",
            "/api/catalog/products/FIBRE-INSTALL",
            {
                "title": "Installation fibre",
                "unit_price": "99.00",
                "is_service": True,
                "skill": "fiber",
            },
        )
        self.api(
            "PUT",
            "/api/catalog/products/ROUTER-X",
            {
                "title": "Routeur X",
                "unit_price": "149.90",
                "stock_tracked": True,
                "stock_available": router_stock,
            },
        )
        windows = [{"weekday": day, "start": "08:00", "end": "12:00"} for day in range(5)] + [
            {"weekday": day, "start": "13:00", "end": "17:00"} for day in range(5)
        ]
        self.api(
            "PUT",
            "/api/technicians/T1",
            {"name": "Bruno", "email": TECHNICIAN["email"], "skills": ["fiber"], "windows": windows},
        )
        self.api("PUT", "/api/technicians/T2", {"name": "Chloé", "skills": ["alarm"], "windows": windows})

    def set_stock(self, sku: str, available: int) -> None:
        reply = self.api(
            "PUT",
            f"/api/catalog/products/{sku}",
            {
                "title": "Routeur X",
                "unit_price": "149.90",
                "stock_tracked": True,
                "stock_available": available,
            },
        )
        assert reply.status == 200, reply

    # ------------------------------------------------------------------ HTTP API (events)
    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        claims: dict[str, str] | None = None,
        function: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        """Call the route's function with the API Gateway event it would get (JWT claims as the
        authorizer passes them)."""
        from infra import registry
        from infra.local.gateway import RouteTable, build_http_event

        table = RouteTable(registry.all_routes())
        found = table.match(method, path)
        assert found is not None and hasattr(found, "compiled"), f"no route for {method} {path}"
        compiled = found.compiled
        auth = compiled.route.auth
        if claims is None and auth == "staff":
            claims = STAFF
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        header_pairs = [("content-type", "application/json")] if body is not None else []
        header_pairs += list((headers or {}).items())
        event = build_http_event(
            method=method,
            raw_path=path,
            raw_query="",
            headers=header_pairs,
            body=data,
            source_ip="203.0.113.10",
            route_key=compiled.route_key,
            path_parameters=found.path_parameters,
            authorizer={"claims": claims, "scopes": None} if claims is not None and auth != "none" else None,
        )
        invocation = self.dispatcher.invoke(function or compiled.spec.name, event)
        assert invocation.ok, invocation.error
        result = invocation.result
        text = result.get("body") or ""
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Reply(
            result["statusCode"], parsed, {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        )

    # ------------------------------------------------------------------ the workflow
    def quote(self, customer_id: str = "C1", *, router_qty: int = 1) -> dict[str, Any]:
        address = {
            "name": "Alice Martin",
            "line1": "12 rue des Lilas",
            "postal_code": "69003",
            "city": "Lyon",
            "country": "FR",
        }
        reply = self.api(
            "POST",
            "/api/quotes",
            {
                "customer_id": customer_id,
                "lines": [
                    {"sku": "FIBRE-INSTALL", "quantity": 1},
                    {"sku": "ROUTER-X", "quantity": router_qty},
                ],
                "billing_address": address,
                "shipping_address": address,
            },
        )
        assert reply.status == 201, reply
        return dict(reply.body)

    def accept(self, quote_id: str, slot: dict[str, Any] | None = None) -> str:
        reply = self.api("POST", f"/api/quotes/{quote_id}/accept", {"slot": slot} if slot else {})
        assert reply.status == 201, reply
        order_id = str(reply.body["order_id"])
        self.orders.append(order_id)
        return order_id

    def execution_arn(self, name: str) -> str:
        return self.machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def status(self, name: str) -> str:
        return str(self.sfn.describe_execution(executionArn=self.execution_arn(name))["status"])

    def wait_status(self, name: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(name)
            if status != "RUNNING" or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def workflow(self, order_id: str) -> Any:
        from shared.adapters.dynamodb.workflow_store import WorkflowStore

        found = WorkflowStore(self.table).get_workflow(order_id)
        return found.value if found else None

    def waiting_for(self, order_id: str, kind: str) -> bool:
        record = self.workflow(order_id)
        return bool(record and record.awaiting and record.awaiting.kind.value == kind)

    def travel_to_visit(self, order_id: str, after_start: float = 3600) -> None:
        """Move the handlers' clock to ``after_start`` seconds into the order's current visit."""

        from shared.adapters import clock

        appointment = self.workflow(order_id).appointment
        moment = appointment.start + timedelta(seconds=after_start)
        clock.travel(max(clock.offset(), moment - datetime.now(UTC)))

    def report(
        self,
        order_id: str,
        *,
        passed: bool = True,
        installed: list[str] | None = None,
        wait: bool = True,
        claims: dict[str, str] | None = None,
        travel: bool = True,
    ) -> Reply:
        if wait:
            self.wait_for(lambda: self.waiting_for(order_id, "commissioning"), what="the commissioning wait")
        if travel:
            self.travel_to_visit(order_id)
        tests = [
            {"name": "optical power", "result": "passed", "measure": "-18 dBm"},
            {
                "name": "throughput",
                "result": "passed" if passed else "failed",
                "measure": "940 Mbit/s" if passed else "12 Mbit/s",
            },
        ]
        body: dict[str, Any] = {"technician_id": "T1", "tests": tests}
        if installed is not None:
            body["installed_line_ids"] = installed
        return self.api("POST", f"/api/orders/{order_id}/commissioning", body, claims=claims)

    def history(self, name: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn(name), "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def transitions(self, name: str) -> list[str]:
        """The states entered, in order: what Step Functions Standard bills (one transition each)."""
        return [
            e[key]["name"] for e in self.history(name) for key in ("stateEnteredEventDetails",) if key in e
        ]

    # ------------------------------------------------------------------ what was sent
    def sent_emails(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[ACCOUNT][REGION].sent_messages)

    def sent_sms(self) -> list[tuple[str, str]]:
        from moto.sns.models import sns_backends

        return list(sns_backends[ACCOUNT][REGION].sms_messages.values())

    def alerts(self, order_id: str) -> dict[str, str]:
        from shared.adapters.dynamodb.workflow_store import WorkflowStore

        return {a.key: a.status for a in WorkflowStore(self.table).alerts(order_id)}

    def timeline(self, customer_id: str = "C1") -> list[Any]:
        from shared.adapters.dynamodb.repository import DynamoRepository

        return DynamoRepository(self.table).customer_timeline(customer_id, 100, None).items

    def tickets_of(self, order_id: str) -> list[Any]:
        """The order's tickets through its links (what the 360 view reads)."""
        from shared.adapters.dynamodb.orders import OrderRepository
        from shared.adapters.dynamodb.repository import DynamoRepository

        links = OrderRepository(self.table).order_links(order_id)
        repo = DynamoRepository(self.table)
        found = [repo.get_ticket(link.ticket_id) for link in links if link.kind.value == "ticket"]
        return [t.value for t in found if t is not None]

    def ticket_notes(self, ticket_id: str) -> list[str]:
        from shared.adapters.dynamodb.repository import DynamoRepository

        _, page = DynamoRepository(self.table).ticket_messages(ticket_id, 10, None)
        return [m.text for m in page.items]

    def order(self, order_id: str) -> Any:
        from shared.adapters.dynamodb.orders import OrderRepository

        found = OrderRepository(self.table).get_order(order_id)
        return found.value if found else None

    def remind(self, at: datetime) -> dict[str, Any]:
        event = {
            "version": "0",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": {},
        }
        invocation = self.dispatcher.invoke("survey_reminders", event)
        assert invocation.ok, invocation.error
        return dict(invocation.result)


@contextmanager
def workflow_harness(overrides: dict[str, str] | None = None) -> Iterator[WorkflowHarness]:
    with WorkflowHarness(overrides) as harness:
        yield harness


def first_offered_slot(quote: dict[str, Any]) -> dict[str, Any]:
    slot = quote["offered_slots"][0]
    return {"technician_id": slot["technician_id"], "start": slot["start"]}


__all__ = ["Decimal", "WorkflowHarness", "dtime", "first_offered_slot", "workflow_harness"]
