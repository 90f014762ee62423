"""Every published signature vector, every signed sample, and the ways a signature must fail."""

from __future__ import annotations

import base64
import hashlib
import sys
from urllib.parse import parse_qsl, quote

import pytest

from shared.adapters.channels import meta, twilio
from shared.adapters.channels.meta import HandshakeOutcome, verify_handshake, verify_meta_signature
from shared.adapters.channels.signatures import (
    compute_twilio_signature,
    hmac_sha256_base64,
    verify_hmac_sha256_base64,
    verify_twilio_signature,
)
from tests.unit.channels.fixtures import HERE, REFERENCE, headers, sample_bytes, vector

META_SAMPLES = [
    "whatsapp_message_text.json",
    "whatsapp_message_image_reply.json",
    "whatsapp_statuses.json",
    "messenger_message.json",
    "messenger_echo_delivery_read.json",
    "instagram_message.json",
]
TWILIO_SAMPLES = [
    "twilio_sms_inbound.form",
    "twilio_whatsapp_inbound_media.form",
    "twilio_message_status_callback.form",
    "twilio_voice_status_callback.form",
]

# --- Meta ----------------------------------------------------------------------------------------


def test_meta_published_vector():
    v = vector("meta_x_hub_signature_256_vector.json")
    assert verify_meta_signature(v["raw_body"].encode(), v["x_hub_signature_256_header"], v["app_secret"])


@pytest.mark.parametrize("name", META_SAMPLES)
def test_meta_signed_samples_verify_over_the_raw_bytes(name):
    raw = sample_bytes(name)
    signature = headers(name)["X-Hub-Signature-256"]
    assert verify_meta_signature(raw, signature, "TEST_APP_SECRET")


def test_meta_signature_breaks_when_the_json_is_reserialised():
    import json

    raw = sample_bytes("whatsapp_message_text.json")  # contains "où" as raw UTF-8
    signature = headers("whatsapp_message_text.json")["X-Hub-Signature-256"]
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not verify_meta_signature(reserialised, signature, "TEST_APP_SECRET")


@pytest.mark.parametrize(
    ("header", "secret"),
    [
        (None, "TEST_APP_SECRET"),
        ("", "TEST_APP_SECRET"),
        ("sha256=", "TEST_APP_SECRET"),
        ("0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221", "TEST_APP_SECRET"),  # no prefix
        ("sha1=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221", "TEST_APP_SECRET"),
        ("sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888222", "TEST_APP_SECRET"),
        ("sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221", "OTHER_SECRET"),
        ("sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221", ""),
        ("sha256=é", "TEST_APP_SECRET"),  # non-ASCII must not crash compare_digest
    ],
)
def test_meta_bad_or_missing_signatures_are_refused(header, secret):
    assert not verify_meta_signature(b"test", header, secret)


def test_meta_signature_header_case_and_spaces_are_tolerated():
    assert verify_meta_signature(
        b"test",
        " SHA256=0C61947B610D4F45E65F3D680E26027121EC2413E77598BCB6CFC6E0D9888221 ",
        "TEST_APP_SECRET",
    )


def test_meta_handshake_from_the_sample_request():
    line = sample_bytes("whatsapp_verify_get.txt").decode().splitlines()[0]
    query = line.split(" ")[1].split("?", 1)[1]
    params = dict(parse_qsl(query))
    result = verify_handshake(params, "my-verify-token")
    assert result.outcome is HandshakeOutcome.accepted
    assert (result.status_code, result.body) == (200, "1158201444")


def test_meta_handshake_wrong_token_is_forbidden():
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"}
    result = verify_handshake(params, "my-verify-token")
    assert (result.outcome, result.status_code, result.body) == (HandshakeOutcome.forbidden, 403, "")
    assert result.reason
    assert verify_handshake(params, "").outcome is HandshakeOutcome.forbidden  # nothing configured


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hub.mode": "subscribe", "hub.verify_token": "my-verify-token"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "my-verify-token"},
        {"hub.mode": "subscribe", "hub.challenge": "<script>", "hub.verify_token": "my-verify-token"},
    ],
)
def test_meta_handshake_missing_or_odd_params_are_a_bad_request(params):
    result = verify_handshake(params, "my-verify-token")
    assert (result.outcome, result.status_code) == (HandshakeOutcome.bad_request, 400)


def test_the_verifiers_do_not_load_the_domain():
    """Webhooks import these on a cold start; pydantic and phonenumbers must stay out."""
    import subprocess

    code = (
        "import sys\n"
        "import shared.adapters.channels.meta, shared.adapters.channels.signatures\n"
        "print('pydantic' in sys.modules or 'phonenumbers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- Twilio --------------------------------------------------------------------------------------


def test_twilio_published_vector():
    t = vector("twilio_signature_vectors.json")
    assert compute_twilio_signature(t["url"], t["params"], t["auth_token"]) == t["expected_signature"]
    assert verify_twilio_signature(t["url"], t["params"], t["expected_signature"], t["auth_token"])


@pytest.mark.parametrize("url", list(vector("twilio_signature_vectors.json")["port_variants"]))
def test_twilio_port_variants(url):
    t = vector("twilio_signature_vectors.json")
    expected = t["port_variants"][url]
    assert compute_twilio_signature(url, t["params"], t["auth_token"]) == expected
    assert verify_twilio_signature(url, t["params"], expected, t["auth_token"])


def test_twilio_signature_made_with_the_default_port_verifies_against_the_url_without_it():
    t = vector("twilio_signature_vectors.json")
    with_443 = t["port_variants"]["https://mycompany.com:443/myapp.php?foo=1&bar=2"]
    assert verify_twilio_signature(t["url"], t["params"], with_443, t["auth_token"])
    # ...and the other way round: a signature over the bare URL verifies for the :443 URL.
    assert verify_twilio_signature(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        t["params"],
        t["expected_signature"],
        t["auth_token"],
    )
    # As in twilio-python, the port-less variant drops any port (the URL is ours, rebuilt by the
    # webhook from its configuration, so this widens nothing a caller controls).
    assert verify_twilio_signature(
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
        t["params"],
        t["expected_signature"],
        t["auth_token"],
    )
    assert not verify_twilio_signature(
        "https://mycompany.com/myapp.php?foo=1", t["params"], t["expected_signature"], t["auth_token"]
    )


def test_twilio_repeated_parameters_sort_their_values():
    t = vector("twilio_signature_vectors.json")
    pairs = [tuple(p) for p in t["duplicate_params"]["params_in_order"]]
    expected = t["duplicate_params"]["expected_signature"]
    as_lists: dict[str, list[str]] = {}
    for name, value in pairs:
        as_lists.setdefault(name, []).append(value)
    assert compute_twilio_signature(t["url"], pairs, t["auth_token"]) == expected
    assert verify_twilio_signature(t["url"], as_lists, expected, t["auth_token"])


def test_twilio_json_body_variant():
    j = vector("twilio_signature_vectors.json")["json_body"]
    token = vector("twilio_signature_vectors.json")["auth_token"]
    assert hashlib.sha256(j["body"].encode()).hexdigest() == j["bodySHA256_hex"]
    assert verify_twilio_signature(j["signed_url"], {}, j["expected_signature"], token, raw_body=j["body"])
    assert verify_twilio_signature(
        j["signed_url"], {}, j["expected_signature"], token, raw_body=j["body"].encode()
    )
    # The body must be given and must hash to the URL's bodySHA256.
    assert not verify_twilio_signature(j["signed_url"], {}, j["expected_signature"], token)
    tampered = j["body"].replace("true", "false")
    assert not verify_twilio_signature(j["signed_url"], {}, j["expected_signature"], token, raw_body=tampered)


@pytest.mark.parametrize("name", TWILIO_SAMPLES)
def test_twilio_signed_samples_verify(name):
    h = headers(name)
    body = sample_bytes(name).decode().strip()
    assert verify_twilio_signature(
        h["_signed_url"], twilio.parse_form(body), h["X-Twilio-Signature"], "12345"
    )
    # The webhook's own shape: {name: [values]} from parse_qsl(keep_blank_values=True).
    pairs = parse_qsl(body, keep_blank_values=True)
    assert verify_twilio_signature(h["_signed_url"], pairs, h["X-Twilio-Signature"], "12345")


def test_twilio_blank_parameters_are_part_of_the_signature():
    name = "twilio_sms_inbound.form"
    h = headers(name)
    body = sample_bytes(name).decode().strip()
    without_blanks = dict(parse_qsl(body))  # drops ToState=, FromCity=, ...
    assert not verify_twilio_signature(h["_signed_url"], without_blanks, h["X-Twilio-Signature"], "12345")


@pytest.mark.parametrize(
    ("mutation", "token"),
    [
        ("header-none", "12345"),
        ("header-empty", "12345"),
        ("wrong-token", "54321"),
        ("empty-token", ""),
        ("other-url", "12345"),
        ("extra-param", "12345"),
        ("changed-body", "12345"),
    ],
)
def test_twilio_bad_or_missing_signatures_are_refused(mutation, token):
    name = "twilio_sms_inbound.form"
    h = headers(name)
    url, signature = h["_signed_url"], h["X-Twilio-Signature"]
    params = twilio.parse_form(sample_bytes(name).decode().strip())
    if mutation == "header-none":
        signature = None
    elif mutation == "header-empty":
        signature = ""
    elif mutation == "other-url":
        url = url.replace("/sms", "/status")
    elif mutation == "extra-param":
        params["Injected"] = ["1"]
    elif mutation == "changed-body":
        params["Body"] = ["Remboursez-moi"]
    assert not verify_twilio_signature(url, params, signature, token)


def test_twilio_verifier_is_reexported_from_the_twilio_module():
    assert twilio.verify_twilio_signature is verify_twilio_signature
    assert meta.verify_meta_signature is verify_meta_signature


def test_twilio_signature_handles_non_ascii_values():
    url = "https://api.example.com/webhooks/twilio/sms"
    params = {"Body": "Où est ma commande ? 📦", "From": "+33612345678"}
    signature = compute_twilio_signature(url, params, "12345")
    assert verify_twilio_signature(url, params, signature, "12345")
    form = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    assert verify_twilio_signature(url, twilio.parse_form(form), signature, "12345")


# --- Shopify and WooCommerce (generic base64 HMAC-SHA256) ---------------------------------------


def test_shopify_published_vector():
    v = vector("shopify_hmac_vector.json")
    assert hmac_sha256_base64(v["secret"], v["raw_body"].encode()) == v["x_shopify_hmac_sha256"]
    assert verify_hmac_sha256_base64(v["raw_body"].encode(), v["x_shopify_hmac_sha256"], v["secret"])


def test_woocommerce_published_vector_with_its_empty_secret():
    v = vector("woocommerce_signature_vector.json")
    assert hmac_sha256_base64(v["secret"], v["payload"].encode()) == v["x_wc_webhook_signature"]
    # ...but verification refuses an empty secret: anyone can compute that HMAC.
    assert not verify_hmac_sha256_base64(v["payload"].encode(), v["x_wc_webhook_signature"], v["secret"])


@pytest.mark.parametrize(
    ("name", "header", "secret"),
    [
        ("shopify_orders_create.json", "X-Shopify-Hmac-Sha256", "test_secret_key"),
        ("woocommerce_order_created.json", "X-WC-Webhook-Signature", "wc_test_secret"),
    ],
)
def test_shop_signed_samples_verify_and_tampering_fails(name, header, secret):
    raw = sample_bytes(name)
    signature = headers(name)[header]
    assert verify_hmac_sha256_base64(raw, signature, secret)
    assert not verify_hmac_sha256_base64(raw + b" ", signature, secret)
    assert not verify_hmac_sha256_base64(raw, signature, secret + "x")
    assert not verify_hmac_sha256_base64(raw, None, secret)
    assert not verify_hmac_sha256_base64(raw, base64.b64encode(b"x" * 32).decode(), secret)


# --- the copies ---------------------------------------------------------------------------------


def test_copies_match_the_reference():
    if not REFERENCE.is_dir():
        pytest.skip("the reference folder beside the repository is not here")
    for folder in ("samples", "vectors"):
        for copy in sorted((HERE / folder).iterdir()):
            assert copy.read_bytes() == (REFERENCE / folder / copy.name).read_bytes(), copy.name
