"""Assemble and run the local stack: moto, the declared resources, the gateway, pollers, scheduler.

Order matters and is why this module exists:
1. the process environment is made safe first (fake credentials, a region, no profile), so no
   boto3 client built afterwards, ours or a handler's, can ever reach real AWS;
2. moto is configured (Docker-less Lambda, Step Functions that execute) and its Lambda invoke is
   routed to the dispatcher *before* anything can invoke a function;
3. the gateway port is bound before provisioning, so a busy port fails in milliseconds;
4. the functions' environment is computed from the provisioned resources and set once;
5. only then do the gateway, pollers and scheduler start.
:meth:`LocalStack.stop` undoes it in reverse, joining every thread it started.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer
from pydantic import ValidationError

from infra import registry
from infra.local import aws_calls
from infra.local import outbox as outbox_module
from infra.local import resources as res
from infra.local.authorizer import JwtAuthorizer, Unauthorized, fetch_jwks
from infra.local.dispatcher import Dispatcher
from infra.local.gateway import Gateway, GatewayServer, RouteTable
from infra.local.local_api import LocalApi
from infra.local.log import log
from infra.local.moto_patches import install as install_moto_patches
from infra.local.poller import QueuePoller
from infra.local.scheduler import Scheduler

DEFAULT_REGION = "eu-west-3"
STOP_BUDGET_S = 2.5  # what stop() may spend joining threads that are busy in a handler
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
_UNSAFE = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def isolate_environment(environ: MutableMapping[str, str]) -> str:
    """Fake credentials always; the region from the environment (default eu-west-3)."""
    for name in _UNSAFE:
        environ.pop(name, None)
    environ.update(_FAKE_CREDENTIALS)
    region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION") or DEFAULT_REGION
    environ["AWS_DEFAULT_REGION"] = environ["AWS_REGION"] = region
    environ["AWS_EC2_METADATA_DISABLED"] = "true"
    return region


@dataclass
class LocalStack:
    port: int = 3000
    host: str = "127.0.0.1"
    moto_port: int = 0
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._stop_deadline = 0.0
        self._cleanups: list[Callable[[], None]] = []
        self.resources: res.LocalResources | None = None
        self.base_url = f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        started = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        log(f"ready in {time.perf_counter() - started:.1f} s")

    def _start(self) -> None:  # noqa: PLR0915 - one linear startup sequence reads best in one place
        public_base_url = self.environ.get("PUBLIC_BASE_URL")  # the caller's value wins
        region = isolate_environment(self.environ)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log

        install_moto_patches()  # O(1) transactions and queries, no model kept for ever
        calls_file = self.environ.get("LOCAL_AWS_CALLS_FILE")  # the tests check them against IAM
        if calls_file:
            recorder = aws_calls.Recorder(aws_calls.function_modules(), aws_calls.file_sink(Path(calls_file)))
            self._cleanups.append(recorder.install())
        default_user_config["lambda"] = {"use_docker": False}
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        account_id = self.environ.get("MOTO_ACCOUNT_ID", "123456789012")
        dispatcher = Dispatcher(registry.FUNCTIONS, region=region, account_id=account_id)
        self._cleanups.append(dispatcher.install())

        server = GatewayServer((self.host, self.port))
        self._cleanups.append(server.server_close)
        self.port = server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        moto.start()
        self._cleanups.append(moto.stop)
        self.moto_port = moto.get_host_and_port()[1]
        endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.environ["MOTO_PORT"] = str(self.moto_port)
        self.environ["AWS_ENDPOINT_URL"] = endpoint

        session = boto3.session.Session(region_name=region)
        provisioner = res.Provisioner(
            session, region, account_id, dict(self.environ), api_url=public_base_url or self.base_url
        )
        machines = self.environ.get("LOCAL_STATEMACHINE_DIR")  # tests point it at their own ASL
        resources = provisioner.provision(Path(machines) if machines else res.STATEMACHINE_DIR)
        self.resources = resources

        function_env = res.merged_environment(registry.FUNCTIONS, resources)
        providers_url = f"{self.base_url}/local/providers"
        overrides = outbox_module.provider_base_url_overrides(function_env, providers_url)
        function_env.update(overrides)
        self.environ.update(function_env)
        self._check_settings(resources, overrides)
        self.environ["PUBLIC_BASE_URL"] = public_base_url or self.base_url
        self.environ.setdefault("LOCAL_PROVIDERS_BASE_URL", providers_url)
        self.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        provisioner.verify_senders(res.sender_addresses(function_env))
        outbox_module.stamp_moto_backends(account_id, region)

        authorizers: dict[str, JwtAuthorizer] = {}
        for route, _spec in registry.all_routes():
            if route.auth == "none" or route.auth in authorizers:
                continue
            pool = resources.pool_for_auth(route.auth)
            if pool is None:
                raise res.LocalStackError(f"no user pool declares authorizes={route.auth!r}")
            jwks = fetch_jwks(f"{endpoint}/{pool.id}/.well-known/jwks.json")
            authorizers[route.auth] = JwtAuthorizer(
                issuer=pool.issuer, audiences=(pool.client_id,), jwks=jwks
            )

        def authorize(auth: str, header: str | None) -> dict[str, Any]:
            if auth not in authorizers:
                raise Unauthorized(f"no authorizer for {auth!r}")
            return authorizers[auth].authorize(header)

        scheduler = Scheduler(
            registry.all_schedules(),
            invoke=dispatcher.invoke,
            region=region,
            account_id=account_id,
            stop=self._stopping,
        )
        outbox = outbox_module.Outbox(account_id, region)
        local_api = LocalApi(
            resources=resources,
            outbox=outbox,
            scheduler=scheduler,
            cognito=session.client("cognito-idp"),
            sqs=session.client("sqs"),
            moto_endpoint=endpoint,
            # Built here, once: creating boto3 clients from one session is not thread-safe.
            client={name: session.client(name) for name in ("s3", "sns", "events")}.__getitem__,
        )
        gateway = Gateway(
            RouteTable(registry.all_routes()),
            invoke=dispatcher.invoke,
            authorize=authorize,
            local=local_api,
            account_id=account_id,
            port=self.port,
        )
        threads: list[threading.Thread] = [scheduler]
        for spec in registry.FUNCTIONS:
            if spec.consumes:
                threads.append(
                    QueuePoller(
                        spec,
                        resources.queues[spec.consumes],
                        sqs=session.client("sqs"),
                        invoke=dispatcher.invoke,
                        region=region,
                        stop=self._stopping,
                    )
                )
        server.start(gateway)
        self._cleanups.append(server.stop)
        for thread in threads:
            thread.start()
        self._cleanups.append(lambda: self._join(threads))
        self._announce(resources, endpoint, threads, overrides)

    @staticmethod
    def _check_settings(resources: res.LocalResources, overrides: dict[str, str]) -> None:
        """Warn (not fail: someone may be mid-change) when a function's settings model would reject
        its *own* environment (the union set locally could hide a missing variable); in AWS that
        function would fail at its first invocation."""
        for spec in registry.FUNCTIONS:
            env = {**res.function_environment(spec, resources), **overrides}
            module_name, _, class_name = spec.settings.rpartition(".")
            try:
                model = getattr(importlib.import_module(module_name), class_name)
                model.model_validate(env)
            except ValidationError as exc:
                problems = ", ".join(f"{'.'.join(map(str, e['loc']))} ({e['type']})" for e in exc.errors())
                log(f"WARNING {spec.name}: its environment fails {spec.settings}: {problems}")
            except (ImportError, AttributeError) as exc:
                log(f"WARNING {spec.name}: cannot load {spec.settings}: {exc}")

    def _join(self, threads: list[threading.Thread]) -> None:
        """Join within what is left of the stop budget; a thread still in a handler after that
        is abandoned (daemon): its invocation is lost with moto's in-memory state."""
        self._stopping.set()
        for thread in threads:
            thread.join(timeout=max(0.0, self._stop_deadline - time.monotonic()))
        busy = [thread.name for thread in threads if thread.is_alive()]
        if busy:
            log(f"abandoned (busy in a handler): {', '.join(busy)}")

    def _announce(
        self,
        resources: res.LocalResources,
        endpoint: str,
        threads: list[threading.Thread],
        overrides: dict[str, str],
    ) -> None:
        log(f"gateway   {self.base_url}  ({len(registry.all_routes())} routes, /local/* tools)")
        log(f"moto      {endpoint}  (MOTO_PORT={self.moto_port}, region {resources.region})")
        log(f"table     {resources.table_name}; queues {', '.join(resources.queues)} (+ -dlq)")
        for pool in resources.user_pools.values():
            users = ", ".join(u.username for u in pool.users)
            log(f"userpool  {pool.name} {pool.id} client {pool.client_id} (auth {pool.authorizes}): {users}")
        password = next((u.password for p in resources.user_pools.values() for u in p.users), "")
        log(f"password  {password}  (every demo user; LOCAL_DEMO_PASSWORD overrides)")
        log(f"token     make token ROLE=agent  |  curl '{self.base_url}/local/token?role=agent'")
        pollers = [t.name.removeprefix("poller-") for t in threads if t.name.startswith("poller-")]
        log(f"pollers   {', '.join(pollers) or '-'}; schedules {len(registry.all_schedules())}")
        if resources.state_machines:
            log(f"states    {', '.join(resources.state_machines)}")
        for name in overrides:
            log(f"provider  {name} -> local fake")

    # ------------------------------------------------------------------ stop
    def stop(self, budget_s: float = STOP_BUDGET_S) -> None:
        """Stop everything started, newest first; each step runs even if an earlier one failed.
        Threads busy in a handler get ``budget_s`` in all to finish."""
        self._stop_deadline = time.monotonic() + budget_s
        self._stopping.set()
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:
                log(f"shutdown step failed: {type(exc).__name__}: {exc}")

    def wait(self, should_stop: Callable[[], bool], poll_s: float = 0.2) -> None:
        while not should_stop():
            time.sleep(poll_s)
