"""The OGC API – Features core conformance suite against a live, seeded server: no failures, nothing skipped.

The suite is ogctests (a Python port of the OGC's Java test suite for Part 1 Core, its CRS84 test requiring
the Part 2 class), pinned in the dev dependencies. It runs in a subprocess: it is a pytest session of its own,
and its HTTP client calls this process's live server thread.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from tests.helpers import LiveServer

RUN = ("import sys; from ogctests.main import run_ogctests; "
       "sys.exit(run_ogctests('features/core', sys.argv[1], ['-p', 'no:cacheprovider', '-rA', "
       "'--junitxml=' + sys.argv[2]]))")
CORE_TESTS = 29  # abstract tests in ogctests 0.1.15's features/core



def test_the_core_suite_passes_with_no_failure(live: LiveServer, tmp_path: Path) -> None:
    report = tmp_path / "ogctests.xml"
    result = subprocess.run([sys.executable, "-c", RUN, live.url, str(report)], capture_output=True, text=True,
                            timeout=600, cwd=tmp_path)
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    root = ElementTree.parse(report).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": CORE_TESTS, "failures": 0, "errors": 0, "skipped": 0}, result.stdout[-6000:]
    assert result.returncode == 0
