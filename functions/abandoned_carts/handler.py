"""Scheduled (``abandoned-carts``, every 15 minutes): checkouts still open ABANDONED_CART_MINUTES
after their last update become abandoned carts on the customer's profile (a timeline entry).

Reads only what is due (GSI3 ``DUE#CART#<shard>``); each cart is marked with a version-guarded
write, so overlapping runs and a checkout completing meanwhile are both safe.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.orders import OrderRepository
from shared.services.commerce_sync import sweep_abandoned_carts
from shared.settings import CartSweepSettings, load

logger = Logger()
_wired: tuple[OrderRepository, SystemClock, timedelta] | None = None


def _wire() -> tuple[OrderRepository, SystemClock, timedelta]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(CartSweepSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        _wired = (OrderRepository(table), SystemClock(), timedelta(minutes=settings.abandoned_cart_minutes))
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    orders, clock, delay = _wire()
    result = sweep_abandoned_carts(orders, clock, delay)
    logger.info(
        "abandoned carts swept", extra={"abandoned": result.abandoned, "lost_races": result.lost_races}
    )
    return {"abandoned": result.abandoned, "lost_races": result.lost_races}
