"""The golden check across runtimes: TFLite Micro exact, LiteRT within its measured tolerance, and a
board outside its tolerance fails `edgeperf verify`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import kws01_subset, model_path

from edgeperf.benchmarks import BENCHMARKS, get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.datasets import read_dataset
from edgeperf.golden import GoldenCheck
from edgeperf.ports import ReferencePort
from edgeperf.protocol.eembc import parse_results
from edgeperf.runtimes import LiteRtRunner, TflmRunner

REPO = Path(__file__).resolve().parents[1]
REFERENCE_MODELS = Path(os.environ.get("EDGEPERF_REFERENCE_MODELS", REPO.parent / "shared" / "reference-models"))


def official_model(name: str) -> Path:
    """The official MLPerf Tiny model of `name`, found by md5; the test skips when it is not on this machine."""
    md5 = get_benchmark(name).reference_md5
    for path in sorted(REFERENCE_MODELS.glob("*.tflite")) if REFERENCE_MODELS.is_dir() else []:
        if hashlib.md5(path.read_bytes()).hexdigest() == md5:
            return path
    pytest.skip(f"the official {name} model is not in {REFERENCE_MODELS} (set EDGEPERF_REFERENCE_MODELS)")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], check=False, cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=900)


def _outside(name: str, model: Path) -> dict[str, int]:
    """Per runtime, the samples outside tolerance when the board prints what TFLite Micro computes."""
    bench = get_benchmark(name)
    check = GoldenCheck(name, model)
    board = ReferencePort(name, TflmRunner(model))
    outside = dict.fromkeys(check.runtimes, 0)
    for item in read_dataset(bundled_samples(), bench):
        for index in range(bench.windows_per_file):
            upload = bench.window(item.read(), index)
            board.load_tensor(upload)
            board.infer()
            for runtime, problem in check.check(item.path.name, upload, parse_results(board.results_line().strip())).items():
                outside[runtime] += bool(problem)
    return outside


@pytest.mark.parametrize("name", [name for name, bench in BENCHMARKS.items() if not bench.streaming])
def test_a_tflm_board_is_within_tolerance_of_both_runtimes_on_the_bundled_model(name):
    assert _outside(name, model_path(name)) == {"tflite-micro": 0, "litert": 0}


@pytest.mark.parametrize("name", [name for name, bench in BENCHMARKS.items() if not bench.streaming])
def test_a_tflm_board_is_within_tolerance_of_both_runtimes_on_the_official_model(name):
    assert _outside(name, official_model(name)) == {"tflite-micro": 0, "litert": 0}


def test_the_old_two_step_allowance_fails_on_the_official_resnet():
    """The issue's case: LiteRT is more than 2 output steps from TFLite Micro on the official ic01 model, so a
    guessed 2-step tolerance reports mismatches on a correct board; the measured one does not."""
    model = official_model("ic01")
    bench = get_benchmark("ic01")
    board = ReferencePort("ic01", TflmRunner(model))
    port = ReferencePort("ic01", LiteRtRunner(model))
    worst = 0
    for item in read_dataset(bundled_samples(), bench):
        for p in (board, port):
            p.load_tensor(item.read())
            p.infer()
        worst = max(worst, int(abs(board.int8_output.astype(int) - port.int8_output.astype(int)).max()))
    assert 2 < worst <= bench.litert_steps


def _perturbed(source: Path, target: Path) -> Path:
    """`source` with the weights of its last FULLY_CONNECTED layer shifted: a board that computes wrongly."""
    import flatbuffers
    from tflite_micro import runtime

    model = runtime.schema_fb.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    graph = model.subgraphs[0]
    fc = [op for op in graph.operators
          if model.operatorCodes[op.opcodeIndex].builtinCode == runtime.schema_fb.BuiltinOperator.FULLY_CONNECTED][-1]
    buffer = model.buffers[graph.tensors[fc.inputs[1]].buffer]
    buffer.data = (buffer.data.astype(np.int32) + 37).astype(np.uint8)  # wraps, as int8 weights do
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return target


def test_verify_exits_1_when_a_sample_is_outside_its_tolerance(tmp_path, start_board):
    """A virtual board running a perturbed kws01 model, checked against the real one: exit 1, one line per
    runtime naming its role and the samples outside tolerance."""
    board = start_board("kws01", model=_perturbed(model_path("kws01"), tmp_path / "wrong.tflite"))
    dataset = kws01_subset(tmp_path / "data", 12)
    results = tmp_path / "res"
    proc = _cli("verify", "-b", "kws01", "--port", board.url, "--model", str(model_path("kws01")),
                "--dataset", str(dataset), "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    golden = json.loads((results / "results.json").read_text())["runs"][0]["accuracy"]["golden"]
    assert golden["tflite-micro"]["reference"] is True and golden["litert"]["reference"] is False
    assert golden["litert"]["tolerance_steps"] == get_benchmark("kws01").litert_steps
    for runtime, check in golden.items():
        assert check["mismatches"] > 0
        role = "reference" if runtime == "tflite-micro" else "cross-check"
        line = (f"kws01 golden {runtime} ({role}, {check['tolerance']}): {check['mismatches']} of 12 samples "
                f"outside tolerance, first: {check['first_mismatches'][0]}")
        assert line in proc.stdout
        assert line in (results / "results.txt").read_text()
    assert "golden check:" in proc.stdout and "samples outside" in proc.stdout


def test_verify_passes_on_the_official_resnet(tmp_path):
    """The issue's case end to end: the virtual board runs the official ic01 model with TFLite Micro; verify
    exits 0 with no sample outside either runtime's tolerance."""
    model = official_model("ic01")
    results = tmp_path / "res"
    # --require golden: the official model on the synthetic samples misses the quality target by design.
    proc = _cli("verify", "-b", "ic01", "--model", str(model), "--baud", "4000000", "--sim-time-scale", "0",
                "--require", "golden", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    golden = json.loads((results / "results.json").read_text())["runs"][0]["accuracy"]["golden"]
    assert {runtime: check["mismatches"] for runtime, check in golden.items()} == {"tflite-micro": 0, "litert": 0}
    steps = get_benchmark("ic01").litert_steps
    assert (f"ic01 golden litert (cross-check, {steps} output steps + 0.001 per value): all 50 samples within "
            "tolerance") in proc.stdout


def test_an_unknown_golden_runtime_is_one_line_and_exit_2(tmp_path):
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", "--golden", "tflite-micro,onnx",
                "--results", str(tmp_path / "res"), cwd=tmp_path)
    assert proc.returncode == 2 and "unknown golden runtime onnx" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "res").exists()
