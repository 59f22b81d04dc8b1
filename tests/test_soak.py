"""Soak: a bounded long run on the virtual bench with every fault class enabled at once.

Kept out of the default test run (marker `soak`); one command runs it:

    python -m pytest -m soak                         # 20 minutes
    EDGEPERF_SOAK_MINUTES=5 python -m pytest -m soak

Rounds repeat until the time is up, each with a new seed and new fault positions: an accuracy run,
a performance run and an energy run, each held against its fault-free reference (the same per-sample
scores; the same device time per window; the bench's true energy within 0.5 %). The table of what
was injected, what the host recovered and what was lost is printed and written to
`$EDGEPERF_SOAK_REPORT` (default: soak-report.md in the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeperf.sim.launcher import VirtualBenchProcess, VirtualBoardProcess
from conftest import kws01_subset
from energy_support import TOLERANCE, errors_against_truth, run_cli

pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parents[1]
MINUTES = float(os.environ.get("EDGEPERF_SOAK_MINUTES", "20"))
ACCURACY_FILES = 12
#: A round's faults all fire; a soak run allows more recoveries than a lab default would.
MAX_RECOVERIES = "40"


def _cli(*args: str, cwd: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=900)
    results = Path(args[args.index("--results") + 1])
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert proc.returncode == 0 and not run.get("error"), proc.stdout + proc.stderr
    return run


def _performance(tmp: Path, name: str, faults: list[str], seed: int) -> dict:
    """kws01 --quick on a launched board reset through its registry entry. Its counter starts at 10^9 µs, so
    the `m-lap-us` line printed inside each timed loop always has 10 digits whatever the faults cost."""
    extra = ["--timer-start", "1000000000", "--fault-seed", str(seed), *[a for f in faults for a in ("--fault", f)]]
    with VirtualBoardProcess(model=REPO / "models" / "kws01.tflite", profile="kws01", time_scale=0.02,
                             extra_args=extra) as board:
        # The stable path follows the pty across an unplug, as /dev/serial/by-id does for a USB board.
        return _cli("-b", "kws01", "--quick", "--port", board.event["stable_url"], "--board", "virtual",
                    "--max-recoveries", MAX_RECOVERIES, "--results", str(tmp / name), cwd=tmp)


def _faults_args(faults: list[str], seed: int) -> list[str]:
    return ["--sim-fault-seed", str(seed), "--max-recoveries", MAX_RECOVERIES,
            *[a for f in faults for a in ("--sim-fault", f)]]


def _dut_faults(round_no: int) -> list[str]:
    """Rate faults on both directions of the link plus one of each event fault, at positions that move."""
    shift = round_no % 4
    return ["drop:0.0003", "duplicate:0.0003", "corrupt:0.0003", "stray:0.05",
            f"reset-upload:{2 + shift}", f"reset-infer:{3 + shift}", f"hang:{5 + shift}:upload",
            f"disconnect:{7 + shift}", f"stall:8:infer:{9 + shift}"]


def _energy_faults(round_no: int) -> list[str]:
    """One fault in every window. Loops 1-2 are the probe and every repeat takes the next loop number;
    `reset:N:upload` fires in the first upload after loop N."""
    s = round_no % 2
    return [f"glitch:{3 + s}", f"cut-line:{5 + s}", f"monitor-drop:{7 + s}:0.002", f"reset:{8 + s}:upload",
            f"hang:{9 + s}", f"drop-edge:{11 + s}", "relay-stray:*:0.05"]


def _counted(session: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(session.items()) if isinstance(v, int) and v and k != "bytes_uploaded")


def test_soak(tmp_path: Path, bench: Callable[..., VirtualBenchProcess]) -> None:
    dataset = kws01_subset(tmp_path / "dataset", ACCURACY_FILES)
    acc_args = ["-b", "kws01", "--mode", "accuracy", "--dataset", str(dataset), "--sim-time-scale", "0"]
    clean_perf = _performance(tmp_path, "clean-perf", [], 1)
    clean_acc = _cli(*acc_args, "--results", str(tmp_path / "clean-acc"), cwd=tmp_path)
    reference_windows = [(w["iterations"], w["elapsed_us"]) for w in clean_perf["performance"]["windows"]]
    reference_scores = [s["scores"] for s in clean_acc["accuracy"]["samples"]]

    rows: list[str] = []
    deadline = time.monotonic() + MINUTES * 60
    round_no = 0
    while time.monotonic() < deadline:
        round_no += 1
        seed = 1000 + round_no
        faults = _dut_faults(round_no)
        acc = _cli(*acc_args, *_faults_args(faults, seed), "--results", str(tmp_path / f"acc-{round_no}"), cwd=tmp_path)
        lost = sum(a != b for a, b in zip(reference_scores, [s["scores"] for s in acc["accuracy"]["samples"]]))
        lost += abs(len(reference_scores) - len(acc["accuracy"]["samples"]))
        rows.append(f"| {round_no} | accuracy | {' '.join(faults)} | {_counted(acc['session'])} | "
                    f"{'none' if lost == 0 else f'{lost} samples differ'} |")
        assert lost == 0, rows[-1]

        perf = _performance(tmp_path, f"perf-{round_no}", faults, seed)
        windows = [(w["iterations"], w["elapsed_us"]) for w in perf["performance"]["windows"]]
        off = [i + 1 for i, (a, b) in enumerate(zip(reference_windows, windows)) if a[0] != b[0] or abs(a[1] - b[1]) > 1]
        rows.append(f"| {round_no} | performance | {' '.join(faults)} | {_counted(perf['session'])} | "
                    f"{'none' if not off and len(windows) == 5 else f'windows {off} differ'} |")
        assert not off and len(windows) == len(reference_windows), rows[-1]

        monitor = ("lpm01a", "ppk2")[round_no % 2]
        energy_faults = _energy_faults(round_no)
        board = bench(monitor, "arduino", "--seed", str(seed), *[a for f in energy_faults for a in ("--fault", f)])
        proc = run_cli(board, tmp_path / f"energy-{round_no}", "--warmups", "0")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        run = json.loads((tmp_path / f"energy-{round_no}" / "results.json").read_text())["runs"][0]
        worst = max(errors_against_truth(board, run))
        energy = run["energy"]
        rows.append(f"| {round_no} | energy ({monitor}) | {' '.join(energy_faults)} | "
                    f"{sum(w['repeated'] for w in energy['windows'])} windows repeated, "
                    f"{len(energy.get('recoveries', []))} recoveries | "
                    f"{'none' if worst < TOLERANCE else 'energy off'} (worst {worst:.4%}) |")
        assert worst < TOLERANCE, rows[-1]
        board.close()

    table = "\n".join(["| round | run | faults injected | host recoveries counted | data lost |",
                       "|---|---|---|---|---|", *rows])
    report = Path(os.environ.get("EDGEPERF_SOAK_REPORT", tmp_path / "soak-report.md"))
    report.write_text(f"# Soak: {round_no} rounds in {MINUTES:g} min\n\n{table}\n")
    print(f"\n{table}\nreport: {report}")
    assert round_no >= 1
