"""sww01 end to end: the emulated interface board plays a made stream to the virtual sww board running the
official model over a virtual I2S wire; TP/FN/FP, duty cycle, throughput and power come back through the
host's real interface-board client. The stream has one miss by design (a faint word) and one false positive
by design (a loud unlisted word). Tests skip when the official files are absent (../shared/reference-models
or $EDGEPERF_REFERENCE_MODELS)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import edgeperf
from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import reference_models_dir
from edgeperf.datasets.audio import sww_features
from edgeperf.datasets.streams import StreamTruth, read_truth
from edgeperf.datasets.sww_stream import Placement, build_stream
from edgeperf.errors import DatasetError
from edgeperf.modelinfo import inspect_model
from edgeperf.protocol.interface_board import activations
from edgeperf.results import ResultsFolder
from edgeperf.results.export import export
from edgeperf.results.report import write_report
from edgeperf.results.validate import check_document
from edgeperf.rules.performance import PerformanceSettings
from edgeperf.rules.progress import Progress
from edgeperf.rules.streaming import StreamingSettings, quality_check, score_stream
from edgeperf.run import run_all
from edgeperf.sim.cost_model import CostModel
from edgeperf.sim.launcher import VirtualSwwBenchProcess
from edgeperf.sim.sww_board import (
    FEATURE_CYCLES,
    PROCESSING_RISE,
    SWW_CALIBRATION,
    WW_DETECTED,
    SwwCore,
    activation_lines,
)
from edgeperf.sim.timing import TimingModel, timing_profile
from edgeperf.streaming import DUT_THRESHOLD, duty_cycle, score_detections
from edgeperf.targets import EnergyWiring, Target

REFERENCE = reference_models_dir()
MODEL = REFERENCE / "str_ww_ref_model.tflite"
WORD = REFERENCE / "marvin_617de221_0.wav"
needs_reference = pytest.mark.skipif(not (MODEL.is_file() and WORD.is_file()),
                                     reason=f"the official sww01 model and wake word are not in {REFERENCE}")
SCALE = 0.05


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sww")
    build_stream(root / "sww01", WORD)
    return root


def _run(target: Target, folder: Path, mode: str = "performance",
         settings: StreamingSettings | None = None) -> dict:
    document = run_all([target], mode, PerformanceSettings(), ResultsFolder.create(folder), Progress(),
                       streaming=settings or StreamingSettings())
    check_document(json.loads((folder / "results.json").read_text()), folder / "results.json")
    return document["runs"][0]


# -- scoring, pure


def test_scoring_counts_hits_misses_and_debounced_false_positives() -> None:
    windows = [(1.0, 2.0), (5.0, 6.0), (9.0, 10.0)]
    score = score_detections([1.5, 1.9, 7.9, 8.3, 8.6, 12.5], windows, delay_s=2.0, debounce_s=1.0)
    # 1.5 finds word 0 (1.9 repeats it); 7.9 is word 1 + 1.9 s; 8.3 and 8.6 precede word 2: one false positive
    # (debounced), 12.5 is after word 2 + 2 s: a second one. Word 2 is missed.
    assert (score.true_positives, score.false_negatives, score.false_positives) == (2, 1, 2)
    assert score.word_hits == [1.5, 7.9, None] and score.repeats == 1
    strict = score_detections([1.5, 7.9], windows, delay_s=1.0)
    assert (strict.true_positives, strict.false_positives) == (1, 1)


def test_duty_cycle_from_ten_microsecond_ticks() -> None:
    starts = [1000 + 3200 * k for k in range(10)]
    cycle = duty_cycle(starts, [s + 1600 for s in starts])
    assert cycle.frames == 10 and cycle.duty_cycle == pytest.approx(0.5) and cycle.throughput == pytest.approx(62.5)
    gap = duty_cycle(starts[:5] + starts[6:], [s + 1600 for s in starts[:5] + starts[6:]])
    assert gap.long_periods == 1 and gap.period_spread > 0.02


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"), ("[]", "non-empty JSON list"),
    ('[{"wav_file": "a.wav", "sample_rate": 16000, "length_sec": 10}]', "lacks detection_windows"),
    ('[{"wav_file": "a.wav", "sample_rate": 16000, "length_sec": 10, "detection_windows": [[3, 2]]}]', "ends before"),
    ('[{"wav_file": "../a.wav", "sample_rate": 16000, "length_sec": 10, "detection_windows": []}]', "file name"),
])
def test_bad_truth_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "truth.json"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_truth(path)


# -- against the virtual bench


@needs_reference
def test_performance_run_scores_the_stream_against_its_truth(dataset: Path, tmp_path: Path) -> None:
    run = _run(Target.virtual("sww01", model=MODEL, dataset=dataset, time_scale=SCALE), tmp_path / "r")
    assert not run.get("error"), run.get("error")
    stream = run["performance"]["streams"][0]
    assert (stream["true_positives"], stream["false_negatives"], stream["false_positives"]) == (4, 1, 1)
    assert stream["word_hits"][2] is None  # the faint word at 10 s: the miss by design
    assert 18.0 <= stream["false_positive_s"][0] <= 20.0  # the unlisted word at 18 s: the false positive by design
    # The firmware processes a frame per 512 samples from sample 512: 416 000 samples give 812 frames.
    assert stream["frames_processed"] == stream["frames_expected"] == stream["dut_frames"] == 812
    assert not stream["warnings"], stream["warnings"]
    # The DUT does not debounce: each word pulses on every frame above 115, the host counts it once.
    assert stream["dut_frames_above_threshold"] == len(stream["detections_ms"]) - 1 > 5
    assert 0.45 < stream["duty_cycle"]["value"] < 0.7  # calibrated to the published L4R5ZI's 0.559
    assert stream["throughput"]["value"] == pytest.approx(1 / stream["mean_processing_s"]["value"])
    text = (tmp_path / "r" / "sww01" / "performance" / "results.txt").read_text()
    assert re.search(r"Accuracy: (\d+) True positives, (\d+) False negatives, (\d+) False positives", text).groups() \
        == ("4", "1", "1")
    assert re.search(r"Average duty cycle: [\d.]+", text) and re.search(r"Estimated throughput: [\d.]+ inf\./sec\.", text)
    assert "within 2 s after a word's end" in text
    assert f"the DUT logged 812 frames, {stream['dut_frames_above_threshold']} above its threshold" in text
    report = write_report(tmp_path / "r").read_text()
    assert "sww_test_stream.wav" in report and "detections against the truth windows" in report
    exported = export(tmp_path / "r", tmp_path / "sub", "open", "org", "virt").written
    assert exported[0].parts[-2:] == ("sww", "performance") and (exported[0] / "results.txt").is_file()
    # A scaled and a less scaled run of the same stream give the same stream timestamps, to the ms and the tick.
    slower = _run(Target.virtual("sww01", model=MODEL, dataset=dataset, time_scale=SCALE * 3), tmp_path / "s")
    again = slower["performance"]["streams"][0]
    assert again["detections_s"] == stream["detections_s"] and again["trace_s"] == stream["trace_s"]


@needs_reference
def test_energy_run_reports_power_against_the_bench_truth(dataset: Path, tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    with VirtualSwwBenchProcess(model=MODEL, card=dataset / "sww01", time_scale=SCALE, monitor="lpm01a",
                                truth=truth) as bench:
        target = Target.at_port(bench.url, "sww01", model=MODEL, dataset=dataset,
                                energy=EnergyWiring(monitor=bench.monitor_spec, voltage_v=3.3))
        run = _run(target, tmp_path / "r", mode="energy")
    assert not run.get("error"), run.get("error")
    stream = run["energy"]["streams"][0]
    true = json.loads(truth.read_text().splitlines()[-1])
    assert stream["power_mw"]["value"] == pytest.approx(true["power_mw"], rel=0.02)
    assert (stream["true_positives"], stream["false_negatives"], stream["false_positives"]) == (4, 1, 1)
    text = (tmp_path / "r" / "sww01" / "energy" / "results.txt").read_text()
    assert float(re.search(r"Power\s+: ([\d.]+) mW", text).group(1)) == pytest.approx(true["power_mw"], rel=0.02)
    assert "uJ/inf" not in text  # a stream has no energy per inference


@needs_reference
def test_lost_audio_frame_and_lost_detection_edge_are_reported(dataset: Path, tmp_path: Path) -> None:
    target = Target.virtual("sww01", model=MODEL, dataset=dataset, time_scale=SCALE,
                            faults=["i2s-drop:300", "edge-miss:3"])
    run = _run(target, tmp_path / "r")
    stream = run["performance"]["streams"][0]
    warnings = " | ".join(stream["warnings"])
    assert "audio frames were lost" in warnings and "varies by" in warnings
    pulses = stream["dut_frames_above_threshold"] + 1  # the first frame (silence) adds the alignment pulse
    assert f"the DUT pulsed WW_DETECTED {pulses} times" in warnings
    assert f"the interface board timestamped {pulses - 1}: WW_DETECTED edges were lost" in warnings
    intact = next(r for r in run["performance"]["rules"] if r["rule"].startswith("every stream"))
    assert not intact["met"]
    assert "NOT run under MLPerf Tiny rules" in run["performance"]["verdict"]


@needs_reference
def test_a_lost_detection_edge_alone_is_caught_by_the_dut_pulse_count(dataset: Path, tmp_path: Path) -> None:
    run = _run(Target.virtual("sww01", model=MODEL, dataset=dataset, time_scale=SCALE, faults=["edge-miss:3"]),
               tmp_path / "r")
    stream = run["performance"]["streams"][0]
    # A word pulses on several frames, so the scores are those of the clean run: only the DUT's log tells.
    assert (stream["true_positives"], stream["false_negatives"], stream["false_positives"]) == (4, 1, 1)
    pulses = stream["dut_frames_above_threshold"] + 1
    assert stream["warnings"] == [(f"the DUT pulsed WW_DETECTED {pulses} times ({pulses - 1} frames above 115, plus "
                                  "the alignment pulse unless the first frame was one) but the interface board "
                                  f"timestamped {pulses - 1}: WW_DETECTED edges were lost or spurious")]
    assert not next(r for r in run["performance"]["rules"] if r["rule"].startswith("every stream"))["met"]


@needs_reference
def test_stalled_interface_board_is_an_error_not_a_score(tmp_path: Path) -> None:
    build_stream(tmp_path / "d" / "sww01", WORD, "short", 4.0, (Placement(1.0),))  # a short stream: a short timeout
    run = _run(Target.virtual("sww01", model=MODEL, dataset=tmp_path / "d", time_scale=SCALE, faults=["stall:1"]),
               tmp_path / "r", settings=StreamingSettings(play_margin_s=0.0))
    assert "performance" not in run
    assert run["error"].startswith("DeviceError: the interface board did not finish playing short.wav")


@needs_reference
def test_a_wav_missing_from_the_sd_card_is_refused_before_playing(dataset: Path, tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "sww01").mkdir(parents=True)
    truth = json.loads((dataset / "sww01" / "sww_test_stream.json").read_text())
    (card / "sww01" / "t.json").write_text(json.dumps(truth))
    run = _run(Target.virtual("sww01", model=MODEL, dataset=card, time_scale=SCALE), tmp_path / "r")
    assert run["error"].startswith("DatasetError: the interface board's SD card lacks sww_test_stream.wav")


def test_a_negative_sww_delay_is_one_clear_error() -> None:
    from edgeperf.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sww01", "--sww-delay", "-1"])
    assert exit_.value.code == 2


def test_default_run_plays_the_synthetic_stream_to_the_bundled_model(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the stream is built here at first use
    with edgeperf.virtual_board("sww01", time_scale=SCALE, timing_profile="ideal", clock_mhz=240.0) as board:
        result = board.run("performance", results=tmp_path / "r", check=False)  # the Python API, as a lab script
    assert result.streams[0].true_positives >= 3 and result.streams[0].words == 4
    run = json.loads((tmp_path / "r" / "results.json").read_text())["runs"][0]
    assert not run.get("error"), run.get("error")
    assert run["model"]["path"].endswith("models/sww01.tflite")
    stream = run["performance"]["streams"][0]
    assert stream["false_positives"] <= 1 and not stream["warnings"]
    # With the ideal profile every frame takes the cost model's time: the host's figures match it to a 10 us tick.
    true_s = (CostModel(clock_mhz=240.0).latency_us(inspect_model(Path(run["model"]["path"]))) * SWW_CALIBRATION
              + FEATURE_CYCLES / 240.0) / 1e6
    assert abs(stream["mean_processing_s"]["value"] - true_s) <= 1e-5
    assert stream["duty_cycle"]["value"] == pytest.approx(true_s / 0.032, abs=1e-5 / 0.032)


def _official(tmp_path: Path) -> StreamTruth:
    windows = tuple((10.0 + 24 * k, 11.0 + 24 * k) for k in range(50))
    return StreamTruth("long.wav", 16000, 1200.0, windows, tmp_path / "sww_long_test.json")


def _firmware_pins(frames: int, above: list[int], on_ticks: int = 1800) -> tuple[list[int], list[int], list[int],
                                                                                   list[int]]:
    """Pins and `target activations` of the reference firmware for `frames` frames, frames `above` over 115: frame
    k completes (PROCESSING rises) at (k + 1) x 512 samples, WW_DETECTED pulses at its end."""
    starts = [3200 * (k + 1) for k in range(frames)]
    stops = [s + on_ticks for s in starts]
    outputs = [-90] * frames
    for k in above:
        outputs[k] = 120
    pulses = sorted({0, *above})  # the first frame's alignment pulse, and every frame above the threshold
    return [stops[k] // 100 for k in pulses], starts, stops, outputs


@pytest.mark.parametrize("found, false, met", [(50, 8, True), (41, 0, False), (50, 9, False)])
def test_quality_rule_on_the_official_stream(tmp_path: Path, found: int, false: int, met: bool) -> None:
    stream = _official(tmp_path)
    # A word is above the threshold for 3 frames from 1.5 s into it: three pulses, one detection once debounced.
    hits = [int((start + 1.5) * 16000) // 512 + d for start, _ in stream.windows_s[:found] for d in range(3)]
    extra = [int((22.0 + 24 * k) * 16000) // 512 for k in range(false)]  # between words, 24 s apart
    detections, starts, stops, outputs = _firmware_pins(37500, hits + extra)
    run = score_stream(stream, StreamingSettings(), detections, starts, stops, outputs)
    assert (run.true_positives, run.false_negatives, run.false_positives) == (found, 50 - found, false)
    assert run.official and not run.warnings and run.duty_cycle == pytest.approx(1800 / 3200)
    assert run.frames_expected == run.dut_frames == 37500 and run.dut_frames_above_threshold == len(hits + extra)
    assert run.word_hits[0] == pytest.approx((int(11.5 * 16000) // 512 + 1) * 0.032 + 0.018, abs=0.001)
    quality = quality_check([run], get_benchmark("sww01"))
    assert quality.met is met


# The reference firmware's `stop` reply for 18 frames, as `dut stop` hands it over (relay prefix and m-ready taken
# off): the header, `[` and 16 values a line, each followed by ", " and the last by two spaces, then "]".
FIRMWARE_STOP = ["Streaming stopped.", "target activations: ",
                 "[-128, -128, -127, -120, -100, -50, 0, 60, 116, 127, 126, 90, 20, -80, -128, -128, ",
                 "-128, -128  ", "]"]


def test_target_activations_are_read_from_the_firmware_multi_line_list() -> None:
    values = activations(FIRMWARE_STOP)
    assert values is not None and len(values) == 18 and values[:3] == [-128, -128, -127] and values[-1] == -128
    assert sum(v > DUT_THRESHOLD for v in values) == 3
    assert activations(["Streaming stopped.", "target activations: ", "[]"]) == []
    assert activations(["target activations: [1, 2, ", "3  ", "]", "later 4"]) == [1, 2, 3]  # values on the header
    assert activations(["target activations: ", "[5, 6, "]) == [5, 6]  # no "]" before m-ready: what came
    assert activations(["I2S is already idle.  Ignoring stop request"]) is None
    # The virtual board prints exactly the firmware's lines.
    assert activation_lines(values) == FIRMWARE_STOP[1:]
    assert activation_lines([]) == ["target activations: ", "[]"]


def test_dut_pulse_count_cross_checks_the_timestamped_edges(tmp_path: Path) -> None:
    stream = StreamTruth("s.wav", 16000, 10.0, ((3.0, 4.0),), tmp_path / "s.json")
    word = [110, 111, 112]  # frames above 115 during the word at ~3.6 s
    detections, starts, stops, outputs = _firmware_pins(312, word)
    clean = score_stream(stream, StreamingSettings(), detections, starts, stops, outputs)
    assert not clean.warnings and clean.true_positives == 1 and clean.false_positives == 0
    lost = score_stream(stream, StreamingSettings(), detections[:2] + detections[3:], starts, stops, outputs)
    assert lost.true_positives == 1  # the word still scores from its other pulses, but the stream is not intact
    assert lost.warnings == [("the DUT pulsed WW_DETECTED 4 times (3 frames above 115, plus the alignment pulse "
                             "unless the first frame was one) but the interface board timestamped 3: WW_DETECTED "
                             "edges were lost or spurious")]
    # A first frame above the threshold gives one pulse: the alignment and the detection are the same edge.
    first = _firmware_pins(312, [0, *word])
    assert not score_stream(stream, StreamingSettings(), *first).warnings
    # A lost PROCESSING edge disagrees with the DUT's frame count.
    short = score_stream(stream, StreamingSettings(), detections, starts[:200] + starts[201:], stops, outputs)
    assert any("the DUT logged 312 frames but the interface board timestamped 311" in w for w in short.warnings)
    # The real interface board keeps only its first 100 PROCESSING edges: the DUT's log counts the frames then.
    capped = score_stream(stream, StreamingSettings(), detections, starts[:100], stops[:100], outputs)
    assert not capped.warnings and capped.frames_processed == 100 and capped.dut_frames == 312
    gappy = score_stream(stream, StreamingSettings(), detections, starts[:100], stops[:100], outputs[:250])
    assert any("250 of 312 audio frames processed" in w for w in gappy.warnings)


class _RecordingRunner:
    """Stands for TFLite Micro: keeps every input, answers output 0 from a table of frame scores."""

    def __init__(self, scale: float, zero_point: int, scores: dict[int, int]) -> None:
        self.input = type("Input", (), {"scale": scale, "zero_point": zero_point})()
        self.scores = scores
        self.inputs: list[np.ndarray] = []

    def invoke(self, rows: np.ndarray) -> np.ndarray:
        self.inputs.append(rows.copy())
        return np.array([self.scores.get(len(self.inputs) - 1, -100), 0, 0], dtype=np.int8)


def test_virtual_board_frames_and_pins_follow_the_firmware() -> None:
    rng = np.random.default_rng(5)
    pcm = (rng.normal(0, 3000, 512 * 40)).astype(np.int16)
    runner = _RecordingRunner(0.0037, -128, {6: 120, 7: 121, 8: 117})
    core = SwwCore(runner, TimingModel(timing_profile("ideal"), 1_000_000), 0)  # type: ignore[arg-type]
    for first in range(0, len(pcm), 512):
        core.audio(first, pcm[first: first + 512])
    assert len(runner.inputs) == 40 and core.activations[6:9] == [120, 121, 117]
    # The model input starts as int8 0; the rows are the whole-clip front end on the clip with 512 zeros in front.
    assert (runner.inputs[0][:-1] == 0).all()
    expected = np.clip(np.trunc(sww_features(np.pad(pcm / 32768.0, (512, 0))) / 0.0037 - 128), -128, 127)
    assert np.array_equal(np.array([rows[-1] for rows in runner.inputs]), expected[:40])
    # The first frame is ready at sample 512; WW_DETECTED after its inference, then on each frame above 115.
    rises = [ns for pin, ns in core.pins if pin == PROCESSING_RISE]
    pulses = [ns for pin, ns in core.pins if pin == WW_DETECTED]
    assert rises[:2] == [512 * 62_500, 1024 * 62_500]
    assert pulses == [rises[k] + 1_000_000 for k in (0, 6, 7, 8)]


def test_periodic_hamming_window_of_the_firmware() -> None:
    from edgeperf.datasets.audio import _sww_tables

    window = _sww_tables()[0]
    assert window[0] == pytest.approx(0.08) and window[512] == pytest.approx(1.0)
    assert window[1] == pytest.approx(0.08000869, abs=1e-7)  # the firmware's hamm_win_1024[1]
