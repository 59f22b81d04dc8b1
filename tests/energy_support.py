"""Helpers shared by the energy tests: run the real CLI against a real bench, and hold it against the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edgeperf.sim.launcher import VirtualBenchProcess

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "kws01.tflite"
#: The acceptance bound: the host's energy per inference within 0.5 % of the bench's truth.
TOLERANCE = 0.005
#: Faults that delay data without changing it: a window that saw one may stand.
HARMLESS = {"monitor-stall"}


def run_cli(bench: VirtualBenchProcess, results: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "edgeperf.cli", "run", "--mode", "energy", "--quick", "-b", "kws01",
         "--port", bench.url, "--monitor", bench.monitor_spec, "--io-manager", bench.io_manager,
         "--model", str(MODEL), "--results", str(results), *extra],
        env=env, text=True, capture_output=True, timeout=600)


def run_energy(bench: VirtualBenchProcess, results: Path, *extra: str) -> dict:
    proc = run_cli(bench, results, *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((results / "results.json").read_text())["runs"][0]


def truth_loops(bench: VirtualBenchProcess) -> list[dict]:
    assert bench.truth is not None
    return [json.loads(line) for line in bench.truth.read_text().splitlines()]


def accepted_truths(bench: VirtualBenchProcess, energy: dict) -> list[dict]:
    """The bench's record of each accepted window: the last attempt of each window's group of loops.

    Every attempt is one loop on the bench, aborted ones (a hang, a reset) included.
    """
    loops = truth_loops(bench)
    attempts = [w["repeated"] + 1 for w in energy["windows"]]
    tail = loops[len(loops) - sum(attempts):]
    truths, at = [], 0
    for count in attempts:
        at += count
        truths.append(tail[at - 1])
    return truths


def errors_against_truth(bench: VirtualBenchProcess, run: dict) -> list[float]:
    energy = run["energy"]
    edge = energy["monitor"]["edge"]
    errors = []
    for window, truth in zip(energy["windows"], accepted_truths(bench, energy)):
        # A loop the bench damaged on purpose is never the one a window was taken from.
        assert "aborted" not in truth and not set(truth["faults"]) - HARMLESS, (window, truth)
        assert window["iterations"] == truth["iterations"]
        expected = truth[f"uj_per_inference_{edge}"]
        errors.append(abs(window["uj_per_inference"] - expected) / expected)
    print(f"{energy['monitor']['monitor']} @ {energy['monitor']['sample_rate_hz']:g} Hz: relative errors "
          + ", ".join(f"{e:.5%}" for e in errors))
    return errors
