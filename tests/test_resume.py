"""`--resume` continues only the run that wrote the folder: same board, same model, same options, and a
finished run is never replaced (issue 15, items 1 and 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.datasets import read_dataset
from edgeperf.runtimes import TflmRunner

from conftest import model_path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(*args: str, cwd: Path, timeout: float = 300) -> tuple[int, str]:
    proc = _cli(*args, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def _interrupted(results: Path, *args: str, cwd: Path, after: int = 8) -> int:
    """Start an accuracy run of kws01 and kill it once `after` samples are journalled; the samples kept."""
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", *args, "--results", str(results), cwd=cwd)
    journal = results / "kws01" / "accuracy" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (journal.exists() and len(journal.read_bytes().splitlines()) > after):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done = len(journal.read_bytes().splitlines()) - 1
    assert after <= done < 60, f"the run was not interrupted mid-way ({done} samples journalled)"
    return done


def _perturbed(model: Path, out: Path) -> Path:
    """The same network with some weights changed: it loads, takes the same input, and scores differently."""
    data = model.read_bytes()
    sample = np.frombuffer(read_dataset(bundled_samples(), get_benchmark("kws01"))[0].read(), dtype=np.int8)
    reference = TflmRunner(model).invoke(sample)
    for fraction in (0.7, 0.6, 0.8, 0.5, 0.9):
        changed = bytearray(data)
        start = int(len(changed) * fraction)
        changed[start:start + 64] = bytes(b ^ 0x55 for b in changed[start:start + 64])
        out.write_bytes(bytes(changed))
        try:
            if not np.array_equal(TflmRunner(out).invoke(sample), reference):
                return out
        except Exception:  # this slice hit the model's structure, not its weights: try another
            continue
    pytest.fail("could not make a perturbed kws01 model that still loads")


def _files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_board_running_another_model_is_refused_when_the_model_file_is_unknown(tmp_path, start_board):
    """With --port and no --model the journal cannot name the model: the board's own scores for a journalled
    sample, measured again, tell a board flashed with another model from the one that wrote the journal."""
    board = start_board("kws01")
    results = tmp_path / "res"
    done = _interrupted(results, "--port", board.url, cwd=tmp_path)
    board.close()
    other = start_board("kws01", model=_perturbed(model_path("kws01"), tmp_path / "kws01-b.tflite"))
    before = _files_of(results)
    code, out = _finish("run", "--resume", str(results), "--port", other.url, cwd=tmp_path)
    assert code == 3, out
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert "runs another model than the run that wrote" in error
    journal = "kws01/accuracy/journal.jsonl"
    assert _files_of(results)[journal] == before[journal], "the refused resume changed the journal"
    assert len((results / journal).read_bytes().splitlines()) == done + 1

    same = start_board("kws01")
    code, out = _finish("run", "--resume", str(results), "--port", same.url, cwd=tmp_path)
    assert code == 0, out
    accuracy = json.loads((results / "results.json").read_text())["runs"][0]["accuracy"]
    assert accuracy["resumed_files"] == done
    assert "the same scores" in accuracy["resume_check"]


def test_a_board_at_another_clock_is_refused(tmp_path, start_board):
    """The same model on a board four times faster: the re-measured sample's device time gives it away."""
    board = start_board("kws01", extra=["--clock-mhz", "30"])
    results = tmp_path / "res"
    _interrupted(results, "--port", board.url, cwd=tmp_path)
    board.close()
    faster = start_board("kws01", extra=["--clock-mhz", "120"])
    code, out = _finish("run", "--resume", str(results), "--port", faster.url, cwd=tmp_path)
    assert code == 3, out
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert "runs at another clock" in error and "ms in the journal" in error


def test_the_recorded_options_are_used_and_contradicting_ones_refused(tmp_path):
    """Interrupted at --sim-clock-mhz 30: a resume with 120 is refused by name; one with no options runs at 30."""
    results = tmp_path / "res"
    done = _interrupted(results, "--sim-clock-mhz", "30", "--sim-time-scale", "0", cwd=tmp_path)
    code, out = _finish("run", "--resume", str(results), "--sim-clock-mhz", "120", cwd=tmp_path)
    assert code == 3, out
    assert "--sim-clock-mhz was 30.0 in that run, 120.0 now" in out
    assert "Traceback" not in out
    code, out = _finish("run", "--resume", str(results), cwd=tmp_path)
    assert code == 0, out
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["board"]["clock_mhz"] == 30.0
    assert run["accuracy"]["resumed_files"] == done
    latencies = [s["latency_us"] for s in run["accuracy"]["samples"]]
    assert max(latencies) < 2.5 * min(latencies), "samples of two clocks were mixed"  # 120 MHz vs 30: x4; warm-up x1.5


def test_a_journal_written_at_another_clock_is_refused_naming_the_difference(tmp_path):
    """The journal header records the board's settings: an edited results.json cannot smuggle in another clock."""
    results = tmp_path / "res"
    _interrupted(results, "--sim-clock-mhz", "30", "--sim-time-scale", "0", cwd=tmp_path)
    document = json.loads((results / "results.json").read_text())
    document["options"]["sim_clock_mhz"] = 120.0
    (results / "results.json").write_text(json.dumps(document))
    code, out = _finish("run", "--resume", str(results), cwd=tmp_path)
    assert code == 3, out
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert "belongs to another run: board.clock_mhz was 30.0 in the journal, is 120.0 now" in error


@pytest.mark.parametrize("resume_args", [
    ["-b", "ic01", "--mode", "accuracy"],  # another benchmark over a finished kws01 run
    ["-b", "kws01", "--quick"],  # no --mode (performance) over an accuracy run
    [],  # the same run again: nothing is left to do
])
def test_a_finished_run_is_never_replaced(tmp_path, resume_args):
    results = tmp_path / "res"
    code, out = _finish("run", "--mode", "accuracy", "-b", "kws01", "--sim-time-scale", "0", "--results",
                        str(results), cwd=tmp_path)
    assert code == 0, out
    before = _files_of(results)
    code, out = _finish("run", *resume_args, "--resume", str(results), cwd=tmp_path)
    assert code == 3, out
    assert "Traceback" not in out
    assert ("contradict" in out) if resume_args else ("nothing to resume" in out)
    assert _files_of(results) == before


@pytest.mark.parametrize("document, message", [
    ({"schema": "edgeperf.results/1", "mode": "performance", "runs": [],
      "options": {"mode": "performance", "benchmark": ["kws01"]}}, "only accuracy runs journal"),
    ({"schema": "edgeperf.results/1", "mode": "accuracy", "runs": []}, "records no run options"),
    ([1, 2], "not an edgeperf results file"),
    ("{not json", "not a readable edgeperf results file"),
])
def test_a_folder_that_cannot_be_resumed_is_refused(tmp_path, document, message):
    results = tmp_path / "res"
    results.mkdir()
    (results / "results.json").write_text(document if isinstance(document, str) else json.dumps(document))
    code, out = _finish("run", "--resume", str(results), cwd=tmp_path, timeout=60)
    assert code == 3, out
    assert message in out and "Traceback" not in out
