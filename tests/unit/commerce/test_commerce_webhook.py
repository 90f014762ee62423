"""Commerce webhook pieces: the published vectors through our verifier, the WooCommerce ping,
the envelope shape, and a cold import without the domain or boto3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.adapters.channels.signatures import hmac_sha256_base64
from shared.adapters.commerce.webhook import envelope_json, is_woocommerce_ping, verify
from shared.domain.inbound import InboundEnvelope
from tests.support import ROOT
from tests.unit.channels.fixtures import headers, sample_bytes, vector


def test_the_shopify_published_vector_verifies() -> None:
    v = vector("shopify_hmac_vector.json")
    body = v["raw_body"].encode()
    assert verify("shopify", body, v["x_shopify_hmac_sha256"], v["secret"])
    assert not verify("shopify", body + b" ", v["x_shopify_hmac_sha256"], v["secret"])
    assert not verify("shopify", body, None, v["secret"])


def test_the_woocommerce_published_vector_computes_but_an_empty_secret_verifies_nothing() -> None:
    """WooCommerce's vector uses a new webhook's empty secret: the HMAC matches, yet anyone can
    compute an HMAC with an empty key, so the verifier refuses it (set a secret in WooCommerce)."""
    v = vector("woocommerce_signature_vector.json")
    assert hmac_sha256_base64(v["secret"], v["payload"].encode()) == v["x_wc_webhook_signature"]
    assert not verify("woocommerce", v["payload"].encode(), v["x_wc_webhook_signature"], v["secret"])


@pytest.mark.parametrize(
    ("sample", "header", "secret"),
    [
        ("shopify_orders_create.json", "X-Shopify-Hmac-Sha256", "test_secret_key"),
        ("woocommerce_order_created.json", "X-WC-Webhook-Signature", "wc_test_secret"),
    ],
)
def test_signed_samples_verify_over_their_raw_bytes(sample: str, header: str, secret: str) -> None:
    raw = sample_bytes(sample)
    source = sample.split("_", 1)[0]
    assert verify(source, raw, headers(sample)[header], secret)
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not verify(source, reserialised, headers(sample)[header], secret)


@pytest.mark.parametrize(
    ("body", "ping"),
    [
        (b"webhook_id=12", True),
        (b"webhook_id=12\n", True),
        (b"webhook_id=", False),
        (b"webhook_id=12&x=1", False),
        (b"webhook_id=abc", False),
        (b'{"webhook_id": 12}', False),
        (b"webhook_id=1" + b"2" * 100, False),
    ],
)
def test_only_the_woocommerce_creation_ping_is_a_ping(body: bytes, ping: bool) -> None:
    assert is_woocommerce_ping(body) is ping


def test_the_envelope_is_an_inbound_envelope_routed_by_source() -> None:
    raw = sample_bytes("shopify_orders_create.json")
    reference, text = envelope_json(
        "shopify", raw, topic="orders/create", webhook_id="w-1", shop="example-store.myshopify.com"
    )
    envelope = InboundEnvelope.model_validate_json(text)
    assert envelope.reference == reference
    assert envelope.payload["source"] == "shopify"
    assert envelope.payload["topic"] == "orders/create"
    assert envelope.payload["body"].encode() == raw  # byte for byte


def test_the_webhook_module_imports_without_the_domain_or_boto3() -> None:
    heavy = ("pydantic", "boto3", "botocore.client", "phonenumbers")
    module = "functions.commerce_webhook.handler"
    code = f"import sys, {module}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
