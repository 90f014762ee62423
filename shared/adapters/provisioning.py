"""The provisioning system: a real HTTP client (stdlib urllib) and a fake for local and tests.

Contract (JSON over HTTPS): ``POST <base>/orders`` with ``Idempotency-Key: <order id>`` and
``{"order_id", "order_number", "lines": [{"line_id", "sku", "quantity", "hardware"}]}``;
answers ``{"reference", "lines": [{"line_id", "serial_numbers": [...]}]}``. The idempotency
key makes a retried declaration return the same reference and serials.

429, 5xx, timeouts and network errors raise ``TransientError`` (the state machine retries with
backoff); any other 4xx raises ``ProvisioningRejected`` (a person must look: retrying won't help).
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from shared.domain.catalog import Product
from shared.domain.order import Order
from shared.domain.workflow import ProvisioningRejected, TransientError
from shared.workflow_ports import Provisioned, Provisioning

FAKE_SCHEME = "fake:"
MAX_BODY = 1_000_000


def request_body(order: Order, hardware: dict[str, Product]) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_number": order.number,
        "lines": [
            {"line_id": line.id, "sku": line.sku, "quantity": line.quantity, "hardware": line.sku in hardware}
            for line in order.lines
        ],
    }


class HttpProvisioning:
    def __init__(self, base_url: str, timeout_s: float = 5.0, token: str | None = None) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the provisioning URL must be http(s)")
        self._url = base_url.rstrip("/") + "/orders"
        self._timeout = timeout_s
        self._token = token

    def declare(self, order: Order, hardware: dict[str, Product]) -> Provisioned:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": order.id,
            "User-Agent": "guichet-workflow/1",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = json.dumps(request_body(order, hardware)).encode()
        request = urllib.request.Request(self._url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (URL from settings, http(s) only)
                payload = json.loads(response.read(MAX_BODY))
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise TransientError(f"provisioning answered {error.code}") from error
            raise ProvisioningRejected(f"provisioning refused the order ({error.code})") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise TransientError(f"provisioning unreachable: {type(error).__name__}") from error
        except ValueError as error:
            raise TransientError("provisioning answered something that is not JSON") from error
        return parse_response(payload)


def parse_response(payload: Any) -> Provisioned:
    if not isinstance(payload, dict) or not isinstance(payload.get("reference"), str):
        raise TransientError("provisioning answered without a reference")
    serials: dict[str, list[str]] = {}
    for line in payload.get("lines") or []:
        if isinstance(line, dict) and isinstance(line.get("line_id"), str):
            serials[line["line_id"]] = [str(s) for s in line.get("serial_numbers") or []]
    return Provisioned(reference=payload["reference"], serial_numbers=serials)


class FakeProvisioning:
    """Answers like the real system: a stable reference and serial numbers per hardware unit;
    each service line is linked to the order's hardware serials. Deterministic by order id."""

    def __init__(self) -> None:
        self.declared: list[str] = []

    def declare(self, order: Order, hardware: dict[str, Product]) -> Provisioned:
        self.declared.append(order.id)
        digest = hashlib.sha256(order.id.encode()).hexdigest()[:8].upper()
        serials: dict[str, list[str]] = {}
        for line in order.lines:
            if line.sku in hardware:
                serials[line.id] = [f"SN-{line.sku}-{digest}-{n}" for n in range(1, line.quantity + 1)]
        linked = [s for values in serials.values() for s in values]
        for line in order.lines:
            if line.is_service and linked:
                serials[line.id] = linked
        return Provisioned(reference=f"PRV-{digest}", serial_numbers=serials)


def provisioning_for(url: str, timeout_s: float = 5.0) -> Provisioning:
    """``fake:`` -> the in-process fake (local stack, tests); an http(s) URL -> the real client."""
    if url.startswith(FAKE_SCHEME):
        return FakeProvisioning()
    return HttpProvisioning(url, timeout_s)
