"""edgeperf: benchmark ML inference on microcontrollers the way MLPerf Tiny measures it.

The Python API (`edgeperf.api`) is re-exported here, imported on first use: a virtual board process or the
pytest plugin imports this package without paying for numpy, LiteRT and the run rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Names `import edgeperf` offers, all from `edgeperf.api`.
__all__ = ["Board", "ProgressEvent", "RunResult", "board_at", "labgrid_board", "virtual_bench", "virtual_board"]

if TYPE_CHECKING:
    from .api import Board, RunResult, board_at, labgrid_board, virtual_bench, virtual_board
    from .rules.progress import ProgressEvent


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgeperf' has no attribute {name!r}")
