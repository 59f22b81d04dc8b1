"""Accuracy mode end to end, and an interrupted run resumed from its journal."""

from __future__ import annotations

import json
import os
import random
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
from edgeperf.rules.accuracy import compute_metrics
from edgeperf.sim.ports import ReferencePort
from edgeperf.sim.runtime import TflmRunner

from conftest import model_path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _golden_metrics(name: str) -> dict[str, float]:
    """The same files through TFLite Micro on the host, printed and parsed as the firmware would."""
    bench = get_benchmark(name)
    port = ReferencePort(name, TflmRunner(model_path(name)))
    scores, labels = [], []
    for item in read_dataset(bundled_samples(), bench):
        windows = []
        for index in range(bench.windows_per_file):
            port.load_tensor(bench.window(item.read(), index))
            port.infer()
            line = port.results_line().strip()
            windows.append([float(v) for v in line[len("m-results-["):-1].split(",") if v])
        scores.append(np.mean(windows, axis=0))
        labels.append(item.label)
    return compute_metrics(bench, np.array(scores), np.array(labels))


@pytest.mark.parametrize("name", ["kws01", "vww01"])
def test_accuracy_run_equals_host_golden_run(name, tmp_path):
    proc = _cli("run", "--mode", "accuracy", "-b", name, "--baud", "921600", "--sim-time-scale", "0",
                "--results", str(tmp_path / "res"), cwd=tmp_path)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    run = json.loads((tmp_path / "res" / "results.json").read_text())["runs"][0]
    device = {k: v["value"] for k, v in run["accuracy"]["metrics"].items()}
    assert device == pytest.approx(_golden_metrics(name))
    text = (tmp_path / "res" / name / "accuracy" / "results.txt").read_text()
    assert "ulp-mlperf: Top 1% = " in text and "ulp-mlperf: AUC = " in text


def test_killed_run_resumes_to_the_same_metrics(tmp_path):
    results = tmp_path / "res"
    args = ["run", "--mode", "accuracy", "-b", "kws01", "--sim-time-scale", "0"]
    proc = _cli(*args, "--results", str(results), cwd=tmp_path)
    journal = results / "kws01" / "accuracy" / "journal.jsonl"
    deadline = time.monotonic() + 120
    wanted = random.randint(3, 40)
    while time.monotonic() < deadline:  # kill somewhere in the middle of the run
        if journal.exists() and len(journal.read_text().splitlines()) > wanted:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done_before = len(journal.read_text().splitlines()) - 1
    assert 0 < done_before < 60
    resumed = _cli(*args, "--resume", str(results), cwd=tmp_path)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out + err
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["accuracy"]["resumed_files"] == done_before
    device = {k: v["value"] for k, v in run["accuracy"]["metrics"].items()}
    assert device == pytest.approx(_golden_metrics("kws01"))
    assert len(journal.read_text().splitlines()) == 61


def test_resume_refuses_a_journal_of_another_dataset(tmp_path):
    results = tmp_path / "res"
    folder = results / "kws01" / "accuracy"
    folder.mkdir(parents=True)
    (results / "results.json").write_text("{}")
    (folder / "journal.jsonl").write_text(json.dumps({"header": {"benchmark": "kws01", "model_sha256": "x",
                                                                  "dataset": "y"}}) + "\n")
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", "--sim-time-scale", "0", "--resume", str(results),
                cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "belongs to another run" in json.loads((results / "results.json").read_text())["runs"][0]["error"]
