"""URL defaults for boards reached over the network (ser2net, labgrid exporters)."""

from __future__ import annotations


def pyserial_url(url: str) -> str:
    """Add `ign_set_control` to rfc2217:// URLs unless the user chose otherwise.

    ser2net does not acknowledge SET_CONTROL (DTR/RTS) for ports without modem lines (ptys, many USB
    bridges), and pyserial then fails at open with "timeout while waiting for option 'control'".
    The control requests are still sent, so a DTR/RTS reset keeps working where the port supports it.
    This is what labgrid's SerialDriver does too.
    """
    if not url.startswith("rfc2217://") or "ign_set_control" in url:
        return url
    return url + ("&" if "?" in url else "?") + "ign_set_control"


def fixed_read_timeout(url: str) -> float | None:
    """The read timeout to set once at open for ports where changing it costs a network round trip.

    pyserial's rfc2217 client renegotiates baud, data bits, parity and stop bits with the server every
    time `timeout` is assigned and polls for the acknowledgements in 50 ms sleeps, which made every
    command round trip through ser2net take about 300 ms. Such ports keep one short timeout instead.
    """
    return 0.01 if url.startswith("rfc2217://") else None
