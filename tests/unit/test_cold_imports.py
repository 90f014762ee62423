"""Webhook modules answer senders with short deadlines: their import must stay light.

Measured in bench/results.md; this guards what makes them light (no pydantic domain, no
boto3 until the first delivery), in a fresh interpreter like a Lambda cold start.
"""

import subprocess
import sys

import pytest

from tests.support import ROOT

# Powertools imports the bare botocore package (0.5 ms) for its user agent; the client is the cost.
HEAVY = ("pydantic", "boto3", "botocore.client", "phonenumbers")


@pytest.mark.parametrize("module", ["functions.meta_webhook.handler", "functions.twilio_webhook.handler"])
def test_a_webhook_module_imports_without_the_domain_or_boto3(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
