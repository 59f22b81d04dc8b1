"""The per-layer profile and memory footprint (protocols/extensions): the vectors against the virtual board's
state machine, the host's parser, and `edgeperf profile` end to end on a real virtual-board process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeperf.device.clock import DeviceClock
from edgeperf.device.eembc import EembcDut
from edgeperf.device.layers import split_us
from edgeperf.errors import ProtocolError
from edgeperf.modelinfo import inspect_model
from edgeperf.ports import MAX_INPUT, ReferencePort
from edgeperf.protocol import transcripts
from edgeperf.protocol.extensions import arena_used_bytes, extensions, parse_layers, tflm_build
from edgeperf.protocol.transcripts import match_all
from edgeperf.results.layers import diff_layers
from edgeperf.runtimes import TflmRunner
from edgeperf.sim.cost_model import CostModel

from conftest import model_path

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "protocols" / "extensions" / "vectors"


def _dut(profile: str, out: bytearray) -> EembcDut:
    runner = TflmRunner(model_path(profile))
    return EembcDut(ReferencePort(profile, runner), DeviceClock(0), out.extend, inference_ns=1_000_000,
                    max_input=MAX_INPUT[profile], layer_costs=CostModel().breakdown(runner.info))


def _upload(size: int) -> bytes:
    data = bytes(size)
    return f"db load {size}%".encode() + b"".join(b"db " + data[i:i + 38].hex().encode() + b"%"
                                                   for i in range(0, size, 38))


@pytest.mark.parametrize("vector", transcripts.load_all(VECTORS), ids=lambda t: t.name)
def test_virtual_board_follows_extension_vector(vector):
    out = bytearray()
    dut = _dut(vector.settings["profile"], out)
    dut.boot()
    for step in vector.steps:
        out.clear()
        dut.feed(_upload(step.upload) if step.upload else step.send)
        if not step.upload:
            assert match_all(step.expect, bytes(out)) is None, match_all(step.expect, bytes(out))


def test_layer_times_sum_to_the_window_the_counter_measured():
    out = bytearray()
    dut = _dut("kws01", out)
    dut.boot()
    dut.feed(_upload(490))
    out.clear()
    dut.feed(b"infer 7 2%")
    laps = [int(line.split("-")[-1]) for line in out.decode().splitlines() if line.startswith("m-lap-us-")]
    out.clear()
    dut.feed(b"layers%")
    times = parse_layers(out.decode().splitlines()[:-1])
    assert times.iterations == 7 and len(times.layers) == 12
    assert sum(t.total_us for t in times.layers) == laps[1] - laps[0] == 7000
    costs = [us for _, us in CostModel().breakdown(inspect_model(model_path("kws01")))]
    biggest = max(range(12), key=costs.__getitem__)
    assert max(times.layers, key=lambda t: t.total_us).index == biggest


def test_split_keeps_every_microsecond():
    for total, costs in ((7000, [1.0, 2.0, 3.0]), (1, [5.0, 5.0]), (123457, [0.1] * 37), (0, [1.0])):
        parts = split_us(total, costs)
        assert sum(parts) == total and all(p >= 0 for p in parts)
    assert split_us(10, [0.0, 0.0]) == [0, 0]


def test_host_parser_refuses_a_lost_layer_line_and_reads_facts():
    reply = ["m-layers-[iterations=2,count=3]", "m-layer-[0,CONV_2D,10]", "m-layer-[2,SOFTMAX,1]"]
    with pytest.raises(ProtocolError, match="lost or garbled"):
        parse_layers(reply)
    with pytest.raises(ProtocolError, match="m-layers"):
        parse_layers(["m-layer-[0,CONV_2D,10]"])
    full = parse_layers(["m-layers-[iterations=1,count=1]", "m-layer-[0,ADD,5]",
                         "e-[Layer table full: 4 operators not recorded]"])
    assert full.unrecorded == 4
    ext = extensions(["m-model-[kws01]", "m-ext-[edgeperf-binary-1]", "m-ext-[arena-used-bytes=24224]",
                      "m-ext-[some-future-thing=x]", "m-runner-[tflite-micro]"])
    assert ext == {"edgeperf-binary-1": None, "arena-used-bytes": "24224", "some-future-thing": "x"}
    assert arena_used_bytes(ext) == 24224 and arena_used_bytes({"arena-used-bytes": "unknown"}) is None
    assert tflm_build(ext) is None
    tflm = extensions(["m-ext-[tflm-commit=90b983c2]", "m-ext-[tflm-kernels=cmsis_nn]"])
    assert tflm_build(tflm) == {"commit": "90b983c2", "kernels": "cmsis_nn"}
    assert tflm_build({"tflm-commit": "unknown", "tflm-kernels": "reference"}) == {"commit": None,
                                                                                   "kernels": "reference"}


def test_diff_matches_operators_by_index_and_type():
    a = {"layers": [{"index": 0, "op": "CONV_2D", "us": 100.0}, {"index": 1, "op": "SOFTMAX", "us": 2.0}]}
    b = {"layers": [{"index": 0, "op": "CONV_2D", "us": 80.0}, {"index": 1, "op": "ADD", "us": 3.0}]}
    rows = diff_layers(a, b)
    assert rows[0].change == pytest.approx(-0.2)
    assert [(r.op, r.before_us, r.after_us) for r in rows[1:]] == [("SOFTMAX", 2.0, None), ("ADD", None, 3.0)]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300)


def test_profile_command_table_sums_to_the_measured_latency(tmp_path):
    """Acceptance: `edgeperf profile -b kws01` on the virtual board; the per-layer sum is the latency within 1 %."""
    results = tmp_path / "res"
    # The default (realistic) timing model: every window runs at its own speed, the profile is the median one's.
    proc = _cli("profile", "-b", "kws01", "--quick", "--sim-time-scale", "0", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    perf, profile = run["performance"], run["performance"]["layers"]
    latency_us = perf["latency"]["value"] * 1000
    assert abs(profile["sum_us"] / latency_us - 1) < 0.01
    assert abs(profile["sum_us"] / profile["loop_latency_us"] - 1) < 0.01 and profile["sum_matches"]
    ops = inspect_model(model_path("kws01")).ops
    assert [layer["op"] for layer in profile["layers"]] == [op.name for op in ops]
    assert profile["layers"][0]["out_shape"] == list(ops[0].out_shape) and profile["layers"][0]["macs"] == ops[0].macs
    assert "per-layer profile" in proc.stdout and "DEPTHWISE_CONV_2D" in proc.stdout and "MACs/cycle" in proc.stdout
    assert f"{100 * profile['sum_us'] / latency_us:.2f} % of the run's latency" in proc.stdout
    assert run["memory"]["arena_used_bytes"] == TflmRunner(model_path("kws01")).arena_used_bytes()
    assert "tensor arena used" in proc.stdout
    assert "Per-layer profile" in (results / "results.txt").read_text()
    report = _cli("report", str(results), cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    page = (results / "report.html").read_text()
    assert "Per-layer profile" in page and 'alt="time per operator"' in page and "tensor arena used" in page

    window = perf["windows"][profile["window"] - 1]
    assert window["throughput"] == perf["median_throughput"]["value"]


def test_compare_diffs_two_profiles_layer_by_layer(tmp_path):
    runs = {}
    for mhz in ("120", "150"):
        runs[mhz] = tmp_path / mhz
        proc = _cli("profile", "-b", "kws01", "--quick", "--sim-time-scale", "0", "--sim-profile", "ideal",
                    "--sim-clock-mhz", mhz, "--results", str(runs[mhz]), "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    results, faster = runs["120"], runs["150"]
    profile = json.loads((results / "results.json").read_text())["runs"][0]["performance"]["layers"]
    compared = _cli("compare", str(results), str(faster), cwd=tmp_path)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "per-layer profile, run 1 -> run 2" in compared.stdout
    # 120 -> 150 MHz makes every operator 20 % faster; the table says so operator by operator.
    after = json.loads((faster / "results.json").read_text())["runs"][0]["performance"]["layers"]["layers"]
    for old, new in zip(profile["layers"], after):
        assert new["us"] / old["us"] == pytest.approx(0.8, rel=0.01 if old["us"] > 1000 else 0.1)
    assert compared.stdout.count("-20.0 %") >= 9, compared.stdout


def test_layers_on_a_board_without_the_extension_is_a_note(tmp_path):
    """`run --layers --port` to a board that does not announce it: the run works and says why no profile."""
    from edgeperf.sim.launcher import VirtualBoardProcess

    with VirtualBoardProcess(model=model_path("ad01"), profile="ad01", baud=0, time_scale=0.0) as board:
        proc = _cli("run", "-b", "ad01", "--quick", "--layers", "--port", board.url, "--results",
                    str(tmp_path / "res"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((tmp_path / "res" / "results.json").read_text())["runs"][0]
    assert "layers" not in run["performance"]
    assert any("does not announce" in note for note in run["performance"]["notes"])


@pytest.mark.parametrize("protocol, uploads", [("binary", True), ("eembc", False)])
def test_run_switches_the_virtual_board_protocol(tmp_path, protocol, uploads):
    results = tmp_path / "res"
    proc = _cli("run", "-b", "ad01", "--quick", "--sim-time-scale", "0", "--sim-protocol", protocol,
                "--results", str(results), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["board"]["sim_protocol"] == protocol
    assert (run["session"]["binary_uploads"] >= 5) is uploads


def test_profile_comes_from_the_median_window_or_the_nearest_profiled_one():
    from edgeperf.protocol.extensions import LayerTime, LayerTimes
    from edgeperf.results.records import Window
    from edgeperf.rules.layers import median_profile

    def window(index: int, elapsed_us: int) -> Window:
        return Window(index=index, file="f", iterations=10, warmups=0, t0_us=0, t1_us=elapsed_us,
                      elapsed_us=elapsed_us, throughput=10 / (elapsed_us / 1e6), results=[], upload_seconds=0.0,
                      runtime_met=True)

    windows = [window(1, 1_000_000), window(2, 1_100_000), window(3, 1_050_000)]
    times = {i: LayerTimes(10, [LayerTime(0, "ADD", w.elapsed_us)]) for i, w in enumerate(windows, start=1)}
    median = windows[2].throughput
    notes: list[str] = []
    profile = median_profile(windows, times, median, None, notes)
    assert profile is not None and profile.window == 3 and profile.sum_us == profile.loop_latency_us == 105_000
    del times[3]
    profile = median_profile(windows, times, median, None, notes)
    assert profile is not None and profile.window in (1, 2) and any("nearest the median" in n for n in notes)
    assert median_profile(windows, {}, median, None, notes) is None
