"""``make import FILE=...``: load a Shopify or WooCommerce orders export into Guichet.

    python -m shared.cli.import_orders orders.jsonl                # TABLE_NAME, AWS credentials
    python -m shared.cli.import_orders orders.csv --local http://127.0.0.1:3000   # the local stack

JSON lines (or a JSON array) of REST orders, or the platforms' CSV exports, detected from the
file (see shared/adapters/commerce/exports.py). Each order goes through the same sync as the
webhooks (``commerce_sync.sync_order``): the customer is found or created by identity
resolution, the order is created or updated (never with older data than stored), and its
timeline entry written, in one transaction. Orders already delivered get no satisfaction survey.

Batches of ``--batch`` orders: one BatchGetItem reads the batch's existing orders, then its
transactions run on ``--workers`` threads. After each batch a checkpoint
(``.import-state/<sha256 of the file>.json``) records how far it got, so an interrupted import
resumes after the last complete batch; re-running a finished import does nothing
(``--restart`` re-reads the file, and every order comes back ``unchanged``). A progress bar
goes to stderr; the summary (created, updated, unchanged, rejected with reasons) to stdout.
Rejection reasons name the record and the field, never its content (personal data).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from shared.adapters.commerce.common import CommercePayloadError
from shared.adapters.commerce.exports import Platform, Record, records, to_snapshot
from shared.domain.commerce import OrderSnapshot
from shared.order_ports import RecordOnly
from shared.ports import Clock

DEFAULT_BATCH = 100
DEFAULT_WORKERS = 8
MAX_REJECTIONS_KEPT = 1000
OUTCOMES = ("created", "updated", "unchanged", "rejected")


@dataclass
class State:
    """The checkpoint: how many records are done, and what happened to them."""

    file: str
    sha256: str
    total: int
    done: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejections: list[dict[str, str]] = field(default_factory=list)
    finished: bool = False

    @classmethod
    def load(cls, path: Path) -> State | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(**data)

    def save(self, path: Path) -> None:
        """Atomic: a crash while saving leaves the previous checkpoint, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.__dict__, indent=2))
        os.replace(temporary, path)


class Progress:
    """``[#####.....]  50%  500/1000  created 480 updated 10 unchanged 5 rejected 5`` on stderr."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self._total = max(total, 1)
        self._stream = stream
        self._width = width
        self._last = 0.0

    def show(self, state: State, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        share = min(state.done / self._total, 1.0)
        filled = int(share * self._width)
        counts = " ".join(f"{k} {state.counts.get(k, 0)}" for k in OUTCOMES)
        bar = "#" * filled + "." * (self._width - filled)
        self._stream.write(f"\r[{bar}] {share:4.0%} {state.done}/{state.total}  {counts}")
        self._stream.flush()

    def end(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def run(
    path: Path,
    sync: Callable[[list[OrderSnapshot]], list[str]],
    *,
    state_dir: Path,
    platform: Platform | None = None,
    batch: int = DEFAULT_BATCH,
    restart: bool = False,
    progress: TextIO | None = None,
    stop_after: int | None = None,
) -> tuple[State, str]:
    """Import ``path`` through ``sync`` (a batch of snapshots -> one outcome each), resumably.

    Returns the state and how the run began ("started", "resumed at record N", "already
    imported"). ``stop_after`` (tests) simulates an interruption after that many batches.
    """
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    checkpoint = state_dir / f"{digest}.json"
    found = None if restart else State.load(checkpoint)
    all_records = list(records(raw, platform))
    state = found or State(file=str(path), sha256=digest, total=len(all_records))
    if state.finished:
        return state, "already imported"
    began = f"resumed at record {state.done + 1}" if state.done else "started"
    bar = Progress(state.total, progress or sys.stderr)
    for batches, start in enumerate(range(state.done, len(all_records), batch), start=1):
        chunk = all_records[start : start + batch]
        snapshots: list[tuple[Record, OrderSnapshot]] = []
        for record in chunk:
            try:
                snapshots.append((record, to_snapshot(record)))
            except (CommercePayloadError, ValidationError) as error:
                _reject(state, record, _reason(error))
        outcomes = sync([snapshot for _, snapshot in snapshots]) if snapshots else []
        for (record, _), outcome in zip(snapshots, outcomes, strict=True):
            if outcome.startswith("rejected:"):
                _reject(state, record, outcome.removeprefix("rejected:"))
            else:
                state.counts[outcome] = state.counts.get(outcome, 0) + 1
        state.done = start + len(chunk)
        state.save(checkpoint)
        bar.show(state)
        if stop_after is not None and batches >= stop_after and state.done < len(all_records):
            bar.end()
            return state, began
    state.finished = True
    state.save(checkpoint)
    bar.show(state, force=True)
    bar.end()
    return state, began


def _reject(state: State, record: Record, reason: str) -> None:
    state.counts["rejected"] = state.counts.get("rejected", 0) + 1
    if len(state.rejections) < MAX_REJECTIONS_KEPT:
        state.rejections.append({"record": record.label, "reason": reason})


def _reason(error: Exception) -> str:
    """A field and what is wrong with it; pydantic's own text would quote the input value."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "order"
        return f"{where}: {first.get('msg', 'invalid')}".removeprefix("Value error, ")
    return str(error)


def dynamo_sync(
    make_table: Callable[[], Any], clock: Clock, workers: int = DEFAULT_WORKERS
) -> Callable[[list[OrderSnapshot]], list[str]]:
    """The real sync: one BatchGetItem for the batch's existing orders, then one transaction per
    order on ``workers`` threads (the same code path as the webhooks). boto3 resources are not
    thread-safe: each thread builds its own table with ``make_table``."""
    from shared.adapters.dynamodb.orders import OrderRepository  # noqa: PLC0415 (boto3 only when used)
    from shared.adapters.dynamodb.repository import DynamoRepository  # noqa: PLC0415
    from shared.services import commerce_sync  # noqa: PLC0415

    local = threading.local()
    starter = RecordOnly()

    def repositories() -> tuple[OrderRepository, DynamoRepository]:
        if not hasattr(local, "repos"):
            table = make_table()
            local.repos = (OrderRepository(table), DynamoRepository(table))
        repos: tuple[OrderRepository, DynamoRepository] = local.repos
        return repos

    def one(snapshot: OrderSnapshot, found: Any) -> str:
        orders, repo = repositories()
        try:
            result = commerce_sync.sync_order(
                orders, repo, clock, snapshot, starter, current=found, prefetched=True, history=True
            )
        except (CommercePayloadError, ValidationError) as error:
            return "rejected:" + _reason(error)
        return {"created": "created", "updated": "updated"}.get(result.outcome, "unchanged")

    def sync(batch: list[OrderSnapshot]) -> list[str]:
        ids = [commerce_sync.order_id_for(s.source, s.external_id) for s in batch]
        existing = repositories()[0].get_orders(ids)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(one, snapshot, existing.get(i)) for snapshot, i in zip(batch, ids, strict=True)
            ]
            return [future.result() for future in futures]

    return sync


def _local_stack(url: str) -> tuple[str, str, str]:
    """(moto endpoint, table name, region) of a running local stack (``GET /local/stack``)."""
    from urllib.request import urlopen  # noqa: PLC0415

    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("--local takes the local stack's URL, e.g. http://127.0.0.1:3000")
    with urlopen(f"{url.rstrip('/')}/local/stack", timeout=5) as reply:  # noqa: S310 (loopback only)
        info = json.load(reply)
    return str(info["awsEndpoint"]), str(info["table_name"]), str(info["region"])


def _summary(state: State, out: TextIO) -> None:
    counts = state.counts
    out.write(
        f"{state.file}: {state.total} orders -> created {counts.get('created', 0)},"
        f" updated {counts.get('updated', 0)}, unchanged {counts.get('unchanged', 0)},"
        f" rejected {counts.get('rejected', 0)}\n"
    )
    reasons = Counter(r["reason"] for r in state.rejections)
    for reason, count in reasons.most_common():
        where = ", ".join([r["record"] for r in state.rejections if r["reason"] == reason][:5])
        out.write(f"  rejected x{count}: {reason} ({where}{', ...' if count > 5 else ''})\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="import_orders", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--platform", choices=[p.value for p in Platform], help="default: detected")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint, read it all again")
    parser.add_argument("--state-dir", type=Path, default=Path(".import-state"))
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="default: $TABLE_NAME")
    parser.add_argument("--local", metavar="URL", help="the running local stack, e.g. http://127.0.0.1:3000")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")

    import boto3  # noqa: PLC0415 (the CLI's --help stays fast)

    from shared.adapters.clock import SystemClock  # noqa: PLC0415

    if args.local:
        endpoint, table_name, region = _local_stack(args.local)

        def make_table() -> Any:
            session = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 (moto's fake credentials, loopback only)
                region_name=region,
            )
            return session.resource("dynamodb", endpoint_url=endpoint).Table(table_name)

    elif args.table:
        table_name = args.table

        def make_table() -> Any:
            return boto3.session.Session().resource("dynamodb").Table(table_name)

    else:
        parser.error("set TABLE_NAME (or --table), or --local URL for the local stack")
    # moto (the local stack) copies its tables unguarded during transactions: one writer there.
    workers = 1 if args.local else max(1, args.workers)
    sync = dynamo_sync(make_table, SystemClock(), workers=workers)
    try:
        state, began = run(
            args.file,
            sync,
            state_dir=args.state_dir,
            platform=Platform(args.platform) if args.platform else None,
            batch=max(1, args.batch),
            restart=args.restart,
        )
    except CommercePayloadError as error:
        sys.stderr.write(f"cannot import {args.file}: {error}\n")
        return 2
    if began == "already imported":
        sys.stdout.write("already imported (checkpoint found); --restart reads it again\n")
    elif began != "started":
        sys.stdout.write(f"{began} (checkpoint found)\n")
    _summary(state, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
