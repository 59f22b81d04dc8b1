"""`edgeperf run` end to end: a real CLI process, a real virtual board, a real results folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def test_kws01_performance_matches_the_cost_model(tmp_path):
    from edgeperf.modelinfo import inspect_model
    from edgeperf.sim.cost_model import CostModel

    results = tmp_path / "res"
    proc = _run("run", "--benchmark", "kws01", "--mode", "performance", "--sim-time-scale", "0",
                "--sim-profile", "ideal", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "latency" in proc.stdout.lower() and "kws01" in proc.stdout
    document = json.loads((results / "results.json").read_text())
    run = document["runs"][0]
    perf = run["performance"]
    expected_us = CostModel().latency_us(inspect_model(REPO / "models" / "kws01.tflite"))
    assert abs(perf["latency"]["value"] * 1000 - expected_us) / expected_us < 0.01
    assert len(perf["windows"]) == 5
    assert all(w["seconds"] >= 10.0 and w["iterations"] >= 10 for w in perf["windows"])
    met = {r["rule"]: r["met"] for r in perf["rules"]}
    assert met["window duration"] and met["five windows"] and not met["reference model"]
    assert "NOT run under MLPerf Tiny rules" in perf["verdict"]
    text = (results / "kws01" / "performance" / "results.txt").read_text()
    assert "Median throughput is" in text
    assert "m-infer-start" in (results / "kws01" / "performance" / "log.txt").read_text()


def test_quick_profile_is_labelled_non_compliant(tmp_path):
    results = tmp_path / "res"
    proc = _run("run", "-b", "ic01", "--quick", "--sim-time-scale", "0", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "NOT under MLPerf Tiny rules" in proc.stdout
    perf = json.loads((results / "results.json").read_text())["runs"][0]["performance"]
    assert not {r["rule"]: r["met"] for r in perf["rules"]}["window duration"]


def test_existing_results_folder_is_refused(tmp_path):
    results = tmp_path / "res"
    results.mkdir()
    (results / "keep.txt").write_text("precious")
    proc = _run("run", "-b", "kws01", "--quick", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3
    assert "already exists" in proc.stderr
    assert (results / "keep.txt").read_text() == "precious"


def test_wrong_board_model_is_reported(tmp_path):
    # A kws01 dataset against a board flashed with ic01 firmware: the run must refuse, not measure nonsense.
    results = tmp_path / "res"
    proc = _run("run", "-b", "kws01", "--model", str(REPO / "models" / "ic01.tflite"), "--quick",
                "--sim-time-scale", "0", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert "ic01" in run["error"]


def test_a_model_for_another_benchmark_is_refused_before_anything_is_sent(tmp_path):
    """The port does not even exist: the mismatch must be found before the host opens it."""
    results = tmp_path / "res"
    proc = _run("run", "-b", "kws01", "--model", str(REPO / "models" / "vww01.tflite"), "--port",
                str(tmp_path / "no-such-port"), "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["error"].startswith("ModelError:") and "27648 input values" in run["error"]
    assert "kws01 sends 490" in run["error"]


def test_a_dataset_of_another_benchmark_is_refused_before_the_port_is_opened(tmp_path):
    """ic01's label file (10 classes) under kws01/, with files of kws01's size: refused by its class count."""
    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    (folder / "x.bin").write_bytes(bytes(490))
    (folder / "y_labels.csv").write_text("x.bin,10,3\n")
    results = tmp_path / "res"
    proc = _run("run", "-b", "kws01", "--dataset", str(tmp_path / "data"), "--port", str(tmp_path / "no-such-port"),
                "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert error.startswith("DatasetError:") and "10 classes, but kws01 has 12" in error
    assert "no-such-port" not in error  # nothing was opened


def test_a_model_with_another_output_size_is_refused_before_the_port_is_opened(tmp_path):
    """kws01's model re-declared with 10 outputs (a real .tflite file): its input fits, its classes do not."""
    import flatbuffers
    from tflite_micro import runtime

    model = runtime.schema_fb.ModelT.InitFromPackedBuf((REPO / "models" / "kws01.tflite").read_bytes(), 0)
    graph = model.subgraphs[0]
    graph.tensors[graph.outputs[0]].shape = [1, 10]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    wrong = tmp_path / "kws-10-classes.tflite"
    wrong.write_bytes(bytes(builder.Output()))
    results = tmp_path / "res"
    proc = _run("run", "-b", "kws01", "--model", str(wrong), "--port", str(tmp_path / "no-such-port"),
                "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert error.startswith("ModelError:") and "gives 10 output values, but kws01 scores 12 classes" in error


def test_realistic_board_meets_no_false_fault_and_unequal_windows_are_shown_as_such(tmp_path):
    # Loop jitter of 20 %, drift and a counter starting anywhere: honest variance, never a fault. Seed 1 makes
    # window 5 come out short and run again with a recomputed count, so the windows' counts differ.
    results = tmp_path / "res"
    proc = _run("run", "-b", "ad01", "--quick", "--sim-time-scale", "0", "--sim-timing", "jitter=0.2",
                "--sim-timing", "drift_ppm=200", "--sim-seed", "1", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["session"]["faults"] == [] and run["session"]["uploads_read_back"] == 0
    assert run["board"]["sim_timing_profile"] == "realistic"
    perf = run["performance"]
    counts = [w["iterations"] for w in perf["windows"]]
    assert len(set(counts)) > 1, counts
    summary = (results / "results.txt").read_text()
    assert "Iterations/window : differ: " in summary
    for w in perf["windows"]:
        assert f"window {w['index']} {w['iterations']} in {w['seconds']:.3f} s" in summary
    comparable = next(r for r in perf["rules"] if r["rule"] == "comparable windows")
    assert ", ".join(map(str, counts)) in comparable["detail"]
    odd = next(c for c in counts if c != counts[0])
    assert f"{counts[0]} in " in proc.stdout and f"{odd} in " in proc.stdout  # the terminal shows each count
    report = _run("report", str(results), cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    page = (results / "report.html").read_text()
    assert "inferences per window: differ: " in page


def test_a_bad_timing_option_is_one_line_and_exit_2(tmp_path):
    proc = _run("run", "-b", "kws01", "--quick", "--sim-timing", "jitter=lots", "--results", str(tmp_path / "r"),
                cwd=tmp_path)
    assert proc.returncode == 3
    assert "timing override 'jitter=lots'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()
