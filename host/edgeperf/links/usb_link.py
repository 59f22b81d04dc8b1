"""A `Link` over a vendor USB interface's bulk endpoints (pyusb), for boards without a serial bridge.

URL: `usb://VID:PID[/SERIAL][?interface=N]`, e.g. `usb://CAFE:4001/0042?interface=1`: the first bulk
IN and bulk OUT endpoints of that interface carry the same bytes a UART would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, LinkError
from .base import Link

INSTALL_HINT = "pip install 'edgeperf[lab]' (pyusb) and the libusb library (Debian: apt-get install libusb-1.0-0)"


@dataclass(frozen=True)
class UsbAddress:
    vid: int
    pid: int
    serial: str | None = None
    interface: int = 0


def parse_usb_url(url: str) -> UsbAddress:
    """`usb://VID:PID[/SERIAL][?interface=N]` -> UsbAddress; the error quotes the URL and the expected form."""
    parts = urlsplit(url)
    if parts.scheme != "usb":
        raise ConfigError(f"{url!r} is not a usb:// URL")
    try:
        vid_text, pid_text = parts.netloc.split(":")
        vid, pid = int(vid_text, 16), int(pid_text, 16)
        query = parse_qs(parts.query)
        interface = int(query.pop("interface", ["0"])[0])
    except ValueError:
        raise ConfigError(f"bad USB link URL {url!r}: expected usb://VID:PID[/SERIAL][?interface=N] "
                          "with hexadecimal VID and PID") from None
    if query:
        raise ConfigError(f"bad USB link URL {url!r}: unknown option {min(query)!r} (only interface=N)")
    serial = parts.path.strip("/") or None
    return UsbAddress(vid, pid, serial, interface)


def _pyusb() -> Any:
    try:
        import usb.core
        import usb.util
    except ImportError:
        raise LinkError(f"usb:// links need pyusb: {INSTALL_HINT}") from None
    return usb


class UsbBulkLink(Link):
    """Bytes over a pair of bulk endpoints. `find` is pyusb's `usb.core.find` unless a test injects a device."""

    def __init__(self, url: str, baudrate: int = 0, find: Callable[..., Any] | None = None) -> None:
        self.url = url
        self.address = parse_usb_url(url)
        usb = _pyusb()
        self._usb = usb
        a = self.address
        try:
            devices = list((find or usb.core.find)(find_all=True, idVendor=a.vid, idProduct=a.pid))
        except usb.core.NoBackendError:
            raise LinkError(f"cannot open {url}: pyusb has no libusb backend; {INSTALL_HINT}") from None
        if a.serial is not None:
            devices = [d for d in devices if _serial_of(d) == a.serial]
        if not devices:
            raise LinkError(f"no USB device {a.vid:04X}:{a.pid:04X}{' with serial ' + a.serial if a.serial else ''} "
                            "found: is the board plugged in, and may this user open it (udev rules)?")
        if len(devices) > 1:
            raise LinkError(f"{len(devices)} USB devices match {url}: add the serial number, usb://VID:PID/SERIAL")
        dev = self._dev = devices[0]
        try:
            if _kernel_driver_active(dev, a.interface):
                dev.detach_kernel_driver(a.interface)
            try:
                dev.set_configuration()
            except usb.core.USBError:
                pass  # already configured by the OS or a previous user
            intf = dev.get_active_configuration()[(a.interface, 0)]
            self._in = _bulk_endpoint(usb, intf, usb.util.ENDPOINT_IN)
            self._out = _bulk_endpoint(usb, intf, usb.util.ENDPOINT_OUT)
        except (usb.core.USBError, KeyError, LookupError) as exc:
            raise LinkError(f"cannot open USB interface {a.interface} of {url}: {exc}") from exc
        if self._in is None or self._out is None:
            raise LinkError(f"interface {a.interface} of {url} has no bulk IN/OUT endpoint pair: "
                            "pick the vendor interface with ?interface=N")
        self._packet = int(getattr(self._in, "wMaxPacketSize", 64)) or 64
        self._pending = bytearray()
        self._closed = False

    def write(self, data: bytes) -> None:
        if self._closed:
            raise LinkError(f"link {self.url} is closed")
        try:
            sent = 0
            while sent < len(data):
                sent += int(self._out.write(data[sent:], timeout=5000))
        except self._usb.core.USBError as exc:
            raise LinkError(f"writing to {self.url} failed: {exc}") from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            raise LinkError(f"link {self.url} is closed")
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._pending:
            # pyusb treats a 0 ms timeout as "wait forever": never pass it.
            remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
            try:
                # Whole packets only: a short buffer would make the host controller report an overflow.
                chunk = self._in.read(self._packet * max(1, -(-max_bytes // self._packet)), timeout=remaining_ms)
                self._pending += bytes(chunk)
            except self._usb.core.USBTimeoutError:
                pass
            except self._usb.core.USBError as exc:
                raise LinkError(f"reading from {self.url} failed: {exc}. Was the board unplugged or reset?") from exc
            if time.monotonic() >= deadline:
                break
        out = bytes(self._pending[:max_bytes])
        del self._pending[:max_bytes]
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._usb.util.dispose_resources(self._dev)
            except self._usb.core.USBError:
                pass


def _serial_of(dev: Any) -> str | None:
    try:
        return dev.serial_number
    except (ValueError, NotImplementedError):  # no permission to read strings, or no string descriptor
        return None


def _kernel_driver_active(dev: Any, interface: int) -> bool:
    try:
        return bool(dev.is_kernel_driver_active(interface))
    except NotImplementedError:  # not on every platform
        return False


def _bulk_endpoint(usb: Any, intf: Any, direction: int) -> Any:
    return usb.util.find_descriptor(
        intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == direction
        and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK)
