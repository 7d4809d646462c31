"""bench/load.py runs end to end: 8 search + 2 chat sessions, zero errors, one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # ingests the samples and runs the real local model server


def test_a_short_load_run_has_no_errors_and_ends_with_json():
    out = subprocess.run([sys.executable, "bench/load.py", "--seconds", "10"], cwd=ROOT,
                         capture_output=True, text=True, timeout=480, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == 0, result["error_samples"]
    assert result["searches"] > 0 and result["answers"] >= 2  # every chat session answered
    assert len(result["rss_mb_app"]) == 3 and all(m > 0 for m in result["rss_mb_app"])
