"""ic02 on the virtual board with the official model, and the submission export's rules on real results folders:
closed refuses each failed rule by name, ic02 needs ic01 in the same submission, LoadGen runs export (open)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, REPO, reference_model, samples_subset

from edgeperf.benchmarks import get_benchmark
from edgeperf.cli import main
from edgeperf.datasets import read_dataset
from edgeperf.errors import ConfigError
from edgeperf.modelinfo import inspect_model
from edgeperf.ports import ReferencePort
from edgeperf.results.export import export
from edgeperf.runtimes import TflmRunner
from edgeperf.sim.cost_model import CostModel

FAST = ("--sim-time-scale", "0", "--baud", "4000000")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200", **(extra or {}))


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], check=False, cwd=cwd, env=_env(env),
                          text=True, capture_output=True, timeout=600)


def _runs(base: Path, wanted: dict[str, list[str]]) -> dict[str, Path]:
    """`edgeperf run` for each entry, one after the other (concurrent runs only contend for the cores)."""
    for name, args in wanted.items():
        # Documents for the export rules, some made to miss a quality target or be INVALID: none is required here.
        proc = _cli("run", *args, *FAST, "--require", "none", "--results", str(base / name), cwd=base)
        assert proc.returncode == 0, f"{name}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return {name: base / name for name in wanted}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Real runs on virtual boards: full-rule performance of the official ic01 and ic02 models (instant at time
    scale 0: the device time is modelled), ic02 accuracy on 10 ic01 samples, and runs that break closed rules."""
    base = tmp_path_factory.mktemp("runs")
    ic01, ic02 = str(reference_model("ic01")), str(reference_model("ic02"))
    subset = samples_subset(base / "data", "ic01", 10)
    return _runs(base, {
        "ic02": ["-b", "ic02", "--model", ic02],
        "ic01": ["-b", "ic01", "--model", ic01],
        "loadgen": ["-b", "ad01", "--scenario", "singlestream", "--quick"],
        "ic02_acc": ["-b", "ic02", "--model", ic02, "--mode", "accuracy", "--dataset", str(subset), "--golden"],
        "kws_bundled": ["-b", "kws01"],
        "ic02_bundled_acc": ["-b", "ic02", "--mode", "accuracy", "--dataset", str(subset)],
        "kws_quick": ["-b", "kws01", "--quick"],
    })


def _only_run(folder: Path) -> dict:
    [run] = json.loads((folder / "results.json").read_text())["runs"]
    return run


def test_ic02_performance_on_the_official_model_meets_the_rules(runs):
    """The board runs the large ResNet (its modelled latency, not ic01's) and reports itself as ic02."""
    run = _only_run(runs["ic02"])
    assert run["board"]["model"] == "ic02" and run["model"]["md5"] == get_benchmark("ic02").reference_md5
    perf = run["performance"]
    assert perf["verdict"].startswith("run under MLPerf Tiny rules")
    modelled_ms = CostModel().latency_us(inspect_model(reference_model("ic02"))) / 1000
    ic01_ms = CostModel().latency_us(inspect_model(reference_model("ic01"))) / 1000
    assert perf["latency"]["value"] == pytest.approx(modelled_ms, rel=0.03)
    assert perf["latency"]["value"] > 3 * ic01_ms
    assert "ic02" in (runs["ic02"] / "results.txt").read_text()


def _host_top1(model: Path, runs: dict[str, Path]) -> float:
    """Top-1 % of `model` on the runs' 10-file ic01 subset, computed on the host with TFLite Micro."""
    files = read_dataset(runs["ic02_acc"].parent / "data", get_benchmark("ic02"))
    port = ReferencePort("ic02", TflmRunner(model))
    right = 0
    for item in files:
        port.load_tensor(item.read())
        port.infer()
        right += int(np.argmax(port.int8_output)) == item.label
    return 100 * right / len(files)


def test_ic02_accuracy_on_the_official_model_matches_host_tflite_micro(runs):
    run = _only_run(runs["ic02_acc"])
    acc = run["accuracy"]
    assert acc["metrics"]["top1"]["value"] == pytest.approx(_host_top1(reference_model("ic02"), runs))
    assert {name: check["mismatches"] for name, check in acc["golden"].items()} == {"tflite-micro": 0, "litert": 0}
    rules = {rule["rule"]: rule for rule in acc["rules"]}
    assert "top-1 91 %" in rules["quality target"]["detail"]
    assert not rules["official accuracy set"]["met"] and "has 200" in rules["official accuracy set"]["detail"]


def test_ic02_accuracy_on_the_bundled_model(runs):
    """Without --model the board runs models/ic02.tflite and reports ic02; its top-1 is what TFLite Micro gives."""
    run = _only_run(runs["ic02_bundled_acc"])
    assert run["board"]["model"] == "ic02" and Path(run["model"]["path"]) == MODELS / "ic02.tflite"
    assert run["accuracy"]["metrics"]["top1"]["value"] == pytest.approx(_host_top1(MODELS / "ic02.tflite", runs))


def test_ic02_without_a_bundled_model_is_one_config_error(tmp_path):
    """Models folder without ic02.tflite (as until the bundled one is trained): one line naming --model."""
    models = tmp_path / "models"
    models.mkdir()
    for path in MODELS.iterdir():
        if path.name != "ic02.tflite":
            (models / path.name).symlink_to(path)
    proc = _cli("run", "-b", "ic02", "--quick", "--results", str(tmp_path / "res"), cwd=tmp_path,
                env={"EDGEPERF_MODELS": str(models)})
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "no bundled ic02 model" in proc.stderr
    assert "--model" in proc.stderr and "pretrainedResnet_large_int8.tflite" in proc.stderr
    assert not (tmp_path / "res").exists()


def test_a_board_reporting_ic02_is_run_with_the_advice_it_gets(tmp_path, start_board):
    board = start_board("ic02", model=reference_model("ic02"))
    data = samples_subset(tmp_path / "data", "ic01", 3)
    wrong = _cli("run", "-b", "ic01", "--port", board.url, "--mode", "accuracy", "--dataset", str(data),
                 "--results", str(tmp_path / "wrong"), cwd=tmp_path)
    assert "choose --benchmark ic02" in _only_run(tmp_path / "wrong")["error"], wrong.stdout
    # --require none: the official model on three synthetic samples misses the quality target by design.
    right = _cli("run", "-b", "ic02", "--port", board.url, "--mode", "accuracy", "--dataset", str(data),
                 "--require", "none", "--results", str(tmp_path / "right"), cwd=tmp_path)
    assert right.returncode == 0, right.stdout + right.stderr
    assert len(_only_run(tmp_path / "right")["accuracy"]["samples"]) == 3


def _export(folder: Path, out: Path, division: str) -> subprocess.CompletedProcess[str]:
    return _cli("export", str(folder), str(out), "--division", division, "--org", "Acme", "--system", "vboard",
                cwd=out.parent)


def test_closed_export_of_ic01_then_ic02_writes_ic_and_ic2(runs, tmp_path):
    out = tmp_path / "sub"
    for name in ("ic01", "ic02"):
        exported = export(runs[name], out, "closed", "Acme", "vboard")
        assert len(exported.written) == 1 and exported.closed_blockers == []
    tree = out / "closed" / "Acme" / "results" / "vboard"
    for folder in ("ic", "ic2"):
        text = (tree / folder / "performance" / "results.txt").read_text()
        assert re.search(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*", text)
        assert {"log.txt", "results.txt", "results.json"} <= {p.name for p in (tree / folder / "performance").iterdir()}
    assert _only_run(tree / "ic2" / "performance")["benchmark"] == "ic02"


@pytest.mark.parametrize("division", ["open", "closed"])
def test_ic02_without_ic01_is_refused_naming_the_rule(runs, tmp_path, division):
    out = tmp_path / "sub"
    with pytest.raises(ConfigError, match=r"^progressively larger submissions: .* also holds ic01"):
        export(runs["ic02"], out, division, "Acme", "vboard")
    assert not out.exists()


def _named(message: str) -> list[str]:
    """The rule names in a closed refusal: `<benchmark> <mode>: <rule>: <why>; ...`."""
    return sorted(re.findall(r"(?:^|; )\w+ [\w-]+: ([\w ]+?):", message.split("failed: ", 1)[1]))


@pytest.mark.parametrize(("run", "rules"), [
    ("kws_quick", ["quick profile", "reference model", "window duration"]),
    ("kws_bundled", ["reference model"]),
    ("loadgen", ["MLPerf Tiny runner"]),
])
def test_closed_export_refuses_naming_each_failed_rule(runs, tmp_path, run, rules):
    out = tmp_path / "sub"
    with pytest.raises(ConfigError) as refused:
        export(runs[run], out, "closed", "Acme", "vboard")
    assert _named(str(refused.value)) == rules
    assert not out.exists()
    opened = export(runs[run], out, "open", "Acme", "vboard")  # open stays permissive, and says what would block
    assert len(opened.written) == 1
    assert sorted(blocker.split(": ")[1] for blocker in opened.closed_blockers) == rules


def test_closed_export_refuses_too_few_accuracy_files(runs, tmp_path):
    """The official ic02 model on 10 files: the accuracy set rule fails (and the model rule does not)."""
    export(runs["ic01"], tmp_path / "sub", "closed", "Acme", "vboard")  # ic02 needs ic01 in the submission
    with pytest.raises(ConfigError) as refused:
        export(runs["ic02_acc"], tmp_path / "sub", "closed", "Acme", "vboard")
    named = _named(str(refused.value))
    assert "official accuracy set" in named and "reference model" not in named
    assert "10 files; the MLPerf Tiny accuracy set has 200" in str(refused.value)


def test_cli_closed_refusal_is_one_line_and_open_lists_the_blockers(runs, tmp_path):
    out = tmp_path / "sub"
    refused = _export(runs["kws_quick"], out, "closed")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    assert "closed division refused, 3 rule(s) failed" in refused.stderr and not out.exists()
    opened = _export(runs["kws_quick"], out, "open")
    assert opened.returncode == 0, opened.stderr
    assert sum(line.startswith("would block the closed division: kws01 performance: ")
               for line in opened.stdout.splitlines()) == 3


def test_open_export_of_a_loadgen_run_copies_its_mlperf_logs(runs, tmp_path):
    out = tmp_path / "sub"
    assert _export(runs["loadgen"], out, "open").returncode == 0
    folder = out / "open" / "Acme" / "results" / "vboard" / "ad" / "singlestream-performance"
    names = {p.name for p in folder.iterdir()}
    assert {"mlperf_log_summary.txt", "mlperf_log_detail.txt", "log.txt", "results.json"} <= names
    assert "Scenario : SingleStream" in (folder / "mlperf_log_summary.txt").read_text()
    assert _only_run(folder)["scenario"] == "singlestream"


def test_report_and_compare_read_ic02_results(runs, tmp_path, capsys):
    assert main(["report", str(runs["ic02"]), "--output", str(tmp_path / "r.html")]) == 0
    assert "ic02" in capsys.readouterr().out and "ic02" in (tmp_path / "r.html").read_text()
    assert main(["compare", str(runs["ic02"]), str(runs["ic02"]), "--fail-above", "1"]) == 0
    assert "ic02" in capsys.readouterr().out
