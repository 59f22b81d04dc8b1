"""labgrid places as edgeperf targets, through the `labgrid-client` command.

labgrid replaces pyserial with its fork (pyserial-labgrid) in whatever environment it is installed
into, so edgeperf never imports it: labgrid lives in its own venv and edgeperf drives its client.
A place is acquired for the run (labgrid's locking: a place someone else holds is refused, and a
reservation is honoured through LG_TOKEN) and released afterwards, unless it was already acquired by
this user before the run, in which case it is left as it was. Its NetworkSerialPort (the exporter's
ser2net) becomes an rfc2217:// URL.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ConfigError, LinkError

INSTALL_HINT = ("install labgrid in its own venv (it replaces pyserial with its fork): "
                "python3 -m venv ~/.labgrid && ~/.labgrid/bin/pip install labgrid, then put ~/.labgrid/bin on PATH "
                "or set EDGEPERF_LABGRID_CLIENT=~/.labgrid/bin/labgrid-client")

_RESOURCE = re.compile(r"^Acquired resource '([^']*)' \(([^)]*)\):\s*$")


class LabgridError(LinkError):
    """labgrid refused or failed (place unknown, held by someone else, coordinator unreachable)."""


@dataclass(frozen=True)
class SerialResource:
    path: str  # exporter/group/class/name
    host: str
    port: int
    protocol: str
    speed: int | None

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}" if self.protocol == "raw" else f"rfc2217://{self.host}:{self.port}"


def client_command() -> str:
    exe = os.environ.get("EDGEPERF_LABGRID_CLIENT") or shutil.which("labgrid-client")
    if not exe or not os.path.exists(os.path.expanduser(exe)):
        raise ConfigError(f"labgrid-client not found: {INSTALL_HINT}")
    return os.path.expanduser(exe)


def parse_show(text: str) -> tuple[str | None, list[SerialResource]]:
    """From `labgrid-client -p PLACE show`: who holds the place, and its acquired network serial ports."""
    holder = None
    resources = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  acquired:"):
            holder = line.split(":", 1)[1].strip() or None
            holder = None if holder == "None" else holder
        match = _RESOURCE.match(line)
        if not match:
            continue
        block = []
        for follow in lines[i + 1:]:
            if not follow.startswith(" "):
                break
            block.append(follow)
        try:
            info = ast.literal_eval("\n".join(block).strip())
        except (ValueError, SyntaxError):
            continue
        if info.get("cls") not in ("NetworkSerialPort",):
            continue
        params = info.get("params", {})
        resources.append(SerialResource(match.group(2), str(params["host"]), int(params["port"]),
                                        str(params.get("protocol", "rfc2217")), params.get("speed")))
    return holder, resources


@dataclass
class LabgridPlace:
    """One labgrid place used as a board: `provision()` acquires it and yields its serial URL."""

    place: str
    coordinator: str | None = None
    timeout: float = 60.0
    reserve: bool = False  # queue behind other users with a labgrid reservation before acquiring
    reserve_timeout: float = 3600.0

    def _run(self, *args: str, timeout: float | None = None) -> str:
        argv = [client_command()]
        if self.coordinator:
            argv += ["-x", self.coordinator]
        argv += ["-p", self.place, *args]
        timeout = timeout or self.timeout
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LabgridError(f"labgrid-client {' '.join(args)} on place {self.place!r} did not finish in "
                               f"{timeout:g} s: is the coordinator ({self.coordinator or 'LG_COORDINATOR'}) up?")
        if proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip().splitlines()
            raise LabgridError(f"labgrid-client {' '.join(args)} failed for place {self.place!r}: "
                               f"{message[-1] if message else 'exit ' + str(proc.returncode)}")
        return proc.stdout

    def show(self) -> tuple[str | None, list[SerialResource]]:
        return parse_show(self._run("show"))

    def serial_resource(self) -> SerialResource:
        _, resources = self.show()
        if not resources:
            raise LabgridError(f"place {self.place!r} has no acquired NetworkSerialPort: add the board's serial port "
                               "to the place (labgrid-client -p PLACE add-match EXPORTER/GROUP/NetworkSerialPort)")
        return resources[0]

    def wait_for_reservation(self) -> str:
        """Reserve the place by name and wait until labgrid allocates it to us; returns the token."""
        out = self._run("reserve", "--wait", "--shell", f"name={self.place}", timeout=self.reserve_timeout)
        match = re.search(r"LG_TOKEN=(\S+)", out)
        if match is None:
            raise LabgridError(f"labgrid-client reserve printed no token for place {self.place!r}: {out.strip()!r}")
        return match.group(1)

    @contextmanager
    def provision(self) -> Iterator[str]:
        """Acquire (lock) the place for the run, yield its serial URL, release it unless it was ours before.

        With `reserve`, first wait in labgrid's reservation queue, so a busy place is taken when it frees
        up instead of failing; the reservation is cancelled afterwards.
        """
        token = self.wait_for_reservation() if self.reserve else None
        try:
            with self._acquired() as url:
                yield url
        finally:
            if token is not None:
                self._run("cancel-reservation", token)

    @contextmanager
    def _acquired(self) -> Iterator[str]:
        holder, _ = self.show()
        ours_already = False
        if holder is not None:
            # Held already: by us (a user who ran `labgrid-client lock` first) we go on, by anyone else
            # the acquire below fails with labgrid's own message.
            ours_already = self._held_by_me(holder)
        if not ours_already:
            self._run("acquire")
        try:
            yield self.serial_resource().url
        finally:
            if not ours_already:
                self._run("release")

    @staticmethod
    def _held_by_me(holder: str) -> bool:
        import getpass
        import socket

        host = os.environ.get("LG_HOSTNAME") or socket.gethostname()
        user = os.environ.get("LG_USERNAME") or getpass.getuser()
        return holder == f"{host}/{user}"
