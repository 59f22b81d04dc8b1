"""The Python API (edgeperf.api) against real virtual-board processes: typed results that are results.json's
records, boards that clean up their processes, clear errors; and the lab script of docs/python-api.md, run as
written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, kws01_subset

import edgeperf
from edgeperf.errors import ConfigError, ExitCode, ResultError, RunFailed


def child_pids() -> set[int]:
    """This process's live children, from /proc (a stopped board leaves none behind)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids |= {int(p) for p in (task / "children").read_text().split()}
    return pids


def fast_board(results: Path, **options: object) -> edgeperf.Board:
    return edgeperf.virtual_board("kws01", timing_profile="ideal", time_scale=0, results=results, **options)


def test_a_started_board_serves_every_run_and_its_results_are_the_records(tmp_path):
    before = child_pids()
    events: list[edgeperf.ProgressEvent] = []
    with fast_board(tmp_path) as board:
        assert child_pids() - before, "entering the board starts its process"
        url = board.url
        assert url is not None and Path(url).exists()
        first = board.run("performance", quick=True, progress=events.append)
        second = board.run("performance", quick=True)
        assert board.url == url
    assert child_pids() == before, "leaving the board stops its process"
    assert not Path(url).exists()

    document = json.loads((first.folder / "results.json").read_text())
    assert document["runs"] == [first.entry]
    measured = first.entry["performance"]
    assert first.latency_ms == measured["latency"]["value"] == first.record.result.latency_ms
    assert first.throughput == measured["median_throughput"]["value"]
    assert 150 < first.latency_ms < 250  # the kws01 cost model at 120 MHz: about 194 ms
    assert first.board["url"] == url and second.board["url"] == url and second.folder != first.folder
    assert first.missed == [c["rule"] for c in measured["rules"] if not c["met"]]
    assert "window duration" in first.missed and first.passed is False
    assert first.verdict == measured["verdict"] and str(first).startswith("the kws01 performance run: NOT run")
    kinds = {event.kind for event in events}
    assert {"begin", "advance", "status", "upload"} <= kinds
    last = [e for e in events if e.kind == "advance"][-1]
    assert last.done == last.total and last.phase == "kws01 performance"
    with pytest.raises(ResultError, match="measures no energy: run mode energy"):
        _ = first.energy_uj
    with pytest.raises(ResultError, match="not a LoadGen scenario run"):
        _ = first.loadgen


def test_accuracy_outside_a_with_brings_the_board_up_for_the_run_only(tmp_path):
    before = child_pids()
    board = fast_board(tmp_path / "results", dataset=kws01_subset(tmp_path / "data", 3))
    result = board.run("accuracy")
    assert child_pids() == before and not board.started
    metrics = result.entry["accuracy"]["metrics"]
    assert result.top1 == metrics["top1"]["value"] == result.accuracy
    assert result.auc == metrics["auc"]["value"]
    assert result.entry["accuracy"]["files"] == 3
    with pytest.raises(ResultError, match="measures no latency: run mode performance"):
        _ = result.latency_ms


def test_board_at_a_port_drives_a_board_already_running_and_a_failed_run_names_why(start_board, tmp_path):
    running = start_board("kws01")
    board = edgeperf.board_at(running.url, "kws01", board="virtual", results=tmp_path)
    result = board.run("performance", quick=True)
    assert result.ok and result.board["url"] == running.url and result.board["board_name"] == "virtual"
    assert result.latency_ms == result.entry["performance"]["latency"]["value"]

    wrong = edgeperf.board_at(running.url, "vww01", board="virtual", results=tmp_path)
    with pytest.raises(RunFailed, match=r"runs model 'kws01', not 'vww01'.*see ") as refused:
        wrong.run("performance", quick=True)
    assert refused.value.exit_code == ExitCode.CONFIG  # a wrong setting, as `edgeperf run` would exit
    failed = wrong.run("performance", quick=True, check=False)
    assert failed.error is not None and failed.error.startswith("ConfigError") and not failed.ok
    with pytest.raises(ResultError, match="has no latency: it failed"):
        _ = failed.latency_ms


def test_a_mode_the_board_cannot_run_is_refused_before_anything_starts(tmp_path):
    before = child_pids()
    with pytest.raises(ConfigError, match="use edgeperf.virtual_bench"):
        fast_board(tmp_path).run("energy")
    with pytest.raises(ConfigError, match="the virtual bench runs an energy build"):
        edgeperf.virtual_bench("kws01", results=tmp_path).run("accuracy")
    with pytest.raises(ConfigError, match="time_scale=1.0 for a scenario, not 0"):
        fast_board(tmp_path).run(scenario="singlestream")
    with pytest.raises(ConfigError, match="unknown LoadGen scenario 'burst'"):
        fast_board(tmp_path).run(scenario="burst")
    with pytest.raises(ConfigError, match="energy mode needs a power monitor"):
        edgeperf.board_at("/dev/null", "kws01", results=tmp_path).run("energy")
    with pytest.raises(ConfigError, match="unknown golden runtime"):
        fast_board(tmp_path).run("accuracy", golden="tvm")
    assert child_pids() == before and not list(tmp_path.iterdir())


def test_a_loadgen_scenario_result_reads_the_loadgen_record(tmp_path):
    with edgeperf.virtual_board("kws01", timing_profile="ideal", time_scale=1.0, results=tmp_path) as board:
        result = board.run("performance", scenario="singlestream", quick=True)
    loadgen = result.entry["loadgen"]
    assert result.scenario == "singlestream" and result.result is None
    assert result.latency_ms == loadgen["device_latency_ms"]["p90"]
    assert 150 < result.latency_ms < 250
    assert result.throughput == loadgen["host_e2e_latency_ms"]["samples_per_second"]
    assert result.passed is (loadgen["validity"] == "VALID")
    assert result.verdict == f"LoadGen: {loadgen['validity']}"
    with pytest.raises(ResultError, match="measures no rule checks: a LoadGen scenario run is judged by LoadGen"):
        _ = result.missed


def lab_script() -> str:
    text = (REPO / "docs" / "python-api.md").read_text()
    section = text[text.index("## A complete lab script"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/python-api.md lost its lab script"
    return match.group(1)


def test_the_lab_script_in_the_docs_runs_as_written(tmp_path):
    script = tmp_path / "lab.py"
    script.write_text(lab_script())
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO / "host")}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert re.search(r"kws01 latency 1\d\d\.\d ms", done.stdout), done.stdout
    assert re.search(r"kws01 energy \d+\.\d uJ per inference", done.stdout), done.stdout
    assert "kws01 performance: 6 steps" in done.stderr
    folders = sorted(tmp_path.glob("edgeperf-nightly-*/*/results.json"))
    assert [json.loads(f.read_text())["mode"] for f in folders] == ["performance", "energy"]


def test_the_package_offers_the_api_without_importing_it_up_front():
    code = ("import sys, edgeperf; assert 'edgeperf.api' not in sys.modules; "
            "assert edgeperf.virtual_board is __import__('edgeperf.api').api.virtual_board; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO / "host")},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "ok", done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        edgeperf.nothing  # noqa: B018
