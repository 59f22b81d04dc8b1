"""`edgeperf run` options for farms: several boards by URL, labgrid places, parallel runs.

Kept out of cli.py so the command only needs three thin hooks: add the options, build the targets,
pick the runner.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..benchmarks import BENCHMARKS, get_benchmark
from ..boards.registry import BoardDescription, get_board
from ..boards.reset import reset_board
from ..bundled import bundled_samples
from ..errors import ConfigError
from ..run import Target, run_all
from .revive import reviving


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


def _split(spec: str, args: argparse.Namespace, option: str) -> tuple[str, str]:
    """`kws01@URL` -> ("kws01", "URL"); a bare URL takes the single --benchmark."""
    head, sep, tail = spec.partition("@")
    if sep and head in BENCHMARKS:
        return head, tail
    if not args.benchmark or len(args.benchmark) != 1:
        raise ConfigError(f"{option} {spec}: say which benchmark the board runs, as BENCH@{spec} "
                          f"(one of {', '.join(BENCHMARKS)}) or with exactly one --benchmark")
    return args.benchmark[0], spec


def _baud(args: argparse.Namespace, board: BoardDescription | None, bench_name: str) -> int:
    if args.baud:
        return int(args.baud)
    if board is not None:
        return board.uart.baud(args.mode)
    return get_benchmark(bench_name).baud_performance


def _details(board: BoardDescription | None, kind: str) -> dict[str, object]:
    if board is None:
        return {"kind": kind}
    return {"kind": kind, "board_name": board.name, "processor": board.mcu.core, "clock_mhz": board.mcu.clock_mhz,
            "board_description_file": str(board.path)}


def farm_targets(args: argparse.Namespace) -> list[Target]:
    """Targets from --target / --labgrid-place / --port with --board."""
    board = get_board(args.board) if args.board else None
    dataset = Path(args.dataset) if args.dataset else bundled_samples()
    model = Path(args.model) if args.model else None
    targets: list[Target] = []
    specs = list(args.target or [])
    if args.port:
        specs.insert(0, args.port)
    for spec in specs:
        name, url = _split(spec, args, "--target")
        title = f"{board.title} at {url}" if board else url
        baud = _baud(args, board, name)
        # A real board that went silent is reset once (probe, RTS or DTR) before the run gives up on it.
        resettable = board is not None and board.kind in ("mcu", "virtual") and not args.no_reset
        provision = reviving(url, board, baud) if resettable else None
        targets.append(Target(get_benchmark(name), url, baud, model, dataset, description=title,
                              provision=provision, details=_details(board, "hardware"),
                              reset=partial(reset_board, board) if resettable else None))
    for spec in args.labgrid_place or []:
        from .labgrid import LabgridPlace

        name, place = _split(spec, args, "--labgrid-place")
        lg = LabgridPlace(place, coordinator=args.labgrid_coordinator, reserve=args.labgrid_reserve)
        targets.append(Target(get_benchmark(name), None, _baud(args, board, name), model, dataset,
                              description=f"labgrid place {place}" + (f" ({board.title})" if board else ""),
                              provision=lg.provision, details={**_details(board, "labgrid"), "labgrid_place": place}))
    if not targets:
        raise ConfigError("--board needs a board to talk to: add --port URL, --target URL or --labgrid-place PLACE")
    return targets


def runner(args: argparse.Namespace) -> Callable[..., dict[str, object]]:
    """`run_all` in turn, or one process per board with --parallel."""
    if getattr(args, "parallel", False):
        from .parallel import run_parallel
        return run_parallel
    return run_all
