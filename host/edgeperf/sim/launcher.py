"""Start and stop virtual-board processes. The host reaches them only through the URL they print."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

from ..errors import SimulatorError
from ..processes import stop_process


@dataclass
class VirtualBoardProcess:
    """A running `python -m edgeperf.sim.board`; use as a context manager so it never outlives the run."""

    model: Path
    profile: str | None = None
    baud: int = 115200
    time_scale: float = 1.0
    listen: str = "pty"
    truth: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    startup_timeout: float = 30.0
    url: str = ""
    event: dict = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None
    _stderr: tempfile._TemporaryFileWrapper[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "edgeperf.sim.board", "--model", str(self.model), "--listen", self.listen,
               "--baud", str(self.baud), "--time-scale", str(self.time_scale), "--exit-on-stdin-eof"]
        if self.profile:
            cmd += ["--profile", self.profile]
        if self.truth:
            cmd += ["--truth", str(self.truth)]
        return cmd + self.extra_args

    def start(self) -> str:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # stderr goes to a file: a chatty board must never block on a full pipe.
        self._stderr = tempfile.NamedTemporaryFile(prefix="edgeperf-board-", suffix=".log")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=env)
        assert self._proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.1)
            if ready:
                line = self._proc.stdout.readline()
                break
            if self._proc.poll() is not None:
                break
        try:
            self.event = json.loads(line)
            self.url = str(self.event["url"] if "url" in self.event else self.event["dut"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            err = Path(self._stderr.name).read_bytes() if self._stderr else b""
            raise SimulatorError(
                f"virtual board did not start ({' '.join(self.command())}): "
                f"{(err.decode(errors='replace').strip() or line.decode(errors='replace').strip() or 'no output')[-2000:]}"
            ) from None
        return self.url

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process(proc)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class VirtualBenchProcess(VirtualBoardProcess):
    """A running `python -m edgeperf.sim.bench`: an energy-mode board, its IO manager and a power monitor."""

    monitor: str = "lpm01a"
    io_manager: str = "arduino"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "edgeperf.sim.bench", "--model", str(self.model), "--monitor", self.monitor,
               "--io-manager", self.io_manager, "--exit-on-stdin-eof"]
        if self.profile:
            cmd += ["--profile", self.profile]
        if self.truth:
            cmd += ["--truth", str(self.truth)]
        return cmd + self.extra_args

    @property
    def monitor_spec(self) -> str:
        """The `NAME:URL` the host opens the emulated monitor with."""
        return f"{self.event['monitor_kind']}:{self.event['monitor']}"


class Running(Protocol):
    def running(self) -> bool: ...


def serve_until_stopped(process: Running, name: str) -> None:
    """Keep a started board up for outside tools until SIGINT or SIGTERM; fails if the board itself exits."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.2):
            if not process.running():
                raise SimulatorError(f"{name} exited on its own")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class VirtualSwwBenchProcess(VirtualBoardProcess):
    """A running `python -m edgeperf.sim.sww_bench`: interface board, virtual sww board and optional monitor."""

    card: Path = Path(".")
    monitor: str = "none"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "edgeperf.sim.sww_bench", "--model", str(self.model), "--card", str(self.card),
                "--time-scale", str(self.time_scale), "--monitor", self.monitor, "--exit-on-stdin-eof",
                *(["--truth", str(self.truth)] if self.truth else []), *self.extra_args]

    @property
    def monitor_spec(self) -> str | None:
        """`NAME:URL` of the emulated monitor, None without one."""
        kind = self.event.get("monitor_kind")
        return f"{kind}:{self.event['monitor']}" if kind else None
