"""Power-monitor drivers, registered by name and opened from `NAME:URL` specs (e.g. `lpm01a:/dev/ttyACM1`)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..links import Link, open_link
from .base import Capture, Edge, MonitorConfig, PowerMonitor
from .lpm01a import Lpm01a
from .ppk2 import Ppk2

#: name -> (link baud, driver factory). The USB CDC monitors ignore the baud; the LPM01A's VCP is driven at 3686400.
DRIVERS: dict[str, tuple[int, Callable[[Link], PowerMonitor]]] = {
    "lpm01a": (3_686_400, Lpm01a),
    "ppk2": (115_200, Ppk2),
}


def open_monitor(spec: str) -> PowerMonitor:
    """Open `NAME:URL`, where URL is any board-link URL (a device, a pty, socket://...)."""
    name, sep, url = spec.partition(":")
    if not sep or not url:
        raise ConfigError(f"power monitor {spec!r}: give NAME:URL, e.g. lpm01a:/dev/ttyACM1 or ppk2:/dev/ttyACM2 "
                          f"(drivers: {', '.join(DRIVERS)})")
    if name not in DRIVERS:
        raise ConfigError(f"unknown power monitor {name!r}; drivers: {', '.join(DRIVERS)}")
    baud, factory = DRIVERS[name]
    return factory(open_link(url, baud))


__all__ = ["Capture", "DRIVERS", "Edge", "MonitorConfig", "PowerMonitor", "open_monitor"]
