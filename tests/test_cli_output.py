"""What `edgeperf` prints when its output is a pipe, a file or a CI log, not a terminal: errors and tables
never hard-wrapped, --json for machines, progress lines as they happen, --quiet, files the umask opens."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import edgeperf

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The environment of a CI job: no terminal, and no COLUMNS to hide a wrapping bug."""
    env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
    return dict(env, PYTHONPATH=str(REPO / "host"))


def _cli(*args: str, cwd: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=_env(), text=True,
                          capture_output=True, timeout=600, umask=umask)


def test_version(tmp_path):
    proc = _cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == f"edgeperf {edgeperf.__version__}\n"


def test_an_error_is_one_line_when_piped(tmp_path):
    # A long path, and brackets rich would read as markup: the message must come out whole, on one line.
    occupied = tmp_path / ("a-results-path-long-enough-to-pass-eighty-columns-" * 2 + "[bold]")
    occupied.write_text("not a folder")
    proc = _cli("run", "--results", str(occupied), cwd=tmp_path)
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr == f"edgeperf: --results {occupied} is a file, not a folder; choose another --results path\n"


def test_the_boards_table_keeps_its_width_when_piped(tmp_path):
    proc = _cli("boards", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│")]
    assert {len(row) for row in rows} == {len(rows[0])} and len(rows[0]) > 80  # one line per board, not squeezed
    assert any(row.split("│")[1].strip() == "nucleo-l4r5zi" for row in rows)


@pytest.fixture(scope="module")
def json_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One quick --json run, under umask 027."""
    base = tmp_path_factory.mktemp("json")
    proc = _cli("run", "-b", "kws01", "--quick", "--json", "--results", str(base / "res"), cwd=base, umask=0o027)
    assert proc.returncode == 0, proc.stderr
    return proc, base / "res"


def test_json_writes_the_results_document_to_stdout_and_the_rest_to_stderr(json_run):
    proc, results = json_run
    assert proc.stdout == (results / "results.json").read_text()
    assert json.loads(proc.stdout)["runs"][0]["benchmark"] == "kws01"
    assert "edgeperf performance results" in proc.stderr and f"Results: {results}" in proc.stderr


def test_results_files_follow_the_umask(json_run, tmp_path):
    _, results = json_run
    report = _cli("report", str(results), cwd=tmp_path, umask=0o002)
    assert report.returncode == 0, report.stderr
    modes = {name: stat.S_IMODE((results / name).stat().st_mode) for name in ("results.json", "results.txt")}
    assert modes == {"results.json": 0o640, "results.txt": 0o640}  # 0666 & ~027, where mkstemp gave 0600
    assert stat.S_IMODE((results / "report.html").stat().st_mode) == 0o664


def test_progress_is_a_line_per_event_while_the_run_goes_on(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "edgeperf.cli", "run", "-b", "kws01", "-b", "ic01", "--quick",
                             "--results", str(tmp_path / "res")], cwd=tmp_path, env=_env(), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        seen: list[tuple[str, bool]] = []
        for line in proc.stderr:
            seen.append((line, proc.poll() is None))
            if " kws01 performance 0/6" in line:
                break
        # The line arrived while the run was still going: flushed as it happened, not at the end.
        assert seen and " kws01 performance 0/6" in seen[-1][0] and seen[-1][1], seen
        rest = proc.stderr.read()
        assert proc.wait(timeout=300) == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [line for line, _ in seen] + rest.splitlines(keepends=True)
    assert any(" ic01 performance 6/6" in line for line in lines)  # each phase's last line always shows
    assert not any("\r" in line or "━" in line for line in lines)  # no bars
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines if "performance" in line)  # time of day


def test_quiet_prints_only_the_results_path(tmp_path):
    proc = _cli("run", "-b", "kws01", "--quick", "--quiet", "--results", str(tmp_path / "res"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'res'}\n" and proc.stderr == ""
