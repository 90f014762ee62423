"""The runtime guard in tests/conftest.py really refuses a Scan (so its silence means something)."""

import pytest


def test_a_scan_fails_the_test_that_issues_it(aws):
    with pytest.raises(AssertionError, match="Scan was called"):
        aws["table"].scan()
