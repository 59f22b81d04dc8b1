"""The `edgeperf boards`, `detect` and `flash` subcommands, registered by `cli.make_parser` through one call."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from ..consoles import make_console
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
    make_console().print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the board subcommands to the `edgeperf` parser."""
    boards = sub.add_parser("boards", help="list the board descriptions in boards/<name>/board.toml")
    boards.add_argument("--registry", help="folder of board descriptions (default: boards/ or $EDGEPERF_BOARDS)")
    boards.set_defaults(func=cmd_boards)
    register_flash(sub)
    register_detect(sub)


def cmd_flash(args: argparse.Namespace) -> int:
    from .flash import FlashRequest, flash, flash_command
    from .registry import get_board

    request = FlashRequest(get_board(args.board), Path(args.firmware), port=args.port, probe=args.probe,
                           drive=Path(args.drive) if args.drive else None,
                           build_dir=Path(args.build_dir) if args.build_dir else None)
    console = make_console()
    argv = flash_command(request)
    console.print(f"{request.board.flasher.tool}: {' '.join(argv)}", highlight=False, soft_wrap=True)
    if args.dry_run:
        return 0
    console.print(flash(request), highlight=False)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from .registry import get_board
    from .reset import reset_board

    make_console().print(reset_board(get_board(args.board), args.port, args.probe), highlight=False)
    return 0


def register_flash(sub: argparse._SubParsersAction) -> None:
    flash = sub.add_parser("flash", help="flash firmware (.elf/.hex/.bin/.uf2) with the board's flasher")
    flash.add_argument("firmware")
    flash.add_argument("--board", required=True, help="board name (edgeperf boards)")
    flash.add_argument("--port", help="serial port URL, for flashers that use it (esptool, arduino-cli)")
    flash.add_argument("--probe", help="debug probe serial number / unique id (pyOCD, OpenOCD, west, STM32CubeProgrammer)")
    flash.add_argument("--drive", help="mount point of the board's USB drive (mass-storage flashing)")
    flash.add_argument("--build-dir", help="west: the Zephyr build folder")
    flash.add_argument("--dry-run", action="store_true", help="print the flasher command and stop")
    flash.set_defaults(func=cmd_flash)
    reset = sub.add_parser("reset", help="reset a board: through its debug probe, or DTR/RTS on its serial port")
    reset.add_argument("--board", required=True)
    reset.add_argument("--port", help="serial port URL")
    reset.add_argument("--probe", help="debug probe unique id (pyOCD)")
    reset.set_defaults(func=cmd_reset)


def cmd_detect(args: argparse.Namespace) -> int:
    from .detect import (
        BUILTIN,
        board_specs,
        detect,
        import_devices_yaml,
        list_serial_ports,
        list_usb_devices,
        suggestion,
    )

    specs = board_specs(load_registry(Path(args.registry) if args.registry else None).values())
    for path in args.devices_yaml or []:
        specs = import_devices_yaml(Path(path)) + specs  # imported entries first: they win ties
    specs += list(BUILTIN)
    console = make_console()
    found = detect(list_serial_ports(), specs, confirm=not args.no_confirm, timeout=args.timeout)
    usb_devices, note = list_usb_devices()
    serial_ids = {(f.vid, f.pid) for f in found}
    usb_found = [d for d in usb_devices if (d.vid, d.pid) not in serial_ids and any(s.matches(d.vid, d.pid) for s in specs)]
    table = Table(title="connected devices")
    for column in ("port", "USB", "serial no.", "role", "device", "how"):
        table.add_column(column)
    for item in found:
        table.add_row(item.device, item.usb_id, item.serial_number or "-", item.role, item.name, item.detail)
    for dev in usb_found:
        spec = next(s for s in specs if s.matches(dev.vid, dev.pid))
        table.add_row(dev.device, f"{dev.vid:04X}:{dev.pid:04X}", "-", spec.role, spec.name, "pyusb, by VID:PID")
    console.print(table)
    if note:
        console.print(f"[yellow]{note}[/yellow]")
    lines = suggestion(found)
    console.print("would use:" if lines else "no MLPerf Tiny DUT confirmed; plug a board in or check its firmware")
    for line in lines:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    return 0


def register_detect(sub: argparse._SubParsersAction) -> None:
    detect = sub.add_parser("detect", help="find connected DUTs, IO managers and power monitors (VID:PID, `name`)")
    detect.add_argument("--devices-yaml", action="append", help="the MLCommons runner's devices.yaml to import")
    detect.add_argument("--registry", help="folder of board descriptions (default: boards/)")
    detect.add_argument("--no-confirm", action="store_true", help="do not send `name` to candidate DUTs")
    detect.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a DUT's answer")
    detect.set_defaults(func=cmd_detect)
