"""Smoke-fuzz the firmware's command parser and binary deframer with libFuzzer under
AddressSanitizer and UBSan, seeded from the protocol vectors (a few seconds each in CI)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from firmware_support import cmake_build
from system_tools import require_tools

SECONDS = 8
FUZZ = Path(__file__).resolve().parents[1] / "firmware" / "fuzz"


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "make", "clang", "libFuzzer")
    return cmake_build(tmp_path_factory.mktemp("fw-fuzz"), "-DEE_FUZZ=ON", "-DCMAKE_C_COMPILER=clang")


def _seeds(target: str, corpus: Path) -> int:
    """The documented corpus (firmware/fuzz/make_corpus.py), as a developer runs it."""
    spec = importlib.util.spec_from_file_location("make_corpus", FUZZ / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write(target, corpus)


@pytest.mark.parametrize("target", ["fuzz_parser", "fuzz_deframer"])
def test_fuzz_smoke(target: str, fuzz_build: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    assert _seeds(target, corpus) >= 20
    proc = subprocess.run([str(fuzz_build / target), f"-max_total_time={SECONDS}", "-timeout=5",
                           f"-dict={FUZZ / 'ee.dict'}", "-max_len=9000", "-print_final_stats=1", str(corpus)],
                          capture_output=True, text=True, timeout=SECONDS * 10, cwd=tmp_path,
                          env=dict(os.environ, EE_FUZZ_REPORT="1"))
    report = proc.stderr[-4000:]
    assert proc.returncode == 0, f"{target} found a problem:\n{report}"
    runs = [line for line in proc.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 1000, report
    assert "Dictionary: " in proc.stderr, report
    # The seeds are real exchanges: the core answers a command among the first inputs, not after a blind search.
    first = [line for line in proc.stderr.splitlines() if line.startswith("edgeperf-fuzz: first valid command in run")]
    assert first and int(first[0].split()[-1]) <= 100, report
