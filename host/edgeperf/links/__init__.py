"""Byte links to boards, chosen by URL."""

from .base import Link
from .serial_link import SerialLink, open_link

__all__ = ["Link", "SerialLink", "open_link"]
