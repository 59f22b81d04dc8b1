"""`edgeperf completion bash|zsh`: the script a shell sources, and a real bash completing through it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "host"))


def _edgeperf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], env=ENV, capture_output=True, text=True, check=False,
                          timeout=60)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_completion_script_is_printed(shell):
    proc = _edgeperf("completion", shell)
    assert proc.returncode == 0, proc.stderr
    assert "edgeperf" in proc.stdout and "_ARGCOMPLETE=1" in proc.stdout
    assert ("complete " if shell == "bash" else "compdef") in proc.stdout


def test_an_unknown_shell_is_a_usage_error():
    proc = _edgeperf("completion", "fish")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_options_and_benchmarks(tmp_path):
    """bash sources the script and completes through `edgeperf` on PATH, as a user's shell does."""
    wrapper = tmp_path / "edgeperf"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edgeperf.cli "$@"\n')
    wrapper.chmod(0o755)
    script = tmp_path / "complete.sh"
    script.write_text('eval "$(edgeperf completion bash)"\n'
                      'complete_line() { COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"; '
                      'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _python_argcomplete edgeperf; '
                      'printf "%s|" "${COMPREPLY[@]}"; echo; }\n'
                      'complete_line "edgeperf run --sim-profi"\n'
                      'complete_line "edgeperf run -b kw"\n'
                      'complete_line "edgeperf comp"\n')
    proc = subprocess.run(["bash", str(script)], env=dict(ENV, PATH=f"{tmp_path}:{os.environ['PATH']}"),
                          capture_output=True, text=True, timeout=60, check=False)
    lines = [set(filter(None, (word.strip() for word in line.split("|")))) for line in proc.stdout.splitlines()]
    assert lines == [{"--sim-profile"}, {"kws01"}, {"compare", "completion"}], proc.stdout + proc.stderr
