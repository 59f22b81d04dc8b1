"""sww01 end to end: the emulated interface board plays a made stream to the virtual sww board running the
official model over a virtual I2S wire; TP/FN/FP, duty cycle, throughput and power come back through the
host's real interface-board client. The stream has one miss by design (a faint word) and one false positive
by design (a loud unlisted word). Tests skip when the official files are absent (../shared/reference-models
or $EDGEPERF_REFERENCE_MODELS)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import edgeperf
from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import reference_models_dir
from edgeperf.datasets.streams import StreamTruth, read_truth
from edgeperf.datasets.sww_stream import Placement, build_stream
from edgeperf.errors import DatasetError
from edgeperf.modelinfo import inspect_model
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
from edgeperf.sim.sww_board import FEATURE_CYCLES, SWW_CALIBRATION
from edgeperf.streaming import duty_cycle, score_detections
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
    assert stream["frames_processed"] == stream["frames_expected"] == 811 and not stream["warnings"]
    assert 0.45 < stream["duty_cycle"]["value"] < 0.7  # calibrated to the published L4R5ZI's 0.559
    assert stream["throughput"]["value"] == pytest.approx(1 / stream["mean_processing_s"]["value"])
    text = (tmp_path / "r" / "sww01" / "performance" / "results.txt").read_text()
    assert re.search(r"Accuracy: (\d+) True positives, (\d+) False negatives, (\d+) False positives", text).groups() \
        == ("4", "1", "1")
    assert re.search(r"Average duty cycle: [\d.]+", text) and re.search(r"Estimated throughput: [\d.]+ inf\./sec\.", text)
    assert "within 2 s after a word's end" in text
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
    assert "the DUT reported 5 detections but the interface board timestamped 4" in warnings
    intact = next(r for r in run["performance"]["rules"] if r["rule"].startswith("every stream"))
    assert not intact["met"]
    assert "NOT run under MLPerf Tiny rules" in run["performance"]["verdict"]


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


@pytest.mark.parametrize("found, false, met", [(50, 8, True), (41, 0, False), (50, 9, False)])
def test_quality_rule_on_the_official_stream(tmp_path: Path, found: int, false: int, met: bool) -> None:
    stream = _official(tmp_path)
    starts = [6400 + 3200 * k for k in range(37499)]  # PROCESSING every 32 ms from the first full frame (64 ms)
    hits = [int((start + 1.5) * 1000) for start, _ in stream.windows_s[:found]]
    extra = [int((22.0 + 24 * k) * 1000) for k in range(false)]  # between words, 24 s apart: never debounced
    run = score_stream(stream, StreamingSettings(), [64, *sorted(hits + extra)], starts, [s + 1800 for s in starts],
                       found + false)
    assert (run.true_positives, run.false_negatives, run.false_positives) == (found, 50 - found, false)
    assert run.official and not run.warnings and run.duty_cycle == pytest.approx(1800 / 3200)
    quality = quality_check([run], get_benchmark("sww01"))
    assert quality.met is met
