"""Reset a board that stopped answering: through the flasher's probe, the serial bridge's DTR/RTS lines,
or, for the virtual board, its reset FIFO (the virtual reset pin, see edgeperf.device.serial)."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import serial

from ..errors import LinkError
from ..links.remote import pyserial_url
from .flash import INSTALL, FlashError, ToolMissingError
from .registry import BoardDescription

#: Line sequences (line, asserted, hold seconds). ESP32 DevKits wire RTS to EN and DTR to GPIO0 through
#: transistors: keep DTR released (boot from flash) and pulse RTS. Arduino-style bridges reset on DTR.
SEQUENCES = {
    "rts": (("dtr", False, 0.0), ("rts", True, 0.1), ("rts", False, 0.0)),
    "dtr": (("rts", False, 0.0), ("dtr", True, 0.1), ("dtr", False, 0.0)),
}


def serial_line_reset(url: str, method: str = "dtr", baudrate: int = 115200) -> None:
    """Pulse DTR or RTS on the board's serial port (works on local ports and over RFC 2217)."""
    try:
        port = serial.serial_for_url(pyserial_url(url), baudrate=baudrate, do_not_open=True)
        port.dtr = False
        port.rts = False
        port.open()
        try:
            for line, asserted, hold in SEQUENCES[method]:
                setattr(port, line, asserted)
                time.sleep(hold)
        finally:
            port.close()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise LinkError(f"cannot reset through {method.upper()} on {url}: {exc} (a pty or a bridge without "
                        "modem lines cannot do this; use the board's reset button or its flasher)") from exc


def fifo_reset(url: str) -> None:
    """Pulse the virtual board's reset pin: one byte into the `reset` FIFO beside its tty symlink."""
    fifo = Path(url).parent / "reset"
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise LinkError(f"cannot reset the virtual board on {url} through {fifo}: {exc} (give the board's "
                        "stable_url, DIR/tty, printed by python -m edgeperf.sim.board on a pty)") from exc
    try:
        os.write(fd, b"r")
    finally:
        os.close(fd)


def probe_reset(board: BoardDescription, probe: str | None) -> None:
    """Reset the core through pyOCD (ST-LINK, CMSIS-DAP, J-Link)."""
    if importlib.util.find_spec("pyocd") is None:
        raise ToolMissingError(f"pyOCD is not installed: {INSTALL['pyocd']}")
    from pyocd.core.helpers import ConnectHelper

    session = ConnectHelper.session_with_chosen_probe(blocking=False, unique_id=probe,
                                                      target_override=board.flasher.target,
                                                      return_first=probe is None)
    if session is None:
        raise FlashError(f"no debug probe found by pyOCD to reset {board.name}: check `pyocd list`")
    with session:
        session.target.reset()


def reset_board(board: BoardDescription, port: str | None, probe: str | None = None) -> str:
    """Reset the way this board supports: its pyOCD probe, else RTS (ESP32) or DTR on its serial port."""
    if board.kind == "virtual":
        if not port:
            raise LinkError("the virtual board is reset through the FIFO beside its tty: pass --port")
        fifo_reset(port)
        return f"reset the virtual board through {Path(port).parent / 'reset'}"
    if board.flasher.tool == "pyocd":
        probe_reset(board, probe)
        return f"reset {board.name} through pyOCD"
    if not port:
        raise LinkError(f"{board.name} is reset through its serial port's control lines: pass --port")
    method = "rts" if board.flasher.tool == "esptool" else "dtr"
    serial_line_reset(port, method, board.uart.performance)
    return f"reset {board.name} by pulsing {method.upper()} on {port}"
