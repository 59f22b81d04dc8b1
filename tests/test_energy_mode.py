"""`edgeperf run --mode energy` against the virtual energy bench, held against the bench's true energy.

Every test starts a real bench process (board, IO manager and monitor on their own ptys)
and a real CLI process; the host never sees the bench's truth file, the test does.
"""

from __future__ import annotations

import pytest

from energy_support import TOLERANCE, errors_against_truth, run_energy
from report_support import check_energy_report


def test_lpm01a_through_the_arduino_io_manager_matches_the_true_energy(bench, tmp_path):
    board = bench("lpm01a", "arduino")
    run = run_energy(board, tmp_path / "res")
    energy = run["energy"]
    assert run["io_manager"]["dialect"] == "arduino"
    assert run["board"]["mode"] == "energy"
    assert energy["monitor"]["sample_rate_hz"] == 1000 and energy["monitor"]["quantity"] == "energy"
    assert len(energy["windows"]) == 5
    assert max(errors_against_truth(board, run)) < TOLERANCE
    folder = tmp_path / "res" / "kws01" / "energy"
    assert sorted(p.name for p in folder.glob("energy_inf_*.png")) == [f"energy_inf_00{i}.png" for i in range(1, 6)]
    assert "Median energy cost is" in (folder / "results.txt").read_text()
    assert "NOT run under MLPerf Tiny rules" in energy["verdict"]  # quick windows never pass

    from edgeperf.results.export import export
    from edgeperf.results.report import write_report

    report = write_report(tmp_path / "res")
    html = report.read_text()
    assert "Median energy" in html and html.count("<img alt=\"energy window ") == 5  # one plot per window
    assert "1000 S/s" in html and "class=quick" in html
    check_energy_report(tmp_path / "res", report)
    exported = export(tmp_path / "res", tmp_path / "sub", "open", "org", "sys").written[0]
    assert (exported / "energy_inf_005.png").is_file() and (exported / "results.txt").is_file()


def test_ppk2_through_the_interface_board_matches_the_true_energy(bench, tmp_path):
    board = bench("ppk2", "interface-board")
    run = run_energy(board, tmp_path / "res")
    energy = run["energy"]
    assert run["io_manager"]["dialect"] == "interface-board"
    assert energy["monitor"]["sample_rate_hz"] == 100_000 and energy["monitor"]["lost_samples"] == 0
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_lpm01a_at_5_khz_in_current_mode_direct_link(bench, tmp_path):
    """No IO manager (the board's UART straight on the host at 9600 baud), 5 kS/s."""
    board = bench("lpm01a", "none")
    run = run_energy(board, tmp_path / "res", "--monitor-rate", "5000")
    assert run["energy"]["monitor"]["sample_rate_hz"] == 5000
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_otii_server_with_a_glitch_matches_the_true_energy(bench, tmp_path):
    """The Otii's TCP JSON server (recording polled for mc samples and GPI1 transitions)."""
    # Faults land on a loop count: the ideal timing profile keeps the probe's loops the same from run to run.
    board = bench("otii", "interface-board", "--fault", "glitch:4", "--timing-profile", "ideal")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert energy["monitor"]["monitor"] == "otii" and energy["monitor"]["sample_rate_hz"] == 4000
    assert [w["index"] for w in energy["windows"] if w["faults"]] == [2]
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_firmware_that_pulses_high_is_measured_on_its_rising_edges(bench, tmp_path):
    board = bench("ppk2", "arduino", "--pulse-high")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    assert energy["monitor"]["edge"] == "rising" and energy["monitor"]["idle_level"] == 0
    assert any("idles low" in note for note in energy["notes"])
    assert max(errors_against_truth(board, run)) < TOLERANCE


@pytest.mark.parametrize("monitor, cut_message", [("lpm01a", "malformed sample line"), ("ppk2", "samples lost")])
def test_damaged_windows_are_measured_again_never_used(bench, tmp_path, monitor, cut_message):
    """A glitch edge, a missing edge and a monitor line cut in half, each in its own window."""
    # Loops 1-2 are the probe (1, then 2 inferences); a damaged attempt is followed by its repeat.
    board = bench(monitor, "arduino", "--fault", "glitch:4", "--fault", "drop-edge:6", "--fault", "cut-line:8",
                  "--timing-profile", "ideal")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    damaged = {w["index"]: w for w in energy["windows"] if w["faults"]}
    assert sorted(damaged) == [2, 3, 4], energy["windows"]
    for index, message in ((2, "spurious edge"), (3, "never reached the monitor"), (4, cut_message)):
        assert damaged[index]["repeated"] == 1 and message in damaged[index]["faults"][0], damaged[index]
    assert len(energy["faults"]) == 3
    assert max(errors_against_truth(board, run)) < TOLERANCE


def test_a_board_slowed_during_the_probe_is_measured_at_its_own_speed(bench, tmp_path):
    """The probe (loop 1: one inference, slowed past the quick profile's minimum) runs 1.4x slow, as on a
    throttled or busy board: every later loop is ~29 % off the probe's prediction, beyond the duration
    tolerance. Two loops that agree are trusted over the probe."""
    board = bench("lpm01a", "arduino", "--fault", "slow:1:1.4", "--timing-profile", "ideal")
    run = run_energy(board, tmp_path / "res", "--warmups", "0")
    energy = run["energy"]
    first = energy["windows"][0]
    assert first["repeated"] == 1 and "should take about" in first["faults"][0], first
    assert [w["index"] for w in energy["windows"] if w["faults"]] == [1]
    assert any("the two loops agree" in note for note in energy["notes"]), energy["notes"]
    assert max(errors_against_truth(board, run)) < TOLERANCE
