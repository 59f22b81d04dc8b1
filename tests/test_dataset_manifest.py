"""The dataset manifest: written by `edgeperf preprocess` and shipped with the bundled sample sets; a dataset
quantized for another model is refused before anything is sent, one without a manifest runs with a note."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import kws01_subset, model_path

from edgeperf.benchmarks import BENCHMARKS
from edgeperf.bundled import bundled_samples
from edgeperf.datasets.manifest import MANIFEST, check_quantization, manifest_for, read_manifest
from edgeperf.datasets.preprocess import preprocess
from edgeperf.errors import DatasetError

REPO = Path(__file__).resolve().parents[1]
REFERENCE_MODELS = Path(os.environ.get("EDGEPERF_REFERENCE_MODELS", REPO.parent / "shared" / "reference-models"))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], check=False, cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def _requantized(source: Path, target: Path, scale: float, zero_point: int) -> Path:
    """`source` with another input quantization: a real model file a kws01 dataset was not made for."""
    import flatbuffers
    from tflite_micro import runtime

    model = runtime.schema_fb.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    graph = model.subgraphs[0]
    quantization = graph.tensors[graph.inputs[0]].quantization
    quantization.scale, quantization.zeroPoint = [scale], [zero_point]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return target


@pytest.mark.parametrize("name", [name for name, bench in BENCHMARKS.items() if not bench.dataset_of and not bench.streaming])
def test_every_bundled_sample_set_has_the_manifest_of_its_model(name):
    manifest = read_manifest(bundled_samples() / name)
    assert manifest is not None
    expected = manifest_for(name, manifest.source, model_path(name))
    assert manifest == expected
    assert check_quantization(bundled_samples() / name, name, model_path(name)) is None


def test_preprocess_writes_the_manifest_of_the_model_it_quantized_for(tmp_path):
    raw = tmp_path / "speech" / "yes"
    raw.mkdir(parents=True)
    with wave.open(str(raw / "a.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((0.4 * np.sin(np.arange(16000) / 5) * 32767).astype("<i2").tobytes())
    preprocess("kws01", tmp_path / "speech", tmp_path / "out", model_path("kws01"))
    written = json.loads((tmp_path / "out" / "kws01" / MANIFEST).read_text())
    assert written["benchmark"] == "kws01" and written["input_dtype"] == "int8"
    assert (written["scale"], written["zero_point"]) == pytest.approx((0.3407392, 32))
    assert written["model_md5"] == hashlib.md5(model_path("kws01").read_bytes()).hexdigest()
    assert str(tmp_path / "speech") in written["source"] and written["edgeperf_version"]


def test_the_official_kws_model_refuses_the_bundled_kws_samples():
    official = REFERENCE_MODELS / "kws_ref_model.tflite"
    if not official.is_file():
        pytest.skip(f"the official kws01 model is not in {REFERENCE_MODELS} (set EDGEPERF_REFERENCE_MODELS)")
    with pytest.raises(DatasetError, match=r"scale 0\.340739, zero point 32 .* takes input scale 0\.584703, zero point 83"):
        check_quantization(bundled_samples() / "kws01", "kws01", official)


def test_a_dataset_with_another_models_quantization_is_refused_before_anything_is_sent(tmp_path):
    other = _requantized(model_path("kws01"), tmp_path / "other.tflite", 0.5847029, 83)
    results = tmp_path / "res"
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", "--model", str(other), "--port",
                str(tmp_path / "no-such-port"), "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # a dataset error: configuration or input
    assert "Traceback" not in proc.stdout + proc.stderr
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert error.startswith("DatasetError:") and "\n" not in error
    assert "input scale 0.340739, zero point 32" in error and "input scale 0.584703, zero point 83" in error
    assert "no-such-port" not in error  # refused before the port was opened
    assert error in proc.stdout.replace("\n", "")  # rich may wrap the red line; the text is all there


def test_a_dataset_without_a_manifest_runs_with_a_note(tmp_path):
    dataset = kws01_subset(tmp_path / "data", 4)  # y_labels.csv and .bin files only: the official layout
    results = tmp_path / "res"
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", "--dataset", str(dataset), "--baud", "4000000",
                "--sim-time-scale", "0", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["accuracy"]["files"] == 4
    assert run["dataset"]["quantization_checked"] is False
    assert "input quantization could not be checked" in run["dataset"]["note"]
    assert f"Note: {run['dataset']['note']}" in (results / "results.txt").read_text()


def test_a_dataset_with_a_matching_manifest_is_checked_without_a_note(tmp_path):
    dataset = kws01_subset(tmp_path / "data", 2)
    (dataset / "kws01" / MANIFEST).write_bytes((bundled_samples() / "kws01" / MANIFEST).read_bytes())
    results = tmp_path / "res"
    proc = _cli("run", "--mode", "accuracy", "-b", "kws01", "--dataset", str(dataset), "--baud", "4000000",
                "--sim-time-scale", "0", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["dataset"]["quantization_checked"] is True and "note" not in run["dataset"]
    assert "Note:" not in (results / "results.txt").read_text()


def test_a_garbled_manifest_is_one_clear_error(tmp_path):
    (tmp_path / "kws01").mkdir()
    (tmp_path / "kws01" / MANIFEST).write_text("{not json")
    with pytest.raises(DatasetError, match="is not an edgeperf dataset manifest"):
        check_quantization(tmp_path / "kws01", "kws01", model_path("kws01"))
