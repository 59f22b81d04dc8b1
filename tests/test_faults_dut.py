"""Faults on the DUT link: every fault class of the virtual bench, injected into a real board process
and met by the real `edgeperf run`. The final metrics must equal those of a fault-free run, and the
results must record what happened; or the run stops with the documented error.

Performance runs use a board started by the launcher and reached with `--port URL --board virtual`
(so the host resets a hung board through the registry's reset method, as it would a real one), with
its counter started at 10^9 µs: the `m-lap-us` line printed inside the timed loop then always has 10
digits, and a fault-free and a faulty run may differ only by the timer's 1 µs resolution. Accuracy
runs use `edgeperf run --sim-fault`, the built-in virtual board.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeperf.protocol.eembc import confirm_buffer
from edgeperf.errors import ProtocolError, SimulatorError
from edgeperf.sim.faults import BoardFaultPlan, parse_fault
from edgeperf.sim.launcher import VirtualBoardProcess

from conftest import kws01_subset, model_path

REPO = Path(__file__).resolve().parents[1]
TIME_SCALE = "0.02"
ACCURACY_FILES = 10


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


def _run_doc(results: Path) -> dict:
    return json.loads((results / "results.json").read_text())["runs"][0]


def _performance(tmp: Path, name: str, faults: list[str], seed: int = 1, reset: bool = True) -> dict:
    """kws01 --quick on a launched board with `faults`; returns the run entry of results.json."""
    # The ideal profile: a faulty run's windows are compared with the clean run's to the microsecond.
    extra = ["--timer-start", "1000000000", "--fault-seed", str(seed), "--timing-profile", "ideal"] + [
        a for f in faults for a in ("--fault", f)]
    with VirtualBoardProcess(model=model_path("kws01"), profile="kws01", time_scale=float(TIME_SCALE),
                             extra_args=extra) as board:
        results = tmp / name
        board_args = ["--board", "virtual"] if reset else []
        port = board.event["stable_url"]  # follows the pty across a disconnect; the reset FIFO is beside it
        proc = _cli("-b", "kws01", "--quick", "--port", port, *board_args, "--results", str(results), cwd=tmp)
    run = _run_doc(results)
    assert proc.returncode == (4 if run.get("error") else 0), proc.stdout + proc.stderr
    return run


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def clean_performance(tmp: Path) -> dict:
    run = _performance(tmp, "clean-performance", [])
    assert not run.get("error") and run["session"]["faults"] == []
    return run


@pytest.fixture(scope="module")
def small_dataset(tmp: Path) -> Path:
    return kws01_subset(tmp / "dataset", ACCURACY_FILES)


def _accuracy(tmp: Path, dataset: Path, name: str, faults: list[str], seed: int = 1) -> dict:
    results = tmp / name
    fault_args = [a for f in faults for a in ("--sim-fault", f)]
    proc = _cli("-b", "kws01", "--mode", "accuracy", "--dataset", str(dataset), "--sim-time-scale", "0",
                "--sim-profile", "ideal",
                "--sim-fault-seed", str(seed), *fault_args, "--results", str(results), cwd=tmp)
    run = _run_doc(results)
    assert proc.returncode == (4 if run.get("error") else 0), proc.stdout + proc.stderr
    return run


@pytest.fixture(scope="module")
def clean_accuracy(tmp: Path, small_dataset: Path) -> dict:
    run = _accuracy(tmp, small_dataset, "clean-accuracy", [])
    assert not run.get("error") and run["session"]["faults"] == []
    return run


def _same_performance(clean: dict, faulty: dict, drift_ppm: float = 0.0) -> None:
    """Same iteration counts, and every window's device time equal to the timer's 1 µs resolution."""
    assert not faulty.get("error"), faulty.get("error")
    scale = 1 + drift_ppm * 1e-6
    a, b = clean["performance"]["windows"], faulty["performance"]["windows"]
    assert [w["iterations"] for w in a] == [w["iterations"] for w in b]
    for w_clean, w_faulty in zip(a, b):
        assert abs(w_faulty["elapsed_us"] - w_clean["elapsed_us"] * scale) <= 1 + drift_ppm * 1e-6 * 2, (w_clean, w_faulty)
    median = clean["performance"]["median_throughput"]["value"] / scale
    assert faulty["performance"]["median_throughput"]["value"] == pytest.approx(median, rel=1e-6)


#: Fault, seed, and the session counters the host must have recorded (> 0) for it.
PERFORMANCE_FAULTS = [
    ("drop:0.0005", 4, ["upload_restarts", "repeated_measurements", "uploads_read_back"]),
    ("duplicate:0.0005", 2, ["upload_restarts", "repeated_measurements", "uploads_read_back"]),
    ("corrupt:0.0005", 1, ["upload_restarts"]),
    ("stray:0.2", 1, ["stray_lines"]),
    ("reset-upload:3", 1, ["board_resets", "repeated_measurements"]),
    ("reset-infer:5", 1, ["board_resets", "repeated_measurements"]),
    ("hang:3:upload", 1, ["hangs", "resets_sent", "repeated_measurements"]),
    ("stall:9:upload:3", 1, ["hangs", "resets_sent", "repeated_measurements"]),
    ("disconnect:5", 1, ["reconnects", "repeated_measurements"]),
]


@pytest.mark.parametrize("fault,seed,counters", PERFORMANCE_FAULTS, ids=[f[0] for f in PERFORMANCE_FAULTS])
def test_performance_survives_fault(fault, seed, counters, tmp, clean_performance):
    run = _performance(tmp, fault.replace(":", "_"), [fault], seed)
    _same_performance(clean_performance, run)
    session = run["session"]
    assert all(session[key] > 0 for key in counters), {k: v for k, v in session.items() if k != "faults"}
    assert session["faults"] or fault.startswith("stray")
    if session["repeated_measurements"]:
        # The repeated measurement is named on its window (or the probe's note), never silently reused.
        touched = [w for w in run["performance"]["windows"] if w["faults"]]
        assert touched or any("probe" in note for note in run["performance"]["notes"])
    assert run["recovery"]["max_recoveries"] == 5 and run["recovery"]["reset_method"] is True


def test_a_short_stall_is_waited_out(tmp, clean_performance):
    """A stall shorter than the derived timeout is no fault: nothing is repeated, nothing differs."""
    run = _performance(tmp, "short-stall", ["stall:3:infer:5"])
    _same_performance(clean_performance, run)
    assert run["session"]["faults"] == []


def test_drift_is_what_the_board_timer_says(tmp, clean_performance):
    """Performance mode is timed by the board's own counter (MLPerf Tiny): a fast crystal shows as a lower
    throughput, exactly by its drift; the host has no second clock to correct it with."""
    run = _performance(tmp, "drift", ["drift:1000"])
    _same_performance(clean_performance, run, drift_ppm=1000)


def test_a_hung_board_without_reset_method_stops_the_run(tmp):
    run = _performance(tmp, "hang-no-reset", ["hang:3:upload"], reset=False)
    assert run["error"].startswith("BoardHung:") and "Reset or power-cycle the board" in run["error"]
    assert run["session"]["hangs"] == 1 and run["session"]["resets_sent"] == 0
    assert run["recovery"]["reset_method"] is False


ACCURACY_FAULTS = [
    # Seed 5: with seed 1 the only dropped byte is an m-ready's newline, which the host now takes in its stride.
    ("drop:0.0005:out", 5, ["repeated_measurements"]),
    ("duplicate:0.001:out", 2, ["repeated_measurements"]),
    ("corrupt:0.0005", 1, ["upload_restarts", "repeated_measurements"]),
    ("reset-infer:4", 1, ["board_resets"]),
    ("hang:4", 1, ["hangs", "resets_sent"]),
    ("disconnect:3:upload", 1, ["reconnects"]),
    ("drift:1000", 1, []),
]


@pytest.mark.parametrize("fault,seed,counters", ACCURACY_FAULTS, ids=[f[0] for f in ACCURACY_FAULTS])
def test_accuracy_survives_fault(fault, seed, counters, tmp, small_dataset, clean_accuracy):
    run = _accuracy(tmp, small_dataset, "acc-" + fault.replace(":", "_"), [fault], seed)
    assert not run.get("error"), run.get("error")
    assert run["accuracy"]["metrics"] == clean_accuracy["accuracy"]["metrics"]
    assert [s["scores"] for s in run["accuracy"]["samples"]] == [s["scores"] for s in clean_accuracy["accuracy"]["samples"]]
    session = run["session"]
    assert all(session[key] > 0 for key in counters), {k: v for k, v in session.items() if k != "faults"}
    if session["repeated_measurements"]:
        assert any(s["faults"] for s in run["accuracy"]["samples"])
    assert run["board"]["sim_faults"] == [fault]


def test_too_many_faults_stop_the_run_with_the_documented_error(tmp, small_dataset):
    results = tmp / "acc-hopeless"
    proc = _cli("-b", "kws01", "--mode", "accuracy", "--dataset", str(small_dataset), "--sim-time-scale", "0",
                "--sim-fault", "corrupt:0.01:in", "--max-recoveries", "1", "--results", str(results), cwd=tmp)
    run = _run_doc(results)
    assert proc.returncode == 4
    assert run["error"].startswith("DeviceError: gave up after 1 recoveries")
    assert run["recovery"]["max_recoveries"] == 1 and run["session"]["faults"]


def test_fault_plan_is_reproducible_and_specs_are_checked():
    data = bytes(range(32, 127)) * 50
    runs = [BoardFaultPlan.from_specs(["drop:0.01", "duplicate:0.01:out", "corrupt:0.01:in"], seed=7) for _ in range(2)]
    assert runs[0].outgoing(data) == runs[1].outgoing(data) != data
    assert runs[0].incoming(data) == runs[1].incoming(data) != data
    assert all(b >= 0x80 for b in set(runs[0].incoming(data)) - set(data))
    assert parse_fault("stall:2.5:upload:3", "board").nth == 3
    for bad in ("drop", "drop:2", "drop:0.1:sideways", "hang:0", "stall:1:boot", "reset-infer:2:upload", "melt:1"):
        with pytest.raises(SimulatorError):
            parse_fault(bad, "board")


def test_read_back_ignores_lines_garbled_on_the_way_back_but_not_wrong_data():
    sent = bytes(range(20))
    good = ["m-buffer-00-01-02-03-04-05-06-07", "m-buffer-08-09-0a-0b-0c-0d-0e-0f", "m-buffer-10-11-12-13"]
    confirmed: set[int] = set()
    confirm_buffer(sent, [good[0], "m-buffer-08-09-0a-0b-0c-0d-0e-0ff", "", good[2]], confirmed)
    assert confirmed == {0, 2}
    confirm_buffer(sent, [good[1]], confirmed)
    assert confirmed == {0, 1, 2}
    # A lost and a doubled byte in one chunk: the count is right, the bytes are not.
    with pytest.raises(ProtocolError, match="differs from the upload"):
        confirm_buffer(sent, [good[0], "m-buffer-08-0a-0a-0b-0c-0d-0e-0f", good[2]], set())
