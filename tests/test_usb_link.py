"""usb:// links over pyusb bulk endpoints.

A vendor USB device cannot be emulated on this machine, so the device side is `MockUsbBulkDevice`: a
stand-in for pyusb's Device whose bulk endpoints forward bytes to a real virtual board over TCP. Only
the USB device is mocked; pyusb's descriptor matching, the link, the protocol client and the board are real.
"""

from __future__ import annotations

import socket
import time

import pytest
import usb.core
import usb.util

from edgeperf.dut import DutSession
from edgeperf.errors import ConfigError, LinkError
from edgeperf.links import open_link
from edgeperf.links.usb_link import UsbAddress, UsbBulkLink, parse_usb_url


class MockUsbEndpoint:
    """One bulk endpoint of MockUsbBulkDevice (the attributes pyusb's find_descriptor looks at)."""

    def __init__(self, address: int, sock: socket.socket) -> None:
        self.bEndpointAddress = address
        self.bmAttributes = usb.util.ENDPOINT_TYPE_BULK
        self.wMaxPacketSize = 64
        self.sock = sock
        self.read_sizes: list[int] = []

    def write(self, data: bytes, timeout: int) -> int:
        chunk = bytes(data[:64])  # one packet per call, as a full-speed device would take it
        self.sock.sendall(chunk)
        return len(chunk)

    def read(self, size: int, timeout: int) -> bytes:
        assert timeout > 0, "pyusb reads with timeout 0 block forever"
        self.read_sizes.append(size)
        self.sock.settimeout(timeout / 1000)
        try:
            return self.sock.recv(size)
        except socket.timeout:
            raise usb.core.USBTimeoutError("timeout", 110, 110) from None


class MockUsbBulkDevice:
    """Mock of a pyusb Device with one vendor interface (number 1) holding a bulk IN/OUT pair."""

    idVendor, idProduct = 0xCAFE, 0x4001

    def __init__(self, serial: str, sock: socket.socket | None) -> None:
        self.serial_number = serial
        self.endpoints = ([MockUsbEndpoint(0x81, sock), MockUsbEndpoint(0x01, sock)] if sock else [])
        self.configured = False
        self.disposed = False
        outer = self

        class _Ctx:
            def dispose(self, device: object, close_handle: bool = True) -> None:
                outer.disposed = True
        self._ctx = _Ctx()

    def is_kernel_driver_active(self, interface: int) -> bool:
        return False

    def set_configuration(self) -> None:
        self.configured = True

    def get_active_configuration(self) -> dict[tuple[int, int], list[MockUsbEndpoint]]:
        return {(0, 0): [], (1, 0): self.endpoints}


def test_usb_urls():
    assert parse_usb_url("usb://cafe:4001") == UsbAddress(0xCAFE, 0x4001)
    assert parse_usb_url("usb://CAFE:4001/0042?interface=1") == UsbAddress(0xCAFE, 0x4001, "0042", 1)
    for bad in ("usb://cafe", "usb://xyz:1", "usb://cafe:4001?endpoint=2"):
        with pytest.raises(ConfigError, match="usb://VID:PID|unknown option"):
            parse_usb_url(bad)


def test_real_pyusb_reports_a_missing_device():
    # The real pyusb and libusb on this machine: no such device is plugged in.
    with pytest.raises(LinkError, match="no USB device CAFE:4001 with serial NOPE found"):
        open_link("usb://CAFE:4001/NOPE?interface=1")


def test_dut_session_over_usb_bulk_endpoints(start_board):
    board = start_board("kws01", baud=0, time_scale=0.0, listen="tcp:127.0.0.1:0")
    host, port = board.url.removeprefix("socket://").split(":")
    sock = socket.create_connection((host, int(port)))
    devices = [MockUsbBulkDevice("0001", None), MockUsbBulkDevice("0042", sock)]

    def find(find_all: bool, idVendor: int, idProduct: int) -> list[MockUsbBulkDevice]:
        return [d for d in devices if (d.idVendor, d.idProduct) == (idVendor, idProduct)]

    link = UsbBulkLink("usb://CAFE:4001/0042?interface=1", find=find)
    try:
        session = DutSession(link)
        identity = session.identify()
        assert identity.model == "kws01" and identity.mode == "performance"
        started = time.monotonic()
        assert link.read(10, 0.2) == b""  # an idle board: the read times out instead of blocking
        assert 0.15 < time.monotonic() - started < 1.0
    finally:
        link.close()
        sock.close()
    assert devices[1].configured and devices[1].disposed
    assert all(size % 64 == 0 for size in devices[1].endpoints[0].read_sizes)


def test_interface_without_bulk_pair_is_refused():
    def find(**_: object) -> list[MockUsbBulkDevice]:
        return [MockUsbBulkDevice("0001", None)]
    with pytest.raises(LinkError, match=r"no bulk IN/OUT endpoint pair: pick the vendor interface"):
        UsbBulkLink("usb://CAFE:4001?interface=1", find=find)
