"""The Python API a lab-automation script uses: targets built as objects, run with no command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgeperf.errors import ConfigError
from edgeperf.results import ResultsFolder
from edgeperf.rules.performance import PerformanceSettings
from edgeperf.rules.progress import Progress
from edgeperf.run import iter_failures, run_all
from edgeperf.targets import PortLocation, Target, VirtualBoardLocation, Workload

REPO = Path(__file__).resolve().parents[1]


def test_a_virtual_board_benchmark_from_python(tmp_path):
    target = Target.virtual("kws01", time_scale=0)
    assert isinstance(target.where, VirtualBoardLocation) and target.url is None
    folder = ResultsFolder.create(tmp_path / "res")
    document = run_all([target], "performance", PerformanceSettings.quick(), folder, Progress())
    assert list(iter_failures(document)) == []
    run = json.loads((tmp_path / "res" / "results.json").read_text())["runs"][0]
    assert run["benchmark"] == "kws01" and run["board"]["kind"] == "virtual"
    assert run["board"]["url"] and run["recovery"]["reset_method"] is True
    assert len(run["performance"]["windows"]) == 5


def test_a_described_board_at_a_port_takes_its_uart_and_reset_from_the_registry():
    target = Target.at_port("rfc2217://lab2:4001", "vww01", board="nucleo-l4r5zi")
    assert isinstance(target.where, PortLocation)
    assert (target.url, target.baud) == ("rfc2217://lab2:4001", 115200)
    assert target.description == "ST NUCLEO-L4R5ZI at rfc2217://lab2:4001"
    assert target.details["board_name"] == "nucleo-l4r5zi" and target.reset is not None
    assert Target.at_port("/dev/ttyACM0", "kws01", reset_method="none").reset is None


def test_a_virtual_board_and_its_workload_must_name_the_same_model():
    board = VirtualBoardLocation(REPO / "models" / "kws01.tflite", "kws01", 115200)
    with pytest.raises(ConfigError, match="same model"):
        Target(board, Workload.of("kws01", REPO / "models" / "ic01.tflite"))


@pytest.mark.parametrize("clock", [0.0, -120.0, float("nan")])
def test_a_virtual_board_clock_must_be_positive(clock):
    """0 MHz used to run at the default 120 MHz and be recorded as 0 (the CLI's case: test_cli_bad_input.py)."""
    with pytest.raises(ConfigError, match="above 0 MHz"):
        Target.virtual("kws01", clock_mhz=clock)
