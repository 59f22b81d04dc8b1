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
