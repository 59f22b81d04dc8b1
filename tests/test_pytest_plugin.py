"""The pytest plugin, run by pytest's own pytester against virtual boards: the docs' example module as written,
a real port given with --edgeperf-port, and the promise that an unused plugin starts and imports nothing."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from conftest import REPO, kws01_subset

# Imported before pytester snapshots sys.modules, so its in-process runs share this numpy (which cannot be
# loaded twice in one process) instead of each importing it again.
import edgeperf.api  # noqa: F401

pytest_plugins = ["pytester"]

PLUGIN = "edgeperf.pytest_plugin"


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose runs load only the plugin named with -p, whatever this interpreter has installed."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(REPO / "host"))
    return pytester


def docs_example() -> str:
    text = (REPO / "docs" / "python-api.md").read_text()
    section = text[text.index("## pytest plugin"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/python-api.md lost its plugin example"
    return match.group(1)


def test_the_docs_example_runs_on_virtual_boards_and_skips_the_hardware_test(inner, tmp_path):
    inner.makepyfile(test_lab=docs_example())
    results = tmp_path / "runs"
    dataset = kws01_subset(tmp_path / "data", 3)
    outcome = inner.runpytest("-p", PLUGIN, "-rs", "--edgeperf-quick", "--edgeperf-sim-profile", "ideal",
                              "--edgeperf-dataset", str(dataset), "--edgeperf-results", str(results))
    outcome.assert_outcomes(passed=2, skipped=1)
    outcome.stdout.re_match_lines([r"SKIPPED \[1\] test_lab.py:\d+: needs a real board: pass --edgeperf-port URL"])
    documents = [json.loads(p.read_text()) for p in sorted(results.glob("*/results.json"))]
    assert [d["mode"] for d in documents] == ["performance", "accuracy"]
    latency = documents[0]["runs"][0]["performance"]["latency"]["value"]
    assert 150 < latency < 200
    assert documents[0]["runs"][0]["board"]["sim_timing_profile"] == "ideal"
    assert documents[1]["runs"][0]["accuracy"]["files"] == 3
    urls = {d["runs"][0]["board"]["url"] for d in documents}
    assert len(urls) == 1, f"the session's two tests share one virtual board: {urls}"


def test_a_real_port_runs_the_hardware_tests_and_a_wrong_benchmark_fails_naming_both(inner, start_board):
    running = start_board("kws01")
    inner.makepyfile(test_hil="""
        import pytest
        from edgeperf.errors import RunFailed

        @pytest.mark.edgeperf_hardware
        def test_on_the_board(edgeperf_run, edgeperf_board, edgeperf_options):
            result = edgeperf_run()
            assert result.board["url"] == edgeperf_options.port == edgeperf_board.url
            assert result.board["board_name"] == "virtual"
            assert result.latency_ms == result.entry["performance"]["latency"]["value"]

        def test_other_firmware(edgeperf_run):
            with pytest.raises(RunFailed, match="runs model 'kws01', not 'vww01'"):
                edgeperf_run("vww01")
    """)
    # `--option=value`: pytest would take a separate device path for where the tests are.
    outcome = inner.runpytest("-p", PLUGIN, "--edgeperf-quick", f"--edgeperf-port={running.url}",
                              "--edgeperf-board=virtual")
    outcome.assert_outcomes(passed=2)


def test_an_unused_plugin_imports_and_starts_nothing(inner):
    inner.makepyfile(test_plain="""
        import os
        import sys
        from pathlib import Path

        def test_untouched(request):
            assert "edgeperf.pytest_plugin" in sys.modules
            assert not [m for m in ("edgeperf.api", "edgeperf.run", "numpy") if m in sys.modules]
            children = [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()]
            assert children == []
            assert request.config.getoption("--edgeperf-port") is None
    """)
    outcome = inner.runpytest_subprocess("-p", PLUGIN, "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)
    assert "edgeperf" not in "\n".join(outcome.stdout.lines[:6])  # no report header of its own
    helped = inner.runpytest_subprocess("-p", PLUGIN, "--help")
    helped.stdout.fnmatch_lines(["*edgeperf boards*", "*--edgeperf-port=URL*", "*--edgeperf-results=DIR*"])
    markers = inner.runpytest_subprocess("-p", PLUGIN, "--markers")
    markers.stdout.fnmatch_lines(["*@pytest.mark.edgeperf_hardware: the test needs a real board*"])


def test_pyproject_registers_the_plugin_under_pytest11():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"edgeperf": PLUGIN}
