"""pytest plugin: edgeperf boards as fixtures, so one hardware-in-the-loop test suite also runs on the virtual board.

    def test_kws_latency(edgeperf_run):
        assert edgeperf_run("kws01").latency_ms < 200

Registered through the `pytest11` entry point. With none of its options given it only adds them and its
marker: it imports nothing beyond pytest until a fixture is used, and no board starts before one asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .api import Board, RunResult

MARKER = "edgeperf_hardware"
#: Why a hardware test is skipped when no board is given.
SKIP_REASON = "needs a real board: pass --edgeperf-port URL (only the virtual board is present)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgeperf", "edgeperf boards (default: virtual boards started on demand)")
    group.addoption("--edgeperf-port", metavar="URL",
                    help="the board under test: /dev/ttyACM0, socket://HOST:PORT, rfc2217://... (default: virtual)")
    group.addoption("--edgeperf-board", metavar="NAME",
                    help="its board description (boards/NAME): UART rate and how to reset it")
    group.addoption("--edgeperf-monitor", metavar="NAME:URL",
                    help="power monitor of an energy setup, e.g. lpm01a:/dev/ttyACM1 (the port is then the IO "
                         "manager's)")
    group.addoption("--edgeperf-baud", type=int, metavar="N", help="UART rate (default: from the board description)")
    group.addoption("--edgeperf-benchmark", default="kws01", metavar="NAME",
                    help="benchmark of the edgeperf_board fixture and edgeperf_run's default (default kws01)")
    group.addoption("--edgeperf-model", metavar="PATH", help="the .tflite on the board (virtual: the one it runs)")
    group.addoption("--edgeperf-dataset", metavar="DIR", help="dataset root in the MLPerf Tiny layout "
                                                              "(default: the bundled samples)")
    group.addoption("--edgeperf-results", metavar="DIR",
                    help="where every run writes its results folder (default: a pytest temporary directory)")
    group.addoption("--edgeperf-quick", action="store_true",
                    help="1 s windows and short LoadGen runs, labelled non-compliant (for development)")
    group.addoption("--edgeperf-sim-profile", default=None, metavar="NAME",
                    help="timing model of the virtual boards: realistic or ideal (default: edgeperf's default)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test needs a real board (--edgeperf-port); skipped on the "
                                       "virtual board")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hardware tests are skipped at collection, so the skip names the test, not this plugin."""
    if config.getoption("--edgeperf-port"):
        return
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@dataclass(frozen=True)
class EdgeperfOptions:
    """The plugin's command-line options, read once per session."""

    port: str | None
    board: str | None
    monitor: str | None
    baud: int | None
    benchmark: str
    model: str | None
    dataset: str | None
    results: str | None
    quick: bool
    sim_profile: str | None

    @classmethod
    def of(cls, config: pytest.Config) -> EdgeperfOptions:
        def get(name: str) -> Any:
            return config.getoption(f"--edgeperf-{name.replace('_', '-')}")
        return cls(**{name: get(name) for name in cls.__dataclass_fields__})

    @property
    def hardware(self) -> bool:
        return self.port is not None


class BoardPool:
    """The session's boards: the one at --edgeperf-port, or virtual boards and benches started on first use and
    kept up for the rest of the session."""

    def __init__(self, options: EdgeperfOptions, results: Path) -> None:
        self.options, self.results = options, results
        self._boards: dict[tuple[str, str], Board] = {}

    def board(self, benchmark: str | None = None, mode: str = "performance", scenario: str | None = None) -> Board:
        """The started board for `benchmark` in `mode` (a virtual bench for energy mode, a real-time virtual board
        for a LoadGen scenario)."""
        from . import api
        from .targets import LOADGEN_SIM_TIME_SCALE

        name = benchmark or self.options.benchmark
        opts = self.options
        kind = "hardware" if opts.hardware else "bench" if mode == "energy" else "loadgen" if scenario else "board"
        key = (name, kind)
        if key not in self._boards:
            common: dict[str, Any] = {"model": opts.model, "dataset": opts.dataset, "results": self.results}
            if opts.port is not None:
                board = api.board_at(opts.port, name, board=opts.board, monitor=opts.monitor, baud=opts.baud, **common)
            else:
                timing: dict[str, Any] = {"timing_profile": opts.sim_profile} if opts.sim_profile else {}
                if kind == "bench":
                    board = api.virtual_bench(name, **common, **timing)
                else:
                    scale: dict[str, Any] = {"time_scale": LOADGEN_SIM_TIME_SCALE} if kind == "loadgen" else {}
                    board = api.virtual_board(name, baud=opts.baud, **common, **timing, **scale)
            self._boards[key] = board.start()
        return self._boards[key]

    def run(self, benchmark: str | None = None, mode: str = "performance", **options: Any) -> RunResult:
        """Run on the pool's board for `benchmark`; `options` are `Board.run`'s (quick follows --edgeperf-quick)."""
        options.setdefault("quick", self.options.quick)
        return self.board(benchmark, mode, options.get("scenario")).run(mode, **options)

    def close(self) -> None:
        boards, self._boards = list(self._boards.values()), {}
        for board in boards:
            board.close()


@pytest.fixture(scope="session")
def edgeperf_options(pytestconfig: pytest.Config) -> EdgeperfOptions:
    return EdgeperfOptions.of(pytestconfig)


@pytest.fixture(scope="session")
def edgeperf_boards(edgeperf_options: EdgeperfOptions,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardPool]:
    """Every board of the session; virtual ones are stopped when the session ends."""
    given = edgeperf_options.results
    pool = BoardPool(edgeperf_options, Path(given) if given else tmp_path_factory.mktemp("edgeperf-results"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def edgeperf_board(edgeperf_boards: BoardPool) -> Board:
    """The started board for --edgeperf-benchmark: the real one, or a virtual board."""
    return edgeperf_boards.board()


@pytest.fixture
def edgeperf_run(edgeperf_boards: BoardPool) -> Callable[..., RunResult]:
    """`edgeperf_run(benchmark=None, mode="performance", **run_options)`: run and return the typed result;
    a run that fails raises `RunFailed`, naming why."""
    return edgeperf_boards.run
