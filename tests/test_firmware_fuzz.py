"""Smoke-fuzz the firmware's command parser and binary deframer with libFuzzer under
AddressSanitizer and UBSan, seeded from the protocol vectors (a few seconds each in CI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edgeperf.protocol import transcripts

from binary_vectors import frame_vectors, load_all
from firmware_support import cmake_build, firmware_vectors
from system_tools import require_tools

SECONDS = 8


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "make", "clang", "libFuzzer")
    return cmake_build(tmp_path_factory.mktemp("fw-fuzz"), "-DEE_FUZZ=ON", "-DCMAKE_C_COMPILER=clang")


def _seeds(target: str, corpus: Path) -> int:
    corpus.mkdir()
    seeds: list[bytes] = []
    if target == "fuzz_parser":
        for path in firmware_vectors():
            vector = transcripts.load(path)
            seeds.append(b"".join(step.send for step in vector.steps))
    else:
        seeds += [b"\x00" + wire for _, _, _, wire in frame_vectors()]
        seeds += [b"\x01" + bytes((t, s)) + p for t, s, p, _ in frame_vectors() if t < 0x80]
        for exchange in load_all():
            seeds.append(b"\x00" + b"".join(step.send for step in exchange.steps))
    for index, seed in enumerate(seeds):
        (corpus / f"seed-{index:03d}").write_bytes(seed)
    return len(seeds)


@pytest.mark.parametrize("target", ["fuzz_parser", "fuzz_deframer"])
def test_fuzz_smoke(target: str, fuzz_build: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    assert _seeds(target, corpus) >= 5
    proc = subprocess.run([str(fuzz_build / target), f"-max_total_time={SECONDS}", "-timeout=5",
                           "-max_len=9000", "-print_final_stats=1", str(corpus)],
                          capture_output=True, text=True, timeout=SECONDS * 10, cwd=tmp_path)
    report = proc.stderr[-4000:]
    assert proc.returncode == 0, f"{target} found a problem:\n{report}"
    runs = [line for line in proc.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 1000, report
