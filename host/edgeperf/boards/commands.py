"""The `edgeperf boards`, `detect` and `flash` subcommands, registered by `cli.make_parser` through one call."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .registry import load_registry


def cmd_boards(args: argparse.Namespace) -> int:
    registry = load_registry(Path(args.registry) if args.registry else None)
    table = Table(title=f"{len(registry)} boards")
    for column in ("name", "kind", "core", "MHz", "flash/RAM KiB", "USB", "baud perf/acc/energy", "flasher"):
        table.add_column(column)
    for board in registry.values():
        uart = board.uart
        table.add_row(board.name, board.kind, board.mcu.core, f"{board.mcu.clock_mhz:g}",
                      f"{board.mcu.flash_kib}/{board.mcu.ram_kib}", " ".join(str(u) for u in board.usb) or "-",
                      f"{uart.performance}/{uart.accuracy}/{uart.energy or '-'}", board.flasher.tool)
    Console(width=200).print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the board subcommands to the `edgeperf` parser."""
    boards = sub.add_parser("boards", help="list the board descriptions in boards/<name>/board.toml")
    boards.add_argument("--registry", help="folder of board descriptions (default: boards/ or $EDGEPERF_BOARDS)")
    boards.set_defaults(func=cmd_boards)
