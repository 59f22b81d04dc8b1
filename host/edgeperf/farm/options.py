"""`edgeperf run` options for farms: several boards by URL, labgrid places, parallel runs.

Kept out of cli.py so the command only needs thin hooks: add the options, read a BENCH@URL spec,
pick the runner. The targets themselves are `edgeperf.targets` objects, built by `cli.build_targets`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..benchmarks import BENCHMARKS
from ..errors import ConfigError
from ..run import run_all


def add_farm_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("boards and farms")
    group.add_argument("--board", help="board name from the registry (edgeperf boards): its UART settings and "
                                       "description go with --port/--target/--labgrid-place; a QEMU board "
                                       "(qemu-mps2-an386, qemu-mps3-an547) is started with edgeperf's firmware "
                                       "(synthetic runner: a harness self-test, not a model result)")
    group.add_argument("--target", action="append", metavar="[BENCH@]URL",
                       help="a board to run on (repeatable), e.g. kws01@rfc2217://lab2:4001; BENCH defaults to the "
                            "single --benchmark")
    group.add_argument("--labgrid-place", action="append", metavar="[BENCH@]PLACE",
                       help="a labgrid place (repeatable): acquired for the run, its NetworkSerialPort used over "
                            "RFC 2217, released afterwards")
    group.add_argument("--labgrid-reserve", action="store_true",
                       help="wait in labgrid's reservation queue for a busy place instead of failing")
    group.add_argument("--labgrid-coordinator", metavar="HOST:PORT",
                       help="labgrid coordinator (default: $LG_COORDINATOR or labgrid's default)")
    group.add_argument("--no-reset", action="store_true",
                       help="with --board: do not reset a board that does not answer `name` (before or during the run)")
    group.add_argument("--parallel", action="store_true",
                       help="run all targets at once, one process per board, into one results folder")


def farm_requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "target", None) or getattr(args, "labgrid_place", None) or getattr(args, "board", None))


def split_spec(spec: str, benchmarks: list[str] | None, option: str) -> tuple[str, str]:
    """`kws01@URL` -> ("kws01", "URL"); a bare URL takes the single --benchmark."""
    head, sep, tail = spec.partition("@")
    if sep and head in BENCHMARKS:
        return head, tail
    if not benchmarks or len(benchmarks) != 1:
        raise ConfigError(f"{option} {spec}: say which benchmark the board runs, as BENCH@{spec} "
                          f"(one of {', '.join(BENCHMARKS)}) or with exactly one --benchmark")
    return benchmarks[0], spec


def runner(parallel: bool) -> Callable[..., dict[str, object]]:
    """`run_all` in turn, or one process per board with --parallel."""
    if parallel:
        from .parallel import run_parallel
        return run_parallel
    return run_all
