"""Every fault class of the energy bench, against the real CLI: the result equals the truth, the faults are recorded.

Loops are counted from the bench's start: 1 and 2 are the probe, 3 is window 1's first
attempt, and every repeat takes the next number. Each run uses 1 s windows (`--quick`).
"""

from __future__ import annotations

import json

import pytest

from edgeperf.sim.faults import Fault, parse_fault
from energy_support import TOLERANCE, errors_against_truth, run_cli, run_energy, truth_loops


@pytest.fixture
def bench(bench):
    """conftest's bench on the ideal timing profile: faults are placed by loop number, and on a realistic board
    the probe may take another loop. The fault-free energy tests (tests/test_energy_mode.py) run realistic."""
    return lambda monitor, io_manager, *extra: bench(monitor, io_manager, *extra, "--timing-profile", "ideal")


def repeated(energy: dict) -> dict[int, dict]:
    return {w["index"]: w for w in energy["windows"] if w["repeated"]}


def test_fault_specs_parse_and_bad_ones_say_the_syntax():
    assert parse_fault("monitor-drop:*:0.001", "bench") == Fault("monitor-drop", None, 0.001)
    assert parse_fault("reset:5", "bench") == Fault("reset", 5, "infer")
    assert parse_fault("cut-line:4", "bench") == Fault("cut-line", 4, 0.0)
    for bad in ("hang:*", "monitor-stall:3", "relay-drop:2:1.5", "glitch:2:1", "reset:2:boot", "lightning:1"):
        with pytest.raises(ValueError):
            parse_fault(bad, "bench")


def test_lpm01a_partial_dropped_and_corrupted_bytes_are_repeated_never_used(bench, tmp_path):
    """Plus a 1 s stall in window 1, shorter than the host waits: nothing is lost, the window stands."""
    board = bench("lpm01a", "arduino", "--fault", "monitor-stall:3:1", "--fault", "cut-line:4:0.01",
                  "--fault", "monitor-drop:6:0.002", "--fault", "monitor-corrupt:8:0.002")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    damaged = repeated(energy)
    assert sorted(damaged) == [2, 3, 4], energy["windows"]
    assert all("damaged" in w["faults"][0] or "edge" in w["faults"][0] for w in damaged.values()), damaged
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_lpm01a_stall_and_unplug_are_recovered_through_the_monitor(bench, tmp_path):
    """A 6 s stall (longer than the host waits for samples) and a 2 s unplug of the monitor's USB port."""
    board = bench("lpm01a", "arduino", "--fault", "monitor-stall:4:6", "--fault", "monitor-disconnect:6:2")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert sorted(repeated(energy)) == [2, 3], energy["windows"]
    assert "stopped streaming" in energy["windows"][1]["faults"][0]
    assert "power-cycled the board through the monitor" in energy["recoveries"][0]
    assert "reopened and reconfigured the monitor" in energy["recoveries"][1]
    assert len(energy["recoveries"]) == 2
    assert (tmp_path / "res" / "kws01" / "energy" / "results.txt").read_text().count("edgeperf: recovery: ") == 2
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_ppk2_hung_board_reset_board_reset_in_upload_and_dropped_bytes(bench, tmp_path):
    """The PPK2's DUT-power toggle reboots a hung board; a board that reboots by itself is identified again;
    a byte lost from the PPK2's word stream breaks its counter (and the stream is realigned)."""
    board = bench("ppk2", "interface-board", "--fault", "hang:4", "--fault", "reset:6", "--fault", "reset:8:upload",
                  "--fault", "monitor-drop:9:0.0001")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert sorted(repeated(energy)) == [2, 3, 5], energy["windows"]
    assert "samples lost" in energy["windows"][4]["faults"][0] or "realigned" in energy["windows"][4]["faults"][0]
    recoveries = energy["recoveries"]
    assert "no complete line" in recoveries[0] and "power-cycled the board" in recoveries[0], recoveries
    assert "boot banner" in recoveries[1] and "identified the rebooted board" in recoveries[1], recoveries
    assert any("window 5 input" in r and "boot banner" in r and "identified the rebooted board" in r
               for r in recoveries), recoveries
    aborted = [loop["aborted"] for loop in truth_loops(board) if "aborted" in loop]
    assert aborted == ["hang", "reset"]
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_otii_stall_is_recovered_by_a_power_cycle_through_the_otii(bench, tmp_path):
    """The Otii server stops answering for 5 s: the stream stops, the board is power-cycled with arc_set_main."""
    board = bench("otii", "arduino", "--fault", "monitor-stall:4:5")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert sorted(repeated(energy)) == [2], energy["windows"]
    assert len(energy["recoveries"]) == 1 and "power-cycled the board through the monitor" in energy["recoveries"][0]
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_io_manager_garbled_relay_lines_and_stray_lines(bench, tmp_path):
    board = bench("lpm01a", "arduino", "--fault", "relay-corrupt:4:0.2", "--fault", "relay-drop:6:0.2",
                  "--fault", "relay-stray:*:0.05")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert sorted(repeated(energy)) == [2, 3], energy["windows"]
    assert all(" -> " in r for r in energy["recoveries"]) and len(energy["recoveries"]) >= 2
    log = (tmp_path / "res" / "kws01" / "energy" / "log.txt").read_text()
    assert "IO manager: " in log  # the stray lines were seen and logged, not taken for the board's
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_a_monitor_that_never_comes_back_stops_the_run_with_the_documented_error(bench, tmp_path):
    board = bench("lpm01a", "arduino", "--fault", "monitor-disconnect:1:600")
    proc = run_cli(board, tmp_path / "res", "--warmups", "0")
    assert proc.returncode != 0
    run = json.loads((tmp_path / "res" / "results.json").read_text())["runs"][0]
    assert "could not be reopened in 10 attempts" in run["error"] and run["error"].startswith("MonitorError")



def test_a_hung_board_in_energy_mode_is_recovered_by_the_session_like_in_every_mode(bench, tmp_path):
    """The session finds the hang (no reply, no answer to `name`) and resets the board through its reset
    strategy, here the monitor that powers it; the energy rule only sees the recovery the session reports."""
    board = bench("lpm01a", "arduino", "--fault", "hang:4")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy, session = run["energy"], run["session"]
    assert sorted(repeated(energy)) == [2], energy["windows"]
    assert session["hangs"] == 1 and session["resets_sent"] == 1 and session["recoveries"] == 1, session
    assert energy["recoveries"] == session["recovery_actions"]
    assert "power-cycled the board through the monitor" in energy["recoveries"][0]
    assert max(errors_against_truth(board, run)) < TOLERANCE
