"""The system programs and libraries some tests need, each with the Debian package that provides it.

A test whose tool is missing skips, naming the package to install, so `python -m pytest` passes on a fresh
machine; `.ci/run` installs them all, so there every such test runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgeperf.farm.ser2net import find_ser2net

#: What each need is called in a skip reason -> its Debian package.
PACKAGES = {
    "cmake": "cmake", "make": "make", "cc": "gcc", "c++": "g++",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi", "arm-none-eabi-g++": "gcc-arm-none-eabi",
    "newlib": "libnewlib-arm-none-eabi", "qemu-system-arm": "qemu-system-arm",
    "clang": "clang", "libFuzzer": "libclang-rt-14-dev", "chromium": "chromium", "ser2net": "ser2net",
}

#: Needs that are files rather than programs on PATH: the globs (under /usr/lib) that find them.
_LIBRARIES = {
    "newlib": ("arm-none-eabi/newlib/libc_nano.a", "arm-none-eabi/lib/libc_nano.a"),
    "libFuzzer": ("llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a", "clang/*/lib/linux/libclang_rt.fuzzer-*.a"),
}


def tool_path(need: str) -> str | None:
    """Where a need is on this machine, or None; ser2net is looked for where edgeperf itself looks."""
    if need == "ser2net":
        return find_ser2net()
    if need == "chromium":
        return shutil.which("chromium") or shutil.which("chromium-browser")
    if need in _LIBRARIES:
        return next((str(p) for pattern in _LIBRARIES[need] for p in Path("/usr/lib").glob(pattern)), None)
    return shutil.which(need)


def require_tools(*needs: str) -> None:
    """Skip the calling test or fixture when a need is missing, saying which package to install."""
    missing = [need for need in needs if tool_path(need) is None]
    if missing:
        packages = " ".join(dict.fromkeys(PACKAGES[need] for need in missing))
        pytest.skip(f"{', '.join(missing)} not installed: apt-get install {packages} (.ci/run installs them all)")
