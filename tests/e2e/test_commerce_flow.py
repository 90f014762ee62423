"""E-commerce on the running local stack, over HTTP: Shopify's signed deliveries become an order
on the customer's profile, its delivery asks for the satisfaction stage, a checkout left alone
becomes an abandoned cart, and an export imports through `make import`'s CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.domain.ids import stable_id
from tests.e2e.conftest import ROOT, Stack
from tests.support import EVENTS

pytestmark = pytest.mark.e2e

ORDER_ID = stable_id("O", "shopify", "450789469")
SKIP_HEADERS = {"host", "content-length", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


def _wait(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _deliver(stack: Stack, case: str) -> None:
    """The sample's raw bytes and headers, exactly as the platform sent (and signed) them."""
    event = json.loads((EVENTS / "commerce_webhook" / f"{case}.json").read_text())
    headers = {k: v for k, v in event["headers"].items() if k not in SKIP_HEADERS}
    reply = stack.post(event["rawPath"], body=event["body"].encode(), headers=headers)
    assert reply.status == 200, reply.body


def _agent(stack: Stack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.token('agent')}"}


def _order(stack: Stack, headers: dict[str, str], check: Callable[[dict[str, Any]], bool]) -> Any:
    def probe() -> Any:
        reply = stack.get(f"/api/orders/{ORDER_ID}", headers=headers)
        return reply.json() if reply.status == 200 and check(reply.json()) else None

    return probe


def test_a_shopify_order_and_its_fulfillment_reach_the_profile_and_ask_for_satisfaction(stack: Stack) -> None:
    headers = _agent(stack)
    _deliver(stack, "shopify_orders_create")
    view = _wait(_order(stack, headers, lambda v: True), "the order to be synced")
    customer_id = view["contact"]["customer_id"]
    assert view["order"]["number"] == "#1001" and view["contact"]["name"] == "Bob Norman"

    _deliver(stack, "shopify_fulfillments_create")
    _deliver(stack, "shopify_fulfillments_update_delivered")
    _deliver(stack, "shopify_fulfillments_update_delivered")  # Shopify retried: nothing new
    view = _wait(
        _order(stack, headers, lambda v: v["order"].get("satisfaction_requested_at") is not None),
        "the delivered order to ask for the satisfaction stage",
    )
    [shipment] = view["order"]["shipments"]
    assert shipment["status"] == "delivered" and shipment["tracking_url"].startswith("https://")

    profile = stack.get(f"/api/customers/{customer_id}", headers=headers)
    assert profile.status == 200
    body = profile.json()
    emails = [i["value"] for i in body["customer"]["identities"] if i["kind"] == "email"]
    assert emails == ["bob.norman@example.com"]
    kinds = {(e["kind"], e["event_id"]) for e in body["timeline"]}
    assert {
        ("order", f"order:{ORDER_ID}:placed"),
        ("shipment", f"order:{ORDER_ID}:shipment:255858046:shipped"),
        ("shipment", f"order:{ORDER_ID}:shipment:255858046:delivered"),
        ("order", f"order:{ORDER_ID}:delivered"),
    } <= kinds

    orders = stack.get(f"/api/customers/{customer_id}/orders", headers=headers).json()
    assert [o["id"] for o in orders["items"]] == [ORDER_ID]
    queues = stack.get("/local/queues").json()
    assert queues["inbound-dlq"]["visible"] == 0

    # The delivered order enters the workflow at Satisfaction: the customer gets the survey link.
    def survey_mail() -> dict | None:
        for item in stack.get("/local/outbox").json():
            text = json.dumps(item)
            if item.get("kind") == "email" and "bob.norman@example.com" in text and "/survey/" in text:
                return item
        return None

    assert _wait(survey_mail, "the satisfaction survey email") is not None


def test_a_checkout_without_an_order_becomes_an_abandoned_cart(stack: Stack) -> None:
    headers = _agent(stack)
    _deliver(stack, "shopify_checkouts_create")
    checkout = stable_id("K", "shopify", "2a1ace52255252df566af0faaedfbfa7")

    def abandoned() -> Any:
        fired = stack.post("/local/schedules/abandoned-carts/fire")
        assert fired.status == 200, fired.body
        owner = _wait(_owner(stack, headers), "the checkout's customer")
        timeline = stack.get(f"/api/customers/{owner}", headers=headers).json()["timeline"]
        return [e for e in timeline if e["event_id"] == f"cart:{checkout}:abandoned"]

    [entry] = _wait(abandoned, "the abandoned cart on the profile")
    assert entry["kind"] == "abandoned_cart" and entry["details"]["recovery_url"]


def _owner(stack: Stack, headers: dict[str, str]) -> Callable[[], Any]:
    """Bob's profile, found through an order number search (his #1001 is synced above, or here)."""

    def probe() -> Any:
        _deliver(stack, "shopify_orders_create")  # idempotent: a duplicate if it is there already
        found = stack.get("/api/orders?number=%231001", headers=headers).json()["items"]
        return found[0]["customer_id"] if found else None

    return probe


def test_an_export_imports_into_the_local_stack(stack: Stack, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "shared.cli.import_orders",
        str(EVENTS / "import" / "woocommerce_orders_export.csv"),
        "--local",
        stack.base_url,
        "--state-dir",
        str(tmp_path),
    ]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "created 2, updated 0, unchanged 0, rejected 1" in first.stdout
    again = subprocess.run(
        [*command, "--restart"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert "created 0, updated 0, unchanged 2, rejected 1" in again.stdout
    headers = _agent(stack)
    found = stack.get("/api/orders?number=728", headers=headers).json()["items"]
    assert [o["total"] for o in found] == ["35.40"]
