"""Bad command lines: one clear line, exit code 2 (refused by the parser) or 3 (a value edgeperf refuses once
parsed), no traceback, and nothing opened, started or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CASES = [
    (["--model", "/no/such/model.tflite"], "no model file at /no/such/model.tflite", 2),
    (["--warmups", "-5"], "--warmups: must be 0 or more", 2),
    (["--max-recoveries", "-1"], "--max-recoveries: must be 0 or more", 2),
    (["--query-timeout", "0"], "--query-timeout: must be above 0", 2),
    (["--baud", "0"], "--baud: must be above 0", 2),
    (["--sim-clock-mhz", "0"], "above 0 MHz", 3),
    (["--sim-clock-mhz", "nan"], "above 0 MHz", 3),
    (["--sim-time-scale", "-1"], "--sim-time-scale must be 0 or more", 3),
]


@pytest.mark.parametrize(("extra", "message", "code"), CASES,
                         ids=lambda case: " ".join(case) if isinstance(case, list) else None)
def test_a_bad_option_is_one_clear_line_and_nothing_else_happens(tmp_path, extra, message, code):
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "-b", "kws01", *extra,
                           "--results", str(tmp_path / "res")], env=dict(os.environ, PYTHONPATH=str(REPO / "host")),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert not (tmp_path / "res").exists()  # validated before a results folder or a board exists
