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
from edgeperf.results.schema import SCHEMA
from edgeperf.rules.accuracy import compute_metrics
from edgeperf.ports import ReferencePort
from edgeperf.runtimes import TflmRunner

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


def _readme_accuracy() -> dict[str, str]:
    """The accuracy column of the models table, as models/README.md states it."""
    rows = {}
    for line in (REPO / "models" / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 8 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells[8]
    return rows


def _as_readme(name: str, metrics: dict[str, float]) -> str:
    if name == "ad01":
        return f"AUC {metrics['auc']:.3f}"
    return f"top-1 {metrics['top1']:.1f} %, AUC {metrics['auc']:.3f}"


def test_verify_all_sample_sets_match_readme_and_golden(tmp_path):
    """Every bundled sample set on the virtual board: the README's accuracy, and identical host runs."""
    proc = _cli("verify", "--baud", "4000000", "--sim-time-scale", "0", "--results", str(tmp_path / "res"),
                cwd=tmp_path)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, out + err
    stated = _readme_accuracy()
    for run in json.loads((tmp_path / "res" / "results.json").read_text())["runs"]:
        name, acc = run["benchmark"], run["accuracy"]
        device = {k: v["value"] for k, v in acc["metrics"].items()}
        assert _as_readme(name, device) == stated[name]
        assert device == pytest.approx(_golden_metrics(name))
        for runtime, check in acc["golden"].items():
            assert check["mismatches"] == 0, (name, runtime, check["first_mismatches"])
            assert check["compared_samples"] == acc["files"] * get_benchmark(name).windows_per_file
        text = (tmp_path / "res" / name / "accuracy" / "results.txt").read_text()
        assert "ulp-mlperf: AUC = " in text


def test_golden_check_names_the_mismatching_sample():
    from edgeperf.golden import GoldenCheck

    check = GoldenCheck("kws01", model_path("kws01"), ("tflite-micro",))
    sample = read_dataset(bundled_samples(), get_benchmark("kws01"))[0]
    wrong = [0.5] * 12
    assert sample.path.name in check.check(sample.path.name, sample.read(), wrong)["tflite-micro"]
    port = ReferencePort("kws01", TflmRunner(model_path("kws01")))
    port.load_tensor(sample.read())
    port.infer()
    right = [float(v) for v in port.results_line().strip()[len("m-results-["):-1].split(",")]
    assert check.check(sample.path.name, sample.read(), right) == {"tflite-micro": ""}


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
    (results / "results.json").write_text(json.dumps({
        "schema": SCHEMA, "mode": "accuracy", "runs": [],
        "options": {"mode": "accuracy", "benchmark": ["kws01"], "sim_time_scale": 0.0}}))
    (folder / "journal.jsonl").write_text(json.dumps({"header": {"benchmark": "kws01", "model_sha256": "x",
                                                                  "dataset": "y"}}) + "\n")
    proc = _cli("run", "--resume", str(results), cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3
    assert "belongs to another run" in json.loads((results / "results.json").read_text())["runs"][0]["error"]


def test_ctrl_c_leaves_a_valid_journal(tmp_path):
    results = tmp_path / "res"
    proc = _cli("run", "--mode", "accuracy", "-b", "ic01", "--sim-time-scale", "0", "--results", str(results),
                cwd=tmp_path)
    journal = results / "ic01" / "accuracy" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (journal.exists() and len(journal.read_text().splitlines()) > 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[0]["header"]["benchmark"] == "ic01"
    assert all(len(r["scores"]) == 10 for r in records[1:])
    json.loads((results / "results.json").read_text())  # still a valid document
