"""Static guard beside the runtime one (tests/conftest.py): no request path may Scan."""

import re

from tests.support import ROOT

SCAN = re.compile(r"\.scan\(|[\"']Scan[\"']")


def test_no_source_file_issues_a_dynamodb_scan():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "functions")
        for path in (ROOT / folder).rglob("*.py")
        if SCAN.search(path.read_text())
    ]
    assert offenders == []
