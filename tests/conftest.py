"""Shared fixtures: real virtual-board processes reached through real ptys and sockets."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.sim.launcher import VirtualBenchProcess, VirtualBoardProcess

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
REFERENCE_MODELS = Path(os.environ.get("EDGEPERF_REFERENCE_MODELS", REPO.parent / "shared" / "reference-models"))


def pytest_configure(config: pytest.Config) -> None:
    """Firmware builds and generated streams go to a cache of this test process (each xdist worker has its own),
    not the user's ~/.cache/edgeperf: no two workers configure one CMake tree at once."""
    prefix = "edgeperf-test-cache-"
    if prefix not in os.environ.get("EDGEPERF_CACHE_DIR", prefix):
        return  # the user's own cache, kept
    own = tempfile.mkdtemp(prefix=prefix)  # also when a worker inherited the controller's: it gets its own
    os.environ["EDGEPERF_CACHE_DIR"] = own
    config.add_cleanup(lambda: shutil.rmtree(own, ignore_errors=True))


def reference_model(name: str) -> Path:
    """The official MLPerf Tiny model of benchmark `name`; the test skips on a machine without it."""
    path = REFERENCE_MODELS / get_benchmark(name).reference_file
    if not path.is_file():
        pytest.skip(f"the official {name} model {path} is not here (set EDGEPERF_REFERENCE_MODELS)")
    return path


def model_path(name: str) -> Path:
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.fail(f"bundled model {path} is missing: run python models/build_models.py")
    return path


def kws01_subset(root: Path, count: int) -> Path:
    """A dataset root holding the first `count` bundled kws01 files (symlinked): enough samples to meet
    faults, few enough to stay fast."""
    return samples_subset(root, "kws01", count)


def samples_subset(root: Path, name: str, count: int) -> Path:
    """A dataset root holding the first `count` bundled files of dataset `name` (symlinked)."""
    source = bundled_samples() / name
    (root / name).mkdir(parents=True)
    lines = (source / "y_labels.csv").read_text().splitlines()[:count]
    (root / name / "y_labels.csv").write_text("\n".join(lines) + "\n")
    for line in lines:
        file = line.split(",")[0]
        (root / name / file).symlink_to(source / file)
    return root


@pytest.fixture
def start_board(tmp_path: Path) -> Iterator[Callable[..., VirtualBoardProcess]]:
    """Start virtual boards for a test and always stop them afterwards."""
    boards: list[VirtualBoardProcess] = []

    def start(benchmark: str, *, baud: int = 0, time_scale: float = 0.0, listen: str = "pty",
              model: Path | None = None, extra: list[str] | None = None) -> VirtualBoardProcess:
        truth = tmp_path / f"truth-{benchmark}-{len(boards)}.jsonl"
        board = VirtualBoardProcess(model=model or model_path(benchmark), profile=benchmark, baud=baud,
                                    time_scale=time_scale, listen=listen, truth=truth, extra_args=extra or [])
        boards.append(board)
        board.start()
        return board

    yield start
    for board in boards:
        board.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Callable[..., VirtualBenchProcess]]:
    """Start virtual energy benches (kws01) for a test and always stop them afterwards."""
    started: list[VirtualBenchProcess] = []

    def start(monitor: str, io_manager: str, *extra: str) -> VirtualBenchProcess:
        process = VirtualBenchProcess(model=model_path("kws01"), profile="kws01", monitor=monitor,
                                      io_manager=io_manager, truth=tmp_path / f"truth-{len(started)}.jsonl",
                                      extra_args=list(extra))
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.close()


def read_truth(board: VirtualBoardProcess) -> list[dict[str, object]]:
    assert board.truth is not None
    return [json.loads(line) for line in board.truth.read_text().splitlines() if line.strip()]
