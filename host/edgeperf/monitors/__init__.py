"""Power-monitor drivers, registered by name and opened from `NAME:WHERE` specs.

`lpm01a:/dev/ttyACM1` and `ppk2:/dev/ttyACM2` take any board-link URL (a device, a pty,
socket://...); `joulescope:SERIAL` (or `joulescope:first`) names a Joulescope on USB, and
`otii:HOST:PORT` the Otii application's TCP server.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..links import open_link
from .base import Capture, Edge, MonitorConfig, PowerMonitor
from .lpm01a import Lpm01a
from .ppk2 import Ppk2


def _joulescope(where: str) -> PowerMonitor:
    from .joulescope import Joulescope  # its vendor library is an optional extra
    return Joulescope("" if where == "first" else where)


def _otii(where: str) -> PowerMonitor:
    from .otii import Otii
    return Otii(where)


#: name -> factory taking the WHERE part. The PPK2's USB CDC ignores the baud; the LPM01A's VCP runs at 3686400.
DRIVERS: dict[str, Callable[[str], PowerMonitor]] = {
    "lpm01a": lambda url: Lpm01a(open_link(url, 3_686_400)),
    "ppk2": lambda url: Ppk2(open_link(url, 115_200)),
    "joulescope": _joulescope,
    "otii": _otii,
}


def open_monitor(spec: str) -> PowerMonitor:
    """Open `NAME:URL`, where URL is any board-link URL (a device, a pty, socket://...)."""
    name, sep, url = spec.partition(":")
    if not sep or not url:
        raise ConfigError(f"power monitor {spec!r}: give NAME:WHERE, e.g. lpm01a:/dev/ttyACM1, ppk2:/dev/ttyACM2 "
                          "or joulescope:first "
                          f"(drivers: {', '.join(DRIVERS)})")
    if name not in DRIVERS:
        raise ConfigError(f"unknown power monitor {name!r}; drivers: {', '.join(DRIVERS)}")
    return DRIVERS[name](url)


__all__ = ["DRIVERS", "Capture", "Edge", "MonitorConfig", "PowerMonitor", "open_monitor"]
