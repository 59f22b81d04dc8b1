"""Qoitech Otii Arc/Ace through the Otii server's JSON-over-TCP API (`otii:HOST:PORT`, default port 1905).

The Otii records into a project; this driver starts a recording and polls the server for
new main-current (`mc`) samples and GPI1 (`i1`) transitions, so the rest of edgeperf sees
the same sample-and-edge stream as from any other monitor. The protocol is spoken here
directly (requests `{"type": "request", "cmd", "trans_id", "data"}` terminated by CRLF), so no
client library is needed. Otii 3 servers want a logged-in user with an Automation licence:
the driver logs in with OTII_USERNAME / OTII_PASSWORD when the server asks for it and
reserves a free licence, returning both when it closes.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import numpy as np

from ..errors import ConfigError, MonitorError
from .base import MonitorConfig, PowerMonitor

DEFAULT_PORT = 1905
#: The server hands out at most this many values per data request.
CHUNK = 40_000
POLL_S = 0.1
AUTOMATION_LICENCES = {"Admin", "All", "Automation", "Enterprise"}


class OtiiConnection:
    """One JSON-lines TCP conversation with the Otii server; thread-safe request/response."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise MonitorError(f"cannot reach the Otii server at {host}:{port}: {exc}. Start the Otii "
                               "application with its TCP server enabled, or otii_server") from exc
        self._buffer = b""
        self._lock = threading.Lock()
        self._next = 0
        self.greeting = self._receive(timeout)

    def _receive(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        while b"\r\n" not in self._buffer:
            try:
                data = self.sock.recv(1 << 17)
            except (TimeoutError, OSError) as exc:
                raise MonitorError(f"the Otii server did not answer: {exc}") from exc
            if not data:
                raise MonitorError("the Otii server closed the connection")
            self._buffer += data
            if len(self._buffer) > 64 << 20:
                raise MonitorError("the Otii server sent more than 64 MiB without a message end")
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise MonitorError(f"the Otii server sent something that is not JSON: {line[:200]!r}") from exc
        if not isinstance(message, dict):
            raise MonitorError(f"unexpected Otii message {message!r}")
        return message

    def request(self, cmd: str, data: dict | None = None, timeout: float = 10.0) -> dict:
        with self._lock:
            self._next += 1
            trans_id = str(self._next)
            body = {"type": "request", "cmd": cmd, "trans_id": trans_id, **({"data": data} if data is not None else {})}
            self.sock.sendall((json.dumps(body) + "\r\n").encode())
            while True:
                reply = self._receive(timeout)
                if reply.get("type") in ("progress", "information"):
                    continue
                if reply.get("trans_id") != trans_id:
                    raise MonitorError(f"Otii reply to transaction {reply.get('trans_id')} while waiting for {trans_id}")
                if reply.get("type") == "error":
                    raise MonitorError(f"Otii refused {cmd}: {reply.get('errorcode')} {reply.get('data', '')}")
                data = reply.get("data") or {}
                if not isinstance(data, dict):
                    raise MonitorError(f"Otii reply to {cmd} carries {type(data).__name__} data, not an object")
                return data

    def close(self) -> None:
        self.sock.close()


class Otii(PowerMonitor):
    name = "otii"
    quantity = "current"

    def __init__(self, where: str) -> None:
        host, _, port = where.rpartition(":") if ":" in where else (where, "", "")
        self.connection = OtiiConnection(host or "127.0.0.1", int(port) if port else DEFAULT_PORT)
        super().__init__(None, url=f"otii:{host or '127.0.0.1'}:{port or DEFAULT_PORT}")
        self._logged_in_here = False
        self._licence: object = None
        self._authorise()
        devices = self.connection.request("otii_get_devices", {"timeout": 5}, timeout=15).get("devices") or []
        devices = [d for d in devices if d.get("type") in ("Arc", "Ace", "Simulator")]
        if not devices:
            raise MonitorError(f"the Otii server at {self.url} sees no Arc or Ace")
        self.device = devices[0]["device_id"]
        self.identity = f"Otii {devices[0].get('type')} {devices[0].get('name')}"
        self._poller: threading.Thread | None = None
        self._recording: object = None
        self._done = 0
        self._digital_done = 0
        self._t0 = 0.0
        self._pending_edges: list[tuple[int, str]] = []

    def _authorise(self) -> None:
        if not self.connection.request("otii_is_logged_in").get("logged_in", True):
            user, password = os.environ.get("OTII_USERNAME"), os.environ.get("OTII_PASSWORD")
            if not user or not password:
                raise ConfigError("the Otii server wants a login: set OTII_USERNAME and OTII_PASSWORD")
            self.connection.request("otii_login", {"username": user, "password": password})
            self._logged_in_here = True
        licences = self.connection.request("otii_get_licenses").get("licenses") or []
        usable = [lic for lic in licences if lic.get("type") in AUTOMATION_LICENCES and lic.get("available")]
        if usable and not any(lic.get("reserved_to") for lic in usable):
            self._licence = usable[0]["id"]
            self.connection.request("otii_reserve_license", {"license_id": self._licence})

    def configure(self, config: MonitorConfig) -> None:
        self.config = config
        self.connection.request("arc_set_main_voltage", {"device_id": self.device, "value": config.voltage_v})
        for channel in ("mc", "i1"):
            self.connection.request("arc_enable_channel",
                                    {"device_id": self.device, "channel": channel, "enable": True})
        rate = float(self.connection.request("arc_get_channel_samplerate",
                                             {"device_id": self.device, "channel": "mc"})["value"])
        if config.sample_rate_hz not in (None, rate):
            raise ConfigError(f"this Otii samples main current at {rate:g} Hz")
        self.sample_rate_hz = rate

    def set_power(self, on: bool) -> None:
        self.connection.request("arc_set_main", {"device_id": self.device, "enable": on})

    def start(self) -> None:
        project = self.connection.request("otii_get_active_project").get("project_id", -1)
        if project == -1:
            project = self.connection.request("otii_create_project")["project_id"]
        self._project = project
        self.connection.request("project_start_recording", {"project_id": project})
        last = self.connection.request("project_get_last_recording", {"project_id": project})
        self._recording = last["recording_id"]
        self._done = self._digital_done = 0
        self._level: bool | None = None
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll_loop, name="otii-poller", daemon=True)
        self._poller.start()

    def _data(self, channel: str, index: int, count: int) -> dict:
        return self.connection.request("recording_get_channel_data", {
            "recording_id": self._recording, "device_id": self.device, "channel": channel, "index": index,
            "count": count})

    def _count(self, channel: str) -> int:
        return int(self.connection.request("recording_get_channel_data_count", {
            "recording_id": self._recording, "device_id": self.device, "channel": channel})["count"])

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except MonitorError as exc:
                self._error = exc
                return
            time.sleep(POLL_S)

    def poll(self) -> None:
        """Fetch new current samples and the GPI1 transitions up to them, and hand both to the recorder.

        A reply whose fields have the wrong shape is a MonitorError, like any other broken stream.
        """
        try:
            self._poll()
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise MonitorError(f"malformed reply from the Otii server: {type(exc).__name__}: {exc}") from exc

    def _poll(self) -> None:
        """The body of `poll`, which turns malformed replies into MonitorError.

        The sample count is read first and the transitions after it: the server's GPI1 record
        then covers at least the samples being delivered, so no edge can land behind samples
        already handed on (asking in the other order lost any edge that happened between the two
        requests, more often the busier the machine).
        """
        available = self._count("mc")
        digital = self._count("i1")
        if digital > self._digital_done:
            for entry in self._data("i1", self._digital_done, digital - self._digital_done).get("values", []):
                level = bool(entry["value"])
                if self._level is not None and level != self._level:
                    index = round(float(entry["timestamp"]) * self.sample_rate_hz)
                    if index < self._done:
                        self.recorder.fault(f"a GPI1 transition at sample {index} arrived after its samples")
                    else:
                        self._pending_edges.append((index, "rising" if level else "falling"))
                self._level = level
            self._digital_done = digital
        while self._done < available:
            count = min(CHUNK, available - self._done)
            values = np.asarray(self._data("mc", self._done, count).get("values", []), dtype=np.float64)
            if len(values) != count:
                self.recorder.fault(f"asked the Otii for {count} samples, got {len(values)}")
            end = self._done + len(values)
            edges = [(i - self._done, k) for i, k in self._pending_edges if self._done <= i < end]
            self._pending_edges = [(i, k) for i, k in self._pending_edges if i >= end]
            self.recorder.add(values, edges)
            self._done = end if len(values) else available

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
        self.connection.request("project_stop_recording", {"project_id": self._project})

    def close(self) -> None:
        try:
            if self._licence is not None:
                self.connection.request("otii_return_license", {"license_id": self._licence})
            if self._logged_in_here:
                self.connection.request("otii_logout")
        except MonitorError:
            pass
        finally:
            self.connection.close()
            super().close()
