"""Shared fixtures: real virtual-board processes reached through real ptys and sockets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgeperf.sim.launcher import VirtualBoardProcess

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"


def model_path(name: str) -> Path:
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.fail(f"bundled model {path} is missing: run python models/build_models.py")
    return path


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


def read_truth(board: VirtualBoardProcess) -> list[dict[str, object]]:
    assert board.truth is not None
    return [json.loads(line) for line in board.truth.read_text().splitlines() if line.strip()]
