"""`edgeperf run --parallel`: one process per board, one combined results folder, boards overlap in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def test_two_boards_same_benchmark_run_at_once(start_board, tmp_path):
    boards = [start_board("kws01", baud=115200, time_scale=0.5) for _ in range(2)]
    results = tmp_path / "res"
    proc = _run("run", "--parallel", "--quick", "--model", str(REPO / "models" / "kws01.tflite"),
                "--target", f"kws01@{boards[0].url}", "--target", f"kws01@{boards[1].url}",
                "--board", "virtual", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = json.loads((results / "results.json").read_text())
    runs = document["runs"]
    assert [r["board"]["url"] for r in runs] == [b.url for b in boards]
    assert all(r["board"]["board_name"] == "virtual" for r in runs)
    # One host process per board, each writing its own subfolder of the one results folder.
    assert len({r["process"]["pid"] for r in runs}) == 2
    for i, run in enumerate(runs, start=1):
        assert run["results_subfolder"] == f"board{i}-kws01"
        assert "m-infer-start" in (results / f"board{i}-kws01" / "kws01" / "performance" / "log.txt").read_text()
    # The boards overlapped: the whole run took about as long as one board, not as long as both in turn.
    assert document["parallel"]["wall_seconds"] < 0.75 * sum(r["wall_seconds"] for r in runs)
    assert "kws01" in (results / "results.txt").read_text()


def test_parallel_virtual_benchmarks_share_one_folder(tmp_path):
    results = tmp_path / "res"
    proc = _run("run", "--parallel", "--quick", "-b", "ad01", "-b", "kws01", "--sim-time-scale", "0",
                "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = json.loads((results / "results.json").read_text())
    assert [r["benchmark"] for r in document["runs"]] == ["ad01", "kws01"]
    for name in ("ad01", "kws01"):
        assert (results / name / "performance" / "results.txt").is_file()


def test_a_failing_board_does_not_sink_the_others(start_board, tmp_path):
    good = start_board("ic01", baud=0, time_scale=0.0)
    results = tmp_path / "res"
    proc = _run("run", "--parallel", "--quick", "-b", "ic01", "--target", good.url,
                "--target", f"socket://127.0.0.1:9", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 4
    runs = json.loads((results / "results.json").read_text())["runs"]
    assert "performance" in runs[0] and not runs[0].get("error")
    assert "LinkError" in runs[1]["error"] and "socket://127.0.0.1:9" in runs[1]["error"]


def test_one_port_cannot_serve_parallel_benchmarks(tmp_path):
    proc = _run("run", "--parallel", "--quick", "-b", "kws01", "-b", "ic01", "--port", "socket://127.0.0.1:9",
                "--results", str(tmp_path / "res"), cwd=tmp_path)
    assert proc.returncode == 3
    assert "several targets use socket://127.0.0.1:9" in proc.stderr
