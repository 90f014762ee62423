"""Orders and commerce operations for `make bench` (issue 6, items 1-3): AWS calls per webhook,
per sync, per abandoned-cart sweep, per 360 order view and per imported order.

Called by bench/__main__.py inside its moto session; it passes its ``capture`` (AWS calls, items,
units, log bytes of one invocation) and its ``Measure`` type, so the rows share its table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.counter import Tally, counting

Capture = Callable[[Callable[[], Any]], tuple[Any, Tally, int]]
LAST_IMPORT: dict[str, Any] = {}  # what operations() measured of the import, for report()


def operations(
    handles: dict[str, Any], context: Any, capture: Capture, measure: Callable[..., Any]
) -> list[Any]:
    """Each webhook warm (its secret cached), then the processor on what it enqueued."""
    from functions.abandoned_carts import handler as carts
    from functions.commerce_webhook import handler as webhook
    from functions.inbound_processor import handler as processor
    from functions.orders_api import handler as orders_api
    from shared.domain.ids import stable_id
    from tests.support import load_event, sqs_event

    sqs, queue_url = handles["sqs"], handles["queue_url"]
    measures: list[Any] = []

    def post(case: str, label: str | None) -> dict[str, Any]:
        _, tally, logged = capture(lambda: webhook.handler(load_event(f"commerce_webhook/{case}"), context))
        if label:
            measures.append(measure(label, "commerce_webhook", tally, logged, True))
        [queued] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=queued["ReceiptHandle"])
        return dict(queued)

    def process(queued: dict[str, Any], label: str) -> None:
        _, tally, logged = capture(lambda: processor.handler(sqs_event([queued]), context))
        measures.append(measure(label, "inbound_processor", tally, logged, False, True))

    while leftovers := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in leftovers:  # what earlier measures left behind (one purge a minute only)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    process(post("woocommerce_order_deleted", None), "warm-up")  # wiring, the secret cache
    measures.pop()
    process(
        post("shopify_orders_create", "Shopify webhook (POST /webhooks/shopify)"),
        "sync: new order, new customer",
    )
    process(post("shopify_checkouts_create", None), "sync: checkout (known customer)")
    _, tally, logged = capture(lambda: carts.handler({}, context))
    measures.append(measure("abandoned-cart sweep, 1 cart due", "abandoned_carts", tally, logged, False))
    _, tally, logged = capture(lambda: carts.handler({}, context))
    measures.append(measure("abandoned-cart sweep, nothing due", "abandoned_carts", tally, logged, False))
    process(post("shopify_orders_updated", None), "sync: order update (its abandoned cart recovered)")
    process(post("shopify_fulfillments_create", None), "sync: fulfillment (shipment, tracking)")
    process(post("shopify_fulfillments_update_delivered", None), "sync: delivered -> satisfaction requested")
    process(post("shopify_fulfillments_update_delivered", None), "sync: duplicate delivery (same webhook id)")
    process(post("shopify_orders_create", None), "sync: older news (an earlier updated_at)")
    process(
        post("woocommerce_order_created", "WooCommerce webhook (POST /webhooks/woocommerce)"),
        "sync: WooCommerce order, new customer",
    )

    event = load_event("orders_api/get_order")
    order_id = stable_id("O", "shopify", "450789469")
    event["pathParameters"]["order_id"] = order_id
    orders_api.handler(event, context)  # warm
    result, tally, logged = capture(lambda: orders_api.handler(event, context))
    assert json.loads(result["body"])["order"]["id"] == order_id
    measures.append(measure("360 order view (no linked ticket)", "orders_api", tally, logged, True))
    LAST_IMPORT.update(zip(("orders", "tally"), import_per_order(handles), strict=True))
    return measures


def import_per_order(handles: dict[str, Any]) -> tuple[int, Tally]:
    """The history import of events/import/shopify_orders.jsonl: (orders written, total tally)."""
    import io
    import tempfile
    from pathlib import Path

    from shared.cli.import_orders import dynamo_sync, run
    from tests.support import EVENTS, FixedClock

    sync = dynamo_sync(lambda: handles["table"], FixedClock(), workers=1)
    with tempfile.TemporaryDirectory() as state_dir, counting() as tally:
        state, _ = run(
            EVENTS / "import" / "shopify_orders.jsonl",
            sync,
            state_dir=Path(state_dir),
            progress=io.StringIO(),
        )
    return state.counts["created"] + state.counts["updated"], tally


def report(measures: list[Any]) -> list[str]:
    from bench import prices

    rows = [m for m in measures if m.function in ("commerce_webhook", "abandoned_carts", "orders_api")]
    rows += [m for m in measures if m.operation.startswith("sync:")]
    webhook = next(m for m in rows if m.operation.startswith("Shopify webhook"))
    sync = next(m for m in rows if m.operation.startswith("sync: order update"))
    per_update = sum(webhook.dollars_per_million().values()) + sum(sync.dollars_per_million().values())
    count, tally = LAST_IMPORT["orders"], LAST_IMPORT["tally"]
    calls = ", ".join(f"{name} {n / count:.2f}" for name, n in sorted(tally.calls.items()))
    ddb = (tally.read_units * prices.DDB_READ_UNIT + tally.write_units * prices.DDB_WRITE_UNIT) / count * 1e6
    lines = [
        "",
        "## Orders and commerce (issue 6, items 1-3)",
        "",
        "Webhooks: one warm invocation (secret cached), 1 AWS call each. Sync: the processor on that",
        "delivery (1 transaction per event; reads: the order, its identities and profile when new).",
        "",
        "| operation | AWS calls | items read | items written | write units | $ per million |",
        "|---|---|---|---|---|---|",
    ]
    for m in rows:
        calls_text = ", ".join(f"{name} {n}" for name, n in sorted(m.tally.calls.items())) or "none"
        lines.append(
            f"| {m.operation} | {calls_text} | {m.tally.items_read} | {m.tally.items_written}"
            f" | {m.tally.write_units:g} | {sum(m.dollars_per_million().values()):.2f} |"
        )
    lines += [
        "",
        f"One Shopify order update end to end (webhook + sync): **${per_update:.2f} per million**.",
        f"History import, per order written ({count} orders of events/import/shopify_orders.jsonl,"
        f" new customers included): {calls}; {tally.write_units / count:.1f} write units, DynamoDB"
        f" ${ddb:.2f} per million orders (no Lambda: the CLI runs where you start it).",
    ]
    return lines
