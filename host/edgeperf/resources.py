"""The one place that finds the files edgeperf ships: bundled models and sample sets, board descriptions and
protocol vectors. An installed wheel carries them as package data (edgeperf/_data/, mapped by setup.py); a
source checkout or an editable install has them at the top of the repository, in the one copy git holds."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Literal

Shipped = Literal["models", "boards", "protocols"]

#: An environment variable that points one folder elsewhere (a lab's own board descriptions, say).
OVERRIDES: dict[str, str] = {"models": "EDGEPERF_MODELS", "boards": "EDGEPERF_BOARDS", "protocols": "EDGEPERF_PROTOCOLS"}


def shipped_dir(name: Shipped) -> Path:
    """The folder `name`: its override variable, else the wheel's package data, else the checkout's folder.

    The path may not exist (a wheel built without it): callers say what is missing in their own terms.
    """
    override = os.environ.get(OVERRIDES[name])
    if override:
        return Path(override)
    packaged = resources.files("edgeperf").joinpath("_data", name)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


#: Moves everything edgeperf caches (firmware builds, generated streams) to one folder.
CACHE_ENV = "EDGEPERF_CACHE_DIR"


def cache_root() -> Path:
    """Where edgeperf keeps what it builds or generates once: outside the checkout, so a read-only or shared
    install works. $EDGEPERF_CACHE_DIR, else $XDG_CACHE_HOME/edgeperf, else ~/.cache/edgeperf."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgeperf"
