"""POST /webhooks/form on moto, from the samples in events/form_webhook/."""

from __future__ import annotations

import base64
import json

from functions.form_webhook.handler import handler
from shared.domain.inbound import InboundEnvelope
from tests.support import load_event


def _queued(aws: dict) -> list[InboundEnvelope]:
    messages = (
        aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    )
    return [InboundEnvelope.model_validate_json(m["Body"]) for m in messages]


def test_json_submission_is_accepted_with_a_reference_and_enqueued(aws, lambda_context):
    response = handler(load_event("form_webhook/json_submission"), lambda_context)

    assert response["statusCode"] == 202
    body = json.loads(response["body"])
    assert body["status"] == "accepted"
    assert body["reference"].startswith("F")
    [envelope] = _queued(aws)
    assert envelope.reference == body["reference"]
    assert envelope.dedup_key == "web_form:7b0f8a0e-5a0c-4d1e-9a53-1f7d2f0c9e44"
    assert envelope.payload["email"] == "jean.martin@example.net"
    assert "website" not in envelope.payload


def test_resubmission_gets_the_same_reference(aws, lambda_context):
    first = json.loads(handler(load_event("form_webhook/json_submission"), lambda_context)["body"])
    second = json.loads(handler(load_event("form_webhook/json_submission"), lambda_context)["body"])
    assert first["reference"] == second["reference"]


def test_form_encoded_body_is_decoded_and_normalised(aws, lambda_context):
    response = handler(load_event("form_webhook/form_encoded_submission"), lambda_context)

    assert response["statusCode"] == 202
    [envelope] = _queued(aws)
    assert envelope.payload["email"] == "amelie.durand@xn--lan-9la.fr"
    assert envelope.payload["phone"] == "+33612345678"
    assert envelope.payload["consent"] is True


def test_invalid_fields_are_each_named_in_a_400(aws, lambda_context):
    response = handler(load_event("form_webhook/invalid_fields"), lambda_context)

    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    fields = {error["field"] for error in body["errors"]}
    assert {"name", "email", "message", "consent"} <= fields
    assert _queued(aws) == []


def test_malformed_json_is_a_400_with_a_json_error(aws, lambda_context):
    response = handler(load_event("form_webhook/malformed_json"), lambda_context)

    assert response["statusCode"] == 400
    assert "not valid JSON" in json.loads(response["body"])["message"]
    assert _queued(aws) == []


def test_body_over_256_kb_is_a_413(aws, lambda_context):
    event = load_event("form_webhook/json_submission")
    form = json.loads(event["body"])
    form["message"] = "x" * (256 * 1024)
    event["body"] = json.dumps(form)

    response = handler(event, lambda_context)

    assert response["statusCode"] == 413
    assert _queued(aws) == []


def test_missing_contact_details_is_refused(aws, lambda_context):
    event = load_event("form_webhook/json_submission")
    form = json.loads(event["body"])
    del form["email"], form["phone"]
    event["body"] = json.dumps(form)

    response = handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert "email address or a phone number" in response["body"]


def test_filled_honeypot_is_answered_like_a_human_but_not_enqueued(aws, lambda_context):
    response = handler(load_event("form_webhook/honeypot_filled"), lambda_context)

    assert response["statusCode"] == 202
    assert _queued(aws) == []


def test_unsupported_content_type_is_a_415(aws, lambda_context):
    event = load_event("form_webhook/json_submission")
    event["headers"]["content-type"] = "text/csv"
    event["body"] = base64.b64encode(b"a,b").decode()
    event["isBase64Encoded"] = True

    response = handler(event, lambda_context)

    assert response["statusCode"] == 415
