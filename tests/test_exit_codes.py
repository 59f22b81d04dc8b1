"""One real run per exit code on the virtual board: what a CI job can tell from `edgeperf`'s status alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from edgeperf.errors import ExitCode
from edgeperf.results.requirements import assess

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="250")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, capture_output=True, check=False,
                          text=True, timeout=300)


def _document(results: Path) -> dict:
    return json.loads((results / "results.json").read_text())


def _classes_shifted(tmp: Path) -> Path:
    """kws01's model with its last layer's rows rolled by one: every input is scored as the next class, so top-1
    is 0 % while shapes, quantization and the golden check all still fit."""
    from tflite_micro import runtime

    schema = runtime.schema_fb
    model = schema.ModelT.InitFromPackedBuf((MODELS / "kws01.tflite").read_bytes(), 0)
    graph = model.subgraphs[0]
    codes = [c.builtinCode or c.deprecatedBuiltinCode for c in model.operatorCodes]
    layer = next(op for op in graph.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.FULLY_CONNECTED)
    for tensor in (graph.tensors[layer.inputs[1]], graph.tensors[layer.inputs[2]]):
        rows = tensor.shape[0]
        buffer = model.buffers[tensor.buffer]
        buffer.data = np.roll(np.asarray(buffer.data, dtype=np.uint8).reshape(rows, -1), 1, axis=0).reshape(-1)
        quant = tensor.quantization
        if quant is not None and quant.scale is not None and len(quant.scale) == rows:
            quant.scale, quant.zeroPoint = np.roll(quant.scale, 1), np.roll(quant.zeroPoint, 1)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp / "kws01-classes-shifted.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.fixture(scope="module")
def config_failed(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """kws01 given vww01's model: refused before the (absent) port is opened."""
    tmp = tmp_path_factory.mktemp("config")
    results = tmp / "res"
    return _cli("run", "-b", "kws01", "--model", str(MODELS / "vww01.tflite"), "--port", str(tmp / "no-such-port"),
                "--results", str(results), cwd=tmp), results


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A quick kws01 performance run that requires every MLPerf Tiny rule: the bundled model is not the official one."""
    tmp = tmp_path_factory.mktemp("quick")
    results = tmp / "res"
    return _cli("run", "-b", "kws01", "--quick", "--sim-time-scale", "0", "--require", "rules",
                "--results", str(results), cwd=tmp), results


def test_the_bundled_models_reference_rule_fails_only_when_rules_are_required(quick_run):
    proc, results = quick_run
    document = _document(results)
    rules = {r["rule"]: r["met"] for r in document["runs"][0]["performance"]["rules"]}
    assert rules["reference model"] is False and not document["runs"][0].get("error")
    assert proc.returncode == ExitCode.CHECK_FAILED == 1, proc.stdout + proc.stderr
    assert "kws01: NOT run under MLPerf Tiny rules" in proc.stdout and "reference model" in proc.stdout
    assert assess(document).exit_code is ExitCode.OK  # the default: the same run passes CI


@pytest.mark.parametrize("command", ["run", "verify"])
def test_help_lists_every_requirement(tmp_path, command):
    proc = _cli(command, "--help", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert all(name in proc.stdout for name in ("quality", "golden", "loadgen-valid", "rules", "none"))
    assert "top-1 90 %" in proc.stdout


def test_a_bad_require_value_is_a_usage_error(tmp_path):
    proc = _cli("run", "-b", "kws01", "--require", "quality,speed", "--results", str(tmp_path / "res"), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE == 2, proc.stderr
    assert "unknown requirement speed" in proc.stderr and "loadgen-valid" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "res").exists()


def test_a_model_that_does_not_fit_is_a_config_error(config_failed):
    proc, results = config_failed
    assert proc.returncode == ExitCode.CONFIG == 3, proc.stdout + proc.stderr
    (run,) = _document(results)["runs"]
    assert run["error"].startswith("ModelError:") and run["error_kind"] == "config"


def test_a_bad_option_value_found_after_parsing_is_a_config_error(tmp_path):
    proc = _cli("run", "-b", "kws01", "--quick", "--sim-timing", "jitter=lots", "--results", str(tmp_path / "r"),
                cwd=tmp_path)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "jitter=lots" in proc.stderr


def test_a_port_that_does_not_answer_is_a_device_failure(tmp_path):
    with socket.socket() as probe:  # a local TCP port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = tmp_path / "res"
    proc = _cli("run", "-b", "kws01", "--quick", "--port", f"socket://127.0.0.1:{port}", "--results", str(results),
                cwd=tmp_path)
    assert proc.returncode == ExitCode.DEVICE == 4, proc.stdout + proc.stderr
    (run,) = _document(results)["runs"]
    assert run["error_kind"] == "device" and f"127.0.0.1:{port}" in run["error"], run["error"]


def test_a_missed_quality_target_fails_by_default(tmp_path):
    """A model scoring every input as the wrong class: the run completes, its top-1 is 0 %, CI must go red."""
    model = _classes_shifted(tmp_path)
    results = tmp_path / "res"
    args = ["run", "--mode", "accuracy", "-b", "kws01", "--model", str(model), "--baud", "4000000",
            "--sim-time-scale", "0"]
    proc = _cli(*args, "--results", str(results), cwd=tmp_path)
    assert proc.returncode == ExitCode.CHECK_FAILED, proc.stdout + proc.stderr
    assert "kws01: quality target missed: top-1 0.0 % against the target top-1 90 %" in proc.stdout
    (run,) = _document(results)["runs"]
    assert run["accuracy"]["metrics"]["top1"]["value"] == 0.0 and not run.get("error")
    assert assess(_document(results), ()).exit_code is ExitCode.OK  # --require none would accept it


def test_a_missed_quality_target_under_loadgen_fails_by_default(tmp_path):
    """The same model under LoadGen's offline accuracy run: the score comes from LoadGen's accuracy log."""
    results = tmp_path / "res"
    proc = _cli("run", "-b", "kws01", "--scenario", "offline", "--mode", "accuracy", "--quick", "--baud", "921600",
                "--model", str(_classes_shifted(tmp_path)), "--results", str(results), cwd=tmp_path)
    assert proc.returncode == ExitCode.CHECK_FAILED, proc.stdout + proc.stderr
    assert _document(results)["runs"][0]["loadgen"]["metrics"]["top1"] == 0.0
    assert ("kws01: quality target missed in LoadGen's accuracy run: top-1 0.0 % against the target top-1 90 %"
            in proc.stdout)


def test_an_invalid_loadgen_run_fails_and_says_why(tmp_path):
    """A quick LoadGen run processes too few queries for early stopping: INVALID, with LoadGen's reasons shown."""
    results = tmp_path / "res"
    proc = _cli("run", "-b", "kws01", "--scenario", "singlestream", "--quick", "--baud", "921600",
                "--results", str(results), cwd=tmp_path)
    assert proc.returncode == ExitCode.CHECK_FAILED, proc.stdout + proc.stderr
    lg = _document(results)["runs"][0]["loadgen"]
    assert lg["validity"] == "INVALID" and "early stopping not satisfied" in lg["invalid_reasons"], lg
    assert any("queries" in reason for reason in lg["invalid_reasons"]), lg["invalid_reasons"]
    shown = "; ".join(lg["invalid_reasons"])
    assert f"LoadGen singlestream result INVALID: {shown}" in proc.stdout  # the failure line
    assert f"INVALID ({shown})" in (results / "results.txt").read_text()
    report = _cli("report", str(results), cwd=tmp_path)
    assert report.returncode == ExitCode.OK, report.stderr
    assert f"INVALID ({shown})" in (results / "report.html").read_text()


def test_compare_fails_the_gate_when_runs_have_nothing_in_common(config_failed, quick_run, tmp_path):
    """Run 1 measured nothing (its only benchmark failed): no regression can be seen, so the gate must not pass."""
    (_, failed), (_, measured) = config_failed, quick_run
    gate = _cli("compare", str(failed), str(measured), "--fail-above", "5", cwd=tmp_path)
    assert gate.returncode == ExitCode.CHECK_FAILED, gate.stdout + gate.stderr
    assert "no benchmark measured in common" in gate.stdout and "--fail-above fails" in gate.stdout
    plain = _cli("compare", str(failed), str(measured), cwd=tmp_path)
    assert plain.returncode == ExitCode.OK and "nothing to compare" in plain.stdout
    same = _cli("compare", str(measured), str(measured), "--fail-above", "5", cwd=tmp_path)
    assert same.returncode == ExitCode.OK, same.stdout


def test_reading_a_missing_results_folder_is_a_config_error(tmp_path):
    for command in (["report", str(tmp_path / "none")], ["export", str(tmp_path / "none"), str(tmp_path / "out"),
                                                          "--org", "Acme", "--system", "b"]):
        proc = _cli(*command, cwd=tmp_path)
        assert proc.returncode == ExitCode.CONFIG, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
