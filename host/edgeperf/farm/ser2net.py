"""Export a local serial device over RFC 2217 with ser2net, as a lab host does for its boards.

Used by the tests to stand up a real remote-serial peer, and by anyone who wants to share a board:
the client then runs `edgeperf run --port rfc2217://HOST:PORT`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from ..errors import ConfigError, LinkError
from ..processes import stop_process

INSTALL_HINT = "install ser2net >= 4 (Debian/Ubuntu: apt-get install ser2net)"


def find_ser2net() -> str | None:
    """ser2net's path: Debian installs it in /usr/sbin, which an ordinary user's PATH often lacks."""
    return shutil.which("ser2net") or shutil.which("ser2net", path="/usr/sbin:/usr/local/sbin")


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ser2net_yaml(device: str, port: int, baud: int, host: str = "127.0.0.1") -> str:
    """The connection block labgrid's exporter also uses (telnet+rfc2217 accepter, local serialdev connector)."""
    return (
        "connection: &edgeperf\n"
        f"  accepter: telnet(rfc2217,mode=server),tcp,{host},{port}\n"
        f"  connector: serialdev(nouucplock=true),{device},{baud}n81,local\n"
        "  options:\n"
        "    max-connections: 1\n"
        "    kickolduser: true\n"
    )


@dataclass
class Ser2netExport:
    """A ser2net process exporting one device; a context manager so it never outlives its user."""

    device: str
    baud: int = 115200
    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout: float = 10.0
    _proc: subprocess.Popen[bytes] | None = None
    _dir: tempfile.TemporaryDirectory[str] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"rfc2217://{self.host}:{self.port}"

    def start(self) -> str:
        exe = find_ser2net()
        if exe is None:
            raise ConfigError(f"ser2net not found: {INSTALL_HINT}")
        self.port = self.port or free_tcp_port(self.host)
        self._dir = tempfile.TemporaryDirectory(prefix="edgeperf-ser2net-")
        config = Path(self._dir.name) / "ser2net.yaml"
        config.write_text(ser2net_yaml(self.device, self.port, self.baud, self.host))
        # -n: stay in the foreground; -d: debug, no daemon; -P: own pid file, not /run/ser2net.pid.
        self._proc = subprocess.Popen([exe, "-n", "-d", "-c", str(config), "-P", str(Path(self._dir.name) / "pid")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self.stop()
                raise LinkError(f"ser2net exited at start ({err.strip()[-500:] or 'no output'}); config:\n"
                                f"{config.read_text() if config.exists() else ''}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self.url
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LinkError(f"ser2net did not listen on {self.host}:{self.port} within {self.startup_timeout} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)
            if proc.stderr is not None:
                proc.stderr.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
