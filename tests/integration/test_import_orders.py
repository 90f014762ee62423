"""make import: exports from events/import on moto; counts, reasons, resume, idempotence."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from shared.adapters.commerce.exports import Format, Platform, detect_format, records
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.cli import import_orders
from shared.cli.import_orders import dynamo_sync, run
from shared.domain.order import OrderStage, PaymentStatus
from shared.services.commerce_sync import order_id_for
from tests.support import EVENTS, FixedClock

IMPORTS = EVENTS / "import"


def _run(aws, path: Path, state_dir: Path, **kwargs):
    # moto's transactions are not thread-safe (real DynamoDB's are): one worker here.
    sync = dynamo_sync(lambda: aws["table"], FixedClock(), workers=1)
    return run(path, sync, state_dir=state_dir, progress=io.StringIO(), **kwargs)


def test_formats_and_platforms_are_detected() -> None:
    assert detect_format((IMPORTS / "shopify_orders.jsonl").read_bytes()[:64]) is Format.json
    assert detect_format((IMPORTS / "shopify_orders_export.csv").read_bytes()[:64]) is Format.csv
    found = list(records((IMPORTS / "shopify_orders_export.csv").read_bytes()))
    assert [(r.label, r.platform) for r in found] == [
        ("rows 2-3", Platform.shopify),
        ("row 4", Platform.shopify),
        ("row 5", Platform.shopify),
    ]
    woo = list(records((IMPORTS / "woocommerce_orders_export.csv").read_bytes()))
    assert {r.platform for r in woo} == {Platform.woocommerce} and len(woo) == 3


def test_a_shopify_json_lines_export(aws, tmp_path) -> None:
    state, began = _run(aws, IMPORTS / "shopify_orders.jsonl", tmp_path)

    assert began == "started" and state.finished
    assert state.counts == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 3}
    assert [r["record"] for r in state.rejections] == ["line 3", "line 4", "line 7"]
    reasons = " | ".join(r["reason"] for r in state.rejections)
    assert "order.total_price" in reasons and "quantity" in reasons
    assert "dan@example.com" not in reasons  # reasons name fields, never content
    orders = OrderRepository(aws["table"])
    alice_first = orders.get_order(order_id_for(Platform.shopify, "450789470")).value  # type: ignore[arg-type]
    alice_second = orders.get_order(order_id_for(Platform.shopify, "450789471")).value  # type: ignore[arg-type]
    assert alice_first.customer_id == alice_second.customer_id  # one profile, two orders
    profile = DynamoRepository(aws["table"]).get_customer(alice_first.customer_id)
    assert profile.value.traits.orders_count == 2
    # delivered before the import: no satisfaction survey for last season's parcel
    assert alice_second.delivered_at is not None and alice_second.satisfaction_requested_at is None
    assert alice_second.satisfaction_skipped


def test_csv_exports_of_both_platforms(aws, tmp_path) -> None:
    shop, _ = _run(aws, IMPORTS / "shopify_orders_export.csv", tmp_path)
    woo, _ = _run(aws, IMPORTS / "woocommerce_orders_export.csv", tmp_path)

    assert shop.counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert woo.counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    orders = OrderRepository(aws["table"])
    lea = orders.get_order(order_id_for(Platform.shopify, "5550001")).value  # type: ignore[arg-type]
    assert [line.sku for line in lea.lines] == ["CASQ-01", "USB-C-1M"]
    assert lea.shipping_address.postal_code == "59000" and lea.phone == "+33611223344"
    hugo = orders.get_order(order_id_for(Platform.woocommerce, "728")).value  # type: ignore[arg-type]
    assert hugo.payment.status is PaymentStatus.paid and hugo.delivered_at is not None
    # Imported as delivered: the stage its status implies, dated when it was delivered (issue 13.8).
    assert hugo.stage is OrderStage.completed and len(hugo.lines) == 2
    assert [e.stage for e in hugo.stage_history] == [OrderStage.reception, OrderStage.completed]
    assert hugo.stage_history[-1].at == hugo.delivered_at
    assert hugo.stage_history[-1].note == "delivered imported from woocommerce"


def test_an_interrupted_import_resumes_and_a_second_run_changes_nothing(aws, tmp_path) -> None:
    path = IMPORTS / "shopify_orders.jsonl"
    first, began = _run(aws, path, tmp_path, batch=2, stop_after=2)
    assert began == "started" and not first.finished and first.done == 4

    resumed, began = _run(aws, path, tmp_path, batch=2)
    assert began == "resumed at record 5" and resumed.finished
    assert resumed.counts == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 3}

    again, began = _run(aws, path, tmp_path, batch=2)
    assert began == "already imported" and again.counts == resumed.counts
    restarted, _ = _run(aws, path, tmp_path, batch=2, restart=True)
    assert restarted.counts == {"created": 0, "updated": 0, "unchanged": 4, "rejected": 3}


def test_the_command_line(aws, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TABLE_NAME", "guichet-test")
    args = [str(IMPORTS / "woocommerce_orders_export.csv"), "--state-dir", str(tmp_path), "--workers", "1"]

    assert import_orders.main(args) == 0
    out, err = capsys.readouterr()
    assert "created 2, updated 0, unchanged 0, rejected 1" in out
    assert "rejected x1: order.line_items[0].quantity" in out and "(row 4)" in out
    assert "100%" in err  # the progress bar
    assert import_orders.main(args) == 0
    assert "already imported" in capsys.readouterr().out


def test_a_file_that_is_no_export_is_refused(aws, tmp_path, monkeypatch, capsys) -> None:
    bad = tmp_path / "people.csv"
    bad.write_text("first,last\nA,B\n")
    monkeypatch.setenv("TABLE_NAME", "guichet-test")
    assert import_orders.main([str(bad), "--state-dir", str(tmp_path)]) == 2
    assert "neither a Shopify nor a WooCommerce" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["shopify_orders.jsonl", "shopify_orders_export.csv", "woocommerce_orders_export.csv"]
)
def test_samples_are_small(name) -> None:
    assert (IMPORTS / name).stat().st_size < 16_000
